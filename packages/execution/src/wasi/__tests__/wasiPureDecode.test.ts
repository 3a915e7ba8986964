import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuestMemory, createWasiPreview1, type WasmValue } from '../../index';
import { allow, testHosts, wat } from '../../__tests__/support/testHosts';

// A WASI call marked pureDecode is traced with its raw params and decoded when the trace is read
// (the gate's hot path). That is only right when its arguments come from the params alone: the same
// params must decode the same whatever guest memory and the descriptor table hold then.

const PURE = [
  'args_get',
  'args_sizes_get',
  'clock_res_get',
  'clock_time_get',
  'environ_get',
  'environ_sizes_get',
  'proc_raise',
  'random_get',
  'sched_yield',
];

function memoryWith(fill: number): GuestMemory {
  const memory = new GuestMemory();
  const wasm = new WebAssembly.Memory({ initial: 1 });
  new Uint8Array(wasm.buffer).fill(fill);
  memory.bind(wasm);
  return memory;
}

describe('WASI calls decoded from their params alone', () => {
  it('marks exactly the calls whose arguments name no fd and read no memory', () => {
    const pure = createWasiPreview1()
      .definitions.filter((d) => d.pureDecode === true)
      .map((d) => d.name)
      .sort();
    expect(pure).toEqual(PURE);
  });

  it('decodes the same params the same whatever memory and descriptors hold (property)', () => {
    const definitions = createWasiPreview1().definitions.filter((d) => d.pureDecode === true);
    const param = (type: string): fc.Arbitrary<WasmValue> =>
      type === 'i64' ? fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) : fc.nat();
    fc.assert(
      fc.property(
        fc.constantFrom(...definitions),
        fc.nat(255),
        fc.nat(255),
        fc.integer({ min: 3, max: 9 }),
        (definition, fillA, fillB, extraFds) => {
          const params = fc.sample(fc.tuple(...definition.params.map(param)), 1)[0]!;
          // The same definition in another WASI state (more preopens, so other fds exist).
          const other = createWasiPreview1({
            preopens: Array.from({ length: extraFds }, (_, i) => ({
              guestPath: `/m${i}`,
              kind: 'memory' as const,
              files: {},
            })),
          }).definitions.find((d) => d.name === definition.name)!;
          expect(other.decode(params, memoryWith(fillB))).toEqual(
            definition.decode(params, memoryWith(fillA)),
          );
        },
      ),
      { numRuns: 50 },
    );
  });
});

const { host } = testHosts();
// 600 clock reads (past the first timed calls, so most take the hot path), each followed by a write.
const clockLoop = wat(`(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 40) "\\30\\00\\00\\00\\01\\00\\00\\00")
  (data (i32.const 48) ".")
  (func (export "_start") (local $i i32)
    (loop $again
      (drop (call $clock (i32.const 1) (i64.const 1000) (i32.const 16)))
      (drop (call $write (i32.const 1) (i32.const 40) (i32.const 1) (i32.const 56)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 600))))))`);

describe.each(['inline', 'worker'] as const)('pure WASI calls in a trace (%s)', (isolation) => {
  it('records every call with its arguments, params, result and written time', async () => {
    const h = host(isolation);
    const run = await h.run(await h.loadModule(clockLoop, { format: 'wat' }), {
      enforcer: allow('wasi.*'),
      onStdout: () => undefined,
    });
    expect(run.outcome.status).toBe('returned');
    const events = run.instance.trace();
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    const clocks = events.filter((e) => e.syscall === 'wasi.clock_time_get');
    expect(clocks).toHaveLength(600);
    for (const event of clocks) {
      expect(event).toMatchObject({
        args: { clockId: 1 },
        params: [1, 1000n, 16],
        action: 'allow',
        executed: true,
        result: 0,
      });
      expect(event.writes?.map((w) => w.ptr)).toEqual([16]);
    }
    const writes = events.filter((e) => e.syscall === 'wasi.fd_write');
    for (const event of writes) expect(event.args).toEqual({ fd: 1, path: '<stdout>', bytes: 1 });
    // The time written is the guest's monotonic clock: it never goes back.
    const times = clocks.map((e) => Buffer.from(e.writes![0]!.bytes, 'base64').readBigUInt64LE());
    for (let i = 1; i < times.length; i += 1) expect(times[i]! >= times[i - 1]!).toBe(true);
  });
});
