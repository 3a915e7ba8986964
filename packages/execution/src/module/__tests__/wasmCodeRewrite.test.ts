import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { wat } from '../../__tests__/support/testWat';
import { compileModule, GuestMemory, routeMemoryGrow, runInstance, WasmHost } from '../../index';
import { Imm, immediateOf } from '../internal/wasmOpcodes';

/** Instantiates a routed module and fills its grow table the way the host does (through runInstance). */
async function run(binary: Uint8Array, entry = 'run', imports: WebAssembly.Imports = {}): Promise<unknown> {
  const compiled = await compileModule(binary);
  const outcome = runInstance({ compiled, imports, memory: new GuestMemory(), entry });
  if (outcome.status !== 'returned') throw new Error(JSON.stringify(outcome));
  return outcome.value;
}

/** Every instruction family V8 in Node 20 takes, each followed by a memory.grow the decoder must find. */
const FAMILIES: Record<string, string> = {
  mvp: `(module (memory 1 10) (table 2 funcref) (global $g (mut i32) (i32.const 0)) (type $t (func (result i32)))
    (func $k (result i32) (i32.const 7)) (elem (i32.const 0) $k)
    (func (export "run") (result i32) (local i64 f32 f64)
      (block $b (loop $l (br_if $b (i32.const 1)) (br $l)))
      (block $x (block $y (br_table $x $y $x (i32.const 1))))
      (if (i32.const 1) (then (nop)) (else (unreachable)))
      (local.set 0 (i64.const -123456789012)) (local.set 1 (f32.const 1.5)) (local.set 2 (f64.const -2.25))
      (global.set $g (i32.add (call $k) (call_indirect (type $t) (i32.const 0))))
      (i64.store offset=8 align=4 (i32.const 0) (local.get 0))
      (drop (f64.load (i32.const 16))) (drop (i32.load8_u offset=3 (i32.const 0)))
      (drop (memory.size)) (drop (select (i32.const 1) (i32.const 2) (i32.const 0)))
      (drop (i32.wrap_i64 (i64.extend_i32_s (i32.trunc_f32_s (local.get 1)))))
      (drop (memory.grow (i32.const 1)))
      (i32.add (memory.size) (global.get $g))))`,
  signExtAndSatTrunc: `(module (memory 1 10)
    (func (export "run") (result i32)
      (drop (i32.extend8_s (i32.const 255))) (drop (i64.extend32_s (i64.const 1)))
      (drop (i32.trunc_sat_f32_s (f32.const 1e30))) (drop (i64.trunc_sat_f64_u (f64.const -1)))
      (memory.grow (i32.const 2))))`,
  bulkMemory: `(module (memory 1 10) (data $d "hello") (table 2 funcref) (elem $e func $f) (func $f)
    (func (export "run") (result i32)
      (memory.init $d (i32.const 0) (i32.const 0) (i32.const 5)) (data.drop $d)
      (memory.copy (i32.const 10) (i32.const 0) (i32.const 5)) (memory.fill (i32.const 20) (i32.const 7) (i32.const 3))
      (table.init $e (i32.const 0) (i32.const 0) (i32.const 1)) (elem.drop $e)
      (table.copy (i32.const 1) (i32.const 0) (i32.const 1))
      (drop (memory.grow (i32.const 1)))
      (i32.load8_u (i32.const 14))))`,
  referenceTypes: `(module (memory 1 10) (table $t 1 10 funcref) (table $u 1 externref) (func $f)
    (elem declare func $f)
    (func (export "run") (result i32)
      (drop (table.grow $t (ref.func $f) (i32.const 1))) (table.set $t (i32.const 0) (ref.null func))
      (drop (ref.is_null (table.get $t (i32.const 0)))) (drop (table.size $u))
      (table.fill $t (i32.const 0) (ref.null func) (i32.const 1))
      (drop (select (result externref) (ref.null extern) (ref.null extern) (i32.const 1)))
      (memory.grow (i32.const 3))))`,
  tailCalls: `(module (memory 1 10) (type $t (func (result i32))) (table 1 funcref) (elem (i32.const 0) $g)
    (func $g (result i32) (memory.grow (i32.const 1)))
    (func $h (result i32) (return_call_indirect (type $t) (i32.const 0)))
    (func (export "run") (result i32) (return_call $h)))`,
  exceptions: `(module (memory 1 10) (tag $e (param i32))
    (func $thrower (throw $e (i32.const 5)))
    (func (export "run") (result i32) (local i32)
      (try (do (call $thrower)) (catch $e (local.set 0)) (catch_all))
      (try (do (try (do (call $thrower)) (delegate 0))) (catch_all (nop)))
      (try (do (try (do (call $thrower)) (catch $e (drop) (rethrow 0)))) (catch $e (drop)))
      (drop (memory.grow (local.get 0)))
      (memory.size)))`,
  simd: `(module (memory 1 10)
    (func (export "run") (result i32) (local v128)
      (local.set 0 (v128.const i32x4 1 2 3 4))
      (v128.store offset=16 (i32.const 0) (local.get 0))
      (local.set 0 (v128.load align=8 (i32.const 16))) (drop (v128.load8x8_s (i32.const 0)))
      (drop (v128.load32_splat (i32.const 0))) (drop (v128.load64_zero (i32.const 0)))
      (local.set 0 (v128.load32_lane 2 (i32.const 0) (local.get 0)))
      (v128.store16_lane 1 (i32.const 64) (local.get 0))
      (local.set 0 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get 0) (local.get 0)))
      (local.set 0 (i32x4.replace_lane 3 (local.get 0) (i32.const 9)))
      (drop (f64x2.extract_lane 1 (f64x2.splat (f64.const 1))))
      (local.set 0 (i32x4.dot_i16x8_s (local.get 0) (local.get 0)))
      (local.set 0 (f64x2.promote_low_f32x4 (i16x8.q15mulr_sat_s (local.get 0) (local.get 0))))
      (drop (v128.any_true (v128.bitselect (local.get 0) (local.get 0) (local.get 0))))
      (drop (memory.grow (i32.const 1)))
      (i32.add (memory.size) (i32x4.extract_lane 1 (local.get 0)))))`,
  threads: `(module (memory 1 10 shared)
    (func (export "run") (result i32)
      (i32.atomic.store (i32.const 0) (i32.const 1)) (drop (i64.atomic.rmw.add offset=8 (i32.const 0) (i64.const 2)))
      (drop (i32.atomic.rmw8.cmpxchg_u (i32.const 0) (i32.const 1) (i32.const 3)))
      (drop (memory.atomic.notify (i32.const 0) (i32.const 0))) (atomic.fence)
      (drop (memory.atomic.wait32 (i32.const 0) (i32.const 99) (i64.const 0)))
      (drop (memory.grow (i32.const 1)))
      (i32.add (memory.size) (i32.atomic.load (i32.const 0)))))`,
  multiValueBlocks: `(module (memory 1 10) (type $pair (func (result i32 i32)))
    (func (export "run") (result i32)
      (block (type $pair) (i32.const 1) (i32.const 2)) (drop) (drop)
      (drop (memory.grow (i32.const 1)))
      (memory.size)))`,
};

describe('routeMemoryGrow', () => {
  it('returns a module without memory.grow byte for byte (the same array)', () => {
    for (const text of [
      '(module (func (export "f") (result i32) (i32.const 42)))',
      '(module (memory 1) (func (export "f") (result i32) (memory.size)))',
      '(module)',
    ]) {
      const bytes = wat(text);
      expect(routeMemoryGrow(bytes)).toBe(bytes);
    }
  });

  it.each(Object.entries(FAMILIES))(
    'decodes every instruction of the %s family and finds the memory.grow after them',
    async (_, text) => {
      const bytes = wat(text);
      const routed = routeMemoryGrow(bytes);
      expect(routed).not.toBe(bytes);
      expect(WebAssembly.validate(new Uint8Array(routed))).toBe(true);
      // Not one memory.grow (0x40 0x00 as an instruction) is left: the routed module has the host's exports.
      const exports = WebAssembly.Module.exports(new WebAssembly.Module(new Uint8Array(routed))).map(
        (e) => e.name,
      );
      expect(exports).toEqual(expect.arrayContaining(['__forge_host_table', '__forge_memory']));
      const native = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.run as () => number;
      expect(await run(bytes)).toBe(native());
    },
  );

  it('keeps memory.grow semantics: the old size, -1 past the maximum or for a huge delta, data preserved', async () => {
    const bytes = wat(`(module (memory (export "memory") 1 4)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "size") (result i32) (memory.size))
      (func (export "run") (result i32)
        (i32.store (i32.const 100) (i32.const 0x12345678))
        ;; old size 1, then 3, then refused (would be 5), then a delta over 2^31 refused
        (i32.mul (i32.mul (memory.grow (i32.const 2)) (i32.add (memory.grow (i32.const 0)) (i32.const 10)))
          (i32.mul (i32.add (memory.grow (i32.const 2)) (i32.const 2)) (i32.add (memory.grow (i32.const -1)) (i32.const 3))))
        (i32.store (i32.const 0x2fffc) (i32.const 1))
        (i32.add (i32.load (i32.const 100)))))`);
    // 1 * (3 + 10) * (-1 + 2) * (-1 + 3) + 0x12345678
    expect(await run(bytes)).toBe(26 + 0x12345678);
  });

  it('runs a start function after the grow table is filled, and reports its trap like any start function', async () => {
    const grows = wat(`(module (memory (export "memory") 1 8) (global $old (mut i32) (i32.const -5))
      (func $init (global.set $old (memory.grow (i32.const 2))))
      (start $init)
      (func (export "run") (result i32) (i32.add (i32.mul (global.get $old) (i32.const 100)) (memory.size))))`);
    expect(await run(grows)).toBe(103);
    const routed = routeMemoryGrow(grows);
    expect(
      WebAssembly.Module.exports(new WebAssembly.Module(new Uint8Array(routed))).map((e) => e.name),
    ).toContain('__forge_start');
    const traps = await compileModule(
      wat(`(module (memory 1 2) (func $init (drop (memory.grow (i32.const 1))) (unreachable)) (start $init)
        (func (export "run")))`),
    );
    const outcome = runInstance({ compiled: traps, imports: {}, memory: new GuestMemory(), entry: 'run' });
    expect(outcome.status).toBe('trapped');
    expect(outcome.status === 'trapped' && outcome.error.code).toBe('FORGE_WASM_TRAP');
  });

  it('reuses an identical (i32) -> (i32) type and adds tables and exports past the existing ones', async () => {
    const bytes = wat(`(module (type $same (func (param i32) (result i32))) (memory 1 3) (table 1 funcref)
      (func $f (type $same) (memory.grow (local.get 0))) (elem (i32.const 0) $f)
      (func (export "run") (result i32) (call_indirect (type $same) (i32.const 1) (i32.const 0))))`);
    const routed = routeMemoryGrow(bytes);
    const module = new WebAssembly.Module(new Uint8Array(routed));
    expect(WebAssembly.Module.exports(module)).toEqual([
      { name: 'run', kind: 'function' },
      { name: '__forge_host_table', kind: 'table' },
      { name: '__forge_memory', kind: 'memory' },
    ]);
    expect(routed.byteLength - bytes.byteLength).toBeLessThan(64);
    expect(await run(bytes)).toBe(1);
  });

  it('hides the host’s exports from the compiled module’s export list and the missing-export message', async () => {
    const compiled = await compileModule(
      wat('(module (memory 1 2) (func (export "run") (drop (memory.grow (i32.const 1)))))'),
    );
    expect(compiled.exports.map((e) => e.name)).toEqual(['run']);
    const run = () => runInstance({ compiled, imports: {}, memory: new GuestMemory(), entry: 'nope' });
    expect(run).toThrow(/exported: run\)$/);
  });

  it.each(['inline', 'worker'] as const)(
    'grows memory through the host under fuel metering too (%s)',
    async (isolation) => {
      const h = new WasmHost({ development: true, isolation, limits: { fuel: 10_000 } });
      try {
        const module = await h.loadModule(
          wat(
            '(module (memory (export "memory") 1 4) (func (export "_start") (result i32) (drop (memory.grow (i32.const 2))) (memory.size)))',
          ),
        );
        const run = await h.run(module);
        expect(run.values).toEqual([{ type: 'i32', value: 3 }]);
      } finally {
        await h.close();
      }
    },
  );

  it('refuses a module that exports a name the host reserves', async () => {
    const bytes = wat('(module (func (export "__forge_start")))');
    await expect(compileModule(bytes)).rejects.toMatchObject({
      code: 'FORGE_WASM_INVALID',
      message: /reserves/,
    });
  });

  it('refuses an opcode it does not know, naming it, rather than guess its length', () => {
    // (func) whose body is the unassigned SIMD opcode 0xfd 0x9a: V8 refuses it too.
    const body = [0x00, 0xfd, 0x9a, 0x01, 0x0b];
    const bytes = Uint8Array.from([
      0x00,
      0x61,
      0x73,
      0x6d,
      0x01,
      0x00,
      0x00,
      0x00,
      0x01,
      0x04,
      0x01,
      0x60,
      0x00,
      0x00,
      0x03,
      0x02,
      0x01,
      0x00,
      0x0a,
      body.length + 2,
      0x01,
      body.length,
      ...body,
    ]);
    expect(() => routeMemoryGrow(bytes)).toThrow(/opcode 0xfd 0x9a/);
  });

  it('rewrites random mixes of instructions and memory.grow without changing what they compute', async () => {
    const op = fc.oneof(
      fc
        .integer({ min: 0, max: 3 })
        .map((d) => `(global.set $acc (i32.add (global.get $acc) (memory.grow (i32.const ${d}))))`),
      fc.integer({ min: 0, max: 60000 }).map((a) => `(i32.store8 (i32.const ${a}) (i32.const ${a & 0xff}))`),
      fc
        .integer({ min: 0, max: 60000 })
        .map((a) => `(global.set $acc (i32.xor (global.get $acc) (i32.load8_u (i32.const ${a}))))`),
      fc.constant(
        '(global.set $acc (i32.add (global.get $acc) (i32x4.extract_lane 2 (v128.const i32x4 1 2 3 4))))',
      ),
      fc.constant('(if (i32.and (global.get $acc) (i32.const 1)) (then (drop (memory.grow (i32.const 1)))))'),
      fc.constant('(block $b (br_table $b $b (global.get $acc)))'),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const bytes = wat(`(module (memory 1 16) (global $acc (mut i32) (i32.const 0))
          (func (export "run") (result i32) ${ops.join(' ')} (i32.add (global.get $acc) (i32.mul (memory.size) (i32.const 1000)))))`);
        const native = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.run as () => number;
        expect(await run(bytes)).toBe(native());
      }),
      { numRuns: 60 },
    );
  });
});

describe('the opcode table', () => {
  /** `(module (memory 1) (func <op>))`: V8 names an opcode it does not know in its error. */
  function v8Knows(op: readonly number[]): boolean {
    const code = [0x00, ...op, 0x0b];
    const bytes = Uint8Array.from([
      0x00,
      0x61,
      0x73,
      0x6d,
      0x01,
      0x00,
      0x00,
      0x00,
      0x01,
      0x04,
      0x01,
      0x60,
      0x00,
      0x00,
      0x03,
      0x02,
      0x01,
      0x00,
      0x05,
      0x03,
      0x01,
      0x00,
      0x01,
      0x0a,
      code.length + 2,
      0x01,
      code.length,
      ...code,
    ]);
    try {
      new WebAssembly.Module(bytes);
      return true;
    } catch (error) {
      return !/invalid (simd |atomic |numeric )?opcode|not available, enable with/i.test(
        (error as Error).message,
      );
    }
  }
  const leb = (v: number) => (v < 0x80 ? [v] : [(v & 0x7f) | 0x80, v >> 7]);

  it('knows exactly the opcodes this V8 knows (single-byte and 0xFC, 0xFD, 0xFE sub-opcodes)', () => {
    const mismatched: string[] = [];
    for (let op = 0; op < 0x100; op += 1) {
      if (op >= 0xfc && op <= 0xfe) continue;
      if (v8Knows([op]) !== (immediateOf(undefined, op) !== Imm.UNKNOWN)) mismatched.push(op.toString(16));
    }
    for (const [prefix, limit] of [
      [0xfc, 0x40],
      [0xfd, 0x180],
      [0xfe, 0x100],
    ] as const) {
      for (let sub = 0; sub < limit; sub += 1) {
        if (v8Knows([prefix, ...leb(sub)]) !== (immediateOf(prefix, sub) !== Imm.UNKNOWN)) {
          mismatched.push(`${prefix.toString(16)} ${sub.toString(16)}`);
        }
      }
    }
    expect(mismatched).toEqual([]);
  });
});
