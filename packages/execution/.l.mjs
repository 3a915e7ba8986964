import { WasmHost, watToWasm } from './dist/index.js';
const h = new WasmHost({ development: true, isolation: 'inline' });
const m = await h.loadModule(await watToWasm(`(module (import "forge" "log" (func $log (param i32 i32) (result i32))) (memory (export "memory") 1) (func (export "_start")))`));
const policy = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.log'] } };
for (let r = 0; r < 5; r++) { const t = process.hrtime.bigint(); for (let i = 0; i < 500; i++) await (await h.instantiate(m, { enforcer: policy })).terminate(); console.log(Number(process.hrtime.bigint() - t) / 500 / 1000, 'us'); }
