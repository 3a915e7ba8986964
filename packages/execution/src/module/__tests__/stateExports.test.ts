import { describe, expect, it } from 'vitest';
import { wat } from '../../__tests__/support/testWat';

/** A module from bytes the rewriters returned (typed for any buffer). */
const moduleOf = (bytes: Uint8Array) => new WebAssembly.Module(new Uint8Array(bytes));
import {
  compileModule,
  exposeModuleState,
  reservedGlobalIndex,
  rewriteModuleCode,
  stateGlobalName,
  STATE_MEMORY_EXPORT,
} from '../../index';

const MODULE = `(module
  (import "forge" "log" (func $log (param i32 i32)))
  (memory 1 2)
  (table 1 funcref)
  (global $a (mut i32) (i32.const 1))
  (global $b i64 (i64.const 2))
  (global $c (mut f64) (f64.const 3))
  (global $d (mut externref) (ref.null extern))
  (global $e (mut i32) (i32.const 3))
  (func (export "bump") (result i32)
    (global.set $a (i32.add (global.get $a) (i32.const 1))) (global.get $a))
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))`;

describe('exposeModuleState', () => {
  it('exports every mutable number global under its index, and memory 0; maps names back', async () => {
    const { bytes, state } = exposeModuleState(wat(MODULE));
    expect(state.globals).toEqual([
      { index: 0, type: 'i32' },
      { index: 2, type: 'f64' },
      { index: 3, type: 'ref' },
      { index: 4, type: 'i32' },
    ]);
    expect(state.memory).toBe(true);
    expect(state.memories).toBe(1);
    expect(state.tableWrites).toEqual([]);
    const names = WebAssembly.Module.exports(moduleOf(bytes)).map((e) => e.name);
    expect(names).toEqual([
      'bump',
      'grow',
      '__forge_global_0',
      '__forge_global_2',
      '__forge_global_4',
      STATE_MEMORY_EXPORT,
    ]);
    expect(names.filter((n) => n.startsWith('__forge_global_')).map(reservedGlobalIndex)).toEqual([0, 2, 4]);
    expect(reservedGlobalIndex(stateGlobalName(4_000_000_000))).toBe(4_000_000_000);
    for (const bad of [
      '__forge_global_',
      '__forge_global_01',
      '__forge_global_x',
      'global_1',
      '__forge_global_99999999999',
    ])
      expect(reservedGlobalIndex(bad)).toBeUndefined();
  });

  it('leaves behaviour as it was: the same calls give the same results, and the exported global is the one the code uses', async () => {
    const source = wat(MODULE);
    const imports = { forge: { log: () => undefined } };
    const plain = new WebAssembly.Instance(new WebAssembly.Module(source), imports);
    const exposed = new WebAssembly.Instance(moduleOf(exposeModuleState(source).bytes), imports);
    const call = (i: WebAssembly.Instance, name: string) => (i.exports[name] as () => number)();
    for (const name of ['bump', 'bump', 'grow', 'grow', 'bump'])
      expect(call(exposed, name)).toBe(call(plain, name));
    const a = exposed.exports[stateGlobalName(0)] as WebAssembly.Global;
    expect(a.value).toBe(4);
    a.value = 100;
    expect(call(exposed, 'bump')).toBe(101);
  });

  it('reuses the memory export of a module rewritten for memory.grow, and finds the tables the code changes', async () => {
    const rewritten = rewriteModuleCode(wat(MODULE)).bytes;
    const { bytes } = exposeModuleState(rewritten);
    const memories = WebAssembly.Module.exports(moduleOf(bytes)).filter((e) => e.kind === 'memory');
    expect(memories.map((m) => m.name)).toEqual([STATE_MEMORY_EXPORT]);
    const writes = exposeModuleState(
      wat(`(module (table $t0 1 funcref) (table $t1 2 funcref) (table $t2 2 funcref) (elem $e func $f) (func $f)
        (func (table.set $t2 (i32.const 0) (ref.null func)))
        (func (drop (table.grow $t1 (ref.null func) (i32.const 1))))
        (func (table.init $t2 $e (i32.const 0) (i32.const 0) (i32.const 1))))`),
    ).state;
    expect(writes.tableWrites).toEqual([1, 2]);
  });

  it('is applied by compileModule with `snapshots`, and the guest cannot claim the reserved names', async () => {
    const compiled = await compileModule(wat(MODULE), { snapshots: true });
    expect(compiled.state?.globals.map((g) => g.index)).toEqual([0, 2, 3, 4]);
    // The reserved exports are the host's: the module's export list leaves them out.
    expect(compiled.exports.map((e) => e.name)).toEqual(['bump', 'grow']);
    expect((await compileModule(wat(MODULE), { snapshots: false })).state).toBeUndefined();
    await expect(
      compileModule(wat('(module (global (export "__forge_global_0") (mut i32) (i32.const 0)))'), {
        snapshots: true,
      }),
    ).rejects.toMatchObject({ code: 'FORGE_WASM_INVALID' });
  });
});
