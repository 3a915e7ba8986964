import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { wat } from '../../__tests__/support/testWat';
import { compileModule, GuestMemory, rewriteModuleCode, runInstance } from '../../index';
import { DeadlineMeter, METER_TARGET_MS } from '../deadlineMeter';

describe('rewriteModuleCode with meterDeadline', () => {
  it('leaves a module instantiated without the host running as it was (its table holds fallbacks)', () => {
    const bytes = wat(`(module (memory 1 4)
      (func (export "run") (param $n i32) (result i32)
        (loop $again (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $again (local.get $n)))
        (i32.add (memory.grow (i32.const 1)) (memory.size))))`);
    const { bytes: metered, metered: flag } = rewriteModuleCode(bytes, 'm', { meterDeadline: true });
    expect(flag).toBe(true);
    const run = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(metered))).exports.run as (
      n: number,
    ) => number;
    // A million loop headers: many times the first countdown, so the fallback tick ran.
    expect(run(1_000_000)).toBe(1 + 2);
  });

  it('refuses imports and exports named with the reserved prefix, and opcodes it does not know', () => {
    expect(() =>
      rewriteModuleCode(wat('(module (import "env" "__forge_tick" (func)))'), 'm', { meterDeadline: true }),
    ).toThrow(
      expect.objectContaining({
        code: 'FORGE_WASM_INVALID',
        message: expect.stringMatching(/imports '__forge_tick'/),
      }),
    );
    expect(() =>
      rewriteModuleCode(wat('(module (global (export "__forge_host_table") i32 (i32.const 0)))'), 'm', {
        meterDeadline: true,
      }),
    ).toThrow(expect.objectContaining({ code: 'FORGE_WASM_INVALID' }));
    // (func) whose body is the unassigned SIMD opcode 0xfd 0x9a.
    const body = [0x00, 0xfd, 0x9a, 0x01, 0x0b];
    const unknown = Uint8Array.from([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00],
      ...[0x0a, body.length + 2, 0x01, body.length, ...body],
    ]);
    expect(() => rewriteModuleCode(unknown, 'm', { meterDeadline: true })).toThrow(/opcode 0xfd 0x9a/);
  });

  it('keeps what random programs with nested loops, calls and branches compute (property)', async () => {
    /** A statement at loop depth `depth`; each depth counts its loop on a local of its own. */
    const stmt = (depth: number): fc.Arbitrary<string> => {
      const leaves = [
        fc
          .integer({ min: 1, max: 9 })
          .map((k) => `(global.set $acc (i32.add (global.get $acc) (i32.const ${k})))`),
        fc.constant('(global.set $acc (i32.mul (global.get $acc) (i32.const 3)))'),
        fc.constant('(global.set $acc (call $mix (global.get $acc)))'),
        fc.constant('(block $b (br_table $b $b (i32.and (global.get $acc) (i32.const 1))))'),
      ];
      if (depth >= 3) return fc.oneof(...leaves);
      const loop = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.array(stmt(depth + 1), { maxLength: 3 })).map(
        ([n, body]) => `(local.set $i${depth} (i32.const ${n}))
          (block $out (loop $in (br_if $out (i32.eqz (local.get $i${depth})))
            ${body.join(' ')}
            (local.set $i${depth} (i32.sub (local.get $i${depth}) (i32.const 1))) (br $in)))`,
      );
      return fc.oneof(...leaves, loop);
    };
    await fc.assert(
      fc.asyncProperty(fc.array(stmt(0), { maxLength: 6 }), async (stmts) => {
        const bytes = wat(`(module (global $acc (mut i32) (i32.const 1))
          (func $mix (param i32) (result i32) (i32.xor (local.get 0) (i32.shl (local.get 0) (i32.const 5))))
          (func (export "run") (result i32) (local $i0 i32) (local $i1 i32) (local $i2 i32) ${stmts.join(' ')} (global.get $acc)))`);
        const native = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.run as () => number;
        const compiled = await compileModule(bytes);
        expect(compiled.deadlineMetered).toBe(true);
        const outcome = runInstance({ compiled, imports: {}, memory: new GuestMemory(), entry: 'run' });
        expect(outcome).toEqual({ status: 'returned', exitCode: 0, value: native() });
      }),
      { numRuns: 60 },
    );
  });
});

describe('DeadlineMeter', () => {
  it('starts the clock at the first check, stops past the deadline, and tunes its countdown to the clock', () => {
    let now = 1_000;
    const meter = new DeadlineMeter(() => now);
    meter.arm(10);
    const first = meter.tick();
    expect(first).toBeGreaterThan(0);
    // Checks that come quickly double the countdown; slow ones cut it.
    now += METER_TARGET_MS / 10;
    const quick = meter.tick();
    expect(quick).toBe(first * 2);
    now += METER_TARGET_MS * 10;
    expect(meter.tick()).toBe(quick / 4);
    expect(meter.expired).toBe(false);
    now = 1_000 + 10.5;
    expect(meter.tick()).toBe(0);
    expect(meter.expired).toBe(true);
    expect(meter.timeoutMs).toBe(10);
    // The next call is armed afresh; without a deadline it never stops the guest.
    meter.arm(undefined);
    now += 1e9;
    expect(meter.tick()).toBeGreaterThan(0);
    expect(meter.pastDeadline()).toBe(false);
    meter.arm(5);
    meter.start();
    now += 6;
    expect(meter.pastDeadline()).toBe(true);
  });
});
