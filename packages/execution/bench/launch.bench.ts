// Benchmark 9b: launching a cached module into a ready instance — WasmHost.instantiate (gate,
// forge.* and WASI preview1 wired, trace and DNA ready) — against raw `WebAssembly.instantiate`
// of the same compiled module with empty imports. Worker isolation is reported separately: it adds
// a message round trip to a pooled worker (kept warm). Run from the repository root:
//   npx vitest bench --run --project execution packages/execution/bench/launch.bench.ts
import { afterAll, bench, describe } from 'vitest';
import { WasmHost, watToWasm, type EnforcerSpec, type LoadedModule } from '../src/index';
import { pairedRatioAsync, printPaired } from './measure';

const WAT = `(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $log (i32.const 0) (i32.const 0)))))`;
// The same with a memory.grow: routed through the host, so each launch also fills its grow table.
const GROW_WAT = WAT.replace(
  '(func (export "_start")',
  '(func (export "_start") (drop (memory.grow (i32.const 0)))',
);
const policy: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.log'] } };

const inline = new WasmHost({ development: true, isolation: 'inline' });
const worker = new WasmHost({ development: true, isolation: 'worker', pool: { warm: 2 } });
const source = await watToWasm(WAT);
const module: LoadedModule = await inline.loadModule(source);
const workerModule = await worker.loadModule(source);
const growModule: LoadedModule = await inline.loadModule(await watToWasm(GROW_WAT));
await worker.prewarm();
// Raw V8 gets the same imports as plain functions.
const rawImports = {
  forge: { log: () => 0 },
  wasi_snapshot_preview1: { fd_write: () => 0 },
};

const rawLaunch = async () => {
  await WebAssembly.instantiate(module.module, rawImports);
};
const inlineLaunch = async () => (await inline.instantiate(module, { enforcer: policy })).terminate();
const workerLaunch = async () => (await worker.instantiate(workerModule, { enforcer: policy })).terminate();
const inlineRun = () => inline.run(module, { enforcer: policy });
const inlineGrowLaunch = async () => (await inline.instantiate(growModule, { enforcer: policy })).terminate();

describe('launch a cached module into a ready instance', () => {
  bench('raw WebAssembly.instantiate (compiled module)', rawLaunch);
  bench('WasmHost.instantiate, inline', inlineLaunch);
  bench('WasmHost.instantiate, worker (pooled)', workerLaunch);
  bench('WasmHost.instantiate, inline, module with memory.grow', inlineGrowLaunch);
});

afterAll(async () => {
  // Each against a raw instantiate in the same round (see pairedRatio): this VM's speed moves.
  const paired = (name: string, fn: () => Promise<unknown>, rounds?: number) =>
    pairedRatioAsync(name, rawLaunch, fn, rounds);
  printPaired(
    '9b: launch a cached module (median per launch; median ratio to a raw instantiate beside it)',
    'raw instantiate',
    [
      await paired('raw WebAssembly.instantiate', rawLaunch),
      await paired('WasmHost.instantiate + terminate, inline', inlineLaunch),
      await paired('WasmHost.run (instantiate, call _start, terminate), inline', inlineRun),
      await paired('WasmHost.instantiate + terminate, inline, memory.grow routed', inlineGrowLaunch),
      await paired('WasmHost.instantiate + terminate, worker isolation', workerLaunch, 20),
    ],
  );
  await Promise.all([inline.close(), worker.close()]);
});
