import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '@forgeone/common';
import { parseTraceJsonl, traceToJsonl } from '@forgeone/observer';
import { WasmHost, recordedTraceOf, type EnforcerSpec, type Isolation } from '../../index';
import { wat } from '../../__tests__/support/testWat';

/** One thing a generated guest does; each prints what it got, so the output shows every answer. */
type Op =
  | { readonly kind: 'write'; readonly text: string }
  | { readonly kind: 'clock'; readonly id: 0 | 1 }
  | { readonly kind: 'random'; readonly length: number }
  | { readonly kind: 'args' }
  | { readonly kind: 'env' }
  | { readonly kind: 'read'; readonly name: 'a.txt' | 'b.txt' | 'missing.txt' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), text: fc.string({ minLength: 1, maxLength: 24 }) }),
  fc.record({ kind: fc.constant('clock' as const), id: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ kind: fc.constant('random' as const), length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ kind: fc.constant('args' as const) }),
  fc.record({ kind: fc.constant('env' as const) }),
  fc.record({ kind: fc.constant('read' as const), name: fc.constantFrom('a.txt', 'b.txt', 'missing.txt') }),
);

const BUF = 1024;
const escapeWat = (bytes: Buffer) => [...bytes].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');

/** The WebAssembly text of a guest doing `ops` in order (data at 4096 + 64 * i). */
function guestOf(ops: readonly Op[]): string {
  const data: string[] = [];
  const body = ops.map((op, i) => {
    const at = 4096 + 64 * i;
    switch (op.kind) {
      case 'write': {
        const bytes = Buffer.from(op.text, 'utf8');
        data.push(`(data (i32.const ${at}) "${escapeWat(bytes)}")`);
        return `(call $print (i32.const ${at}) (i32.const ${bytes.byteLength}))`;
      }
      case 'clock':
        return `(drop (call $clock (i32.const ${op.id}) (i64.const 1) (i32.const ${BUF}))) (call $print (i32.const ${BUF}) (i32.const 8))`;
      case 'random':
        return `(drop (call $random (i32.const ${BUF}) (i32.const ${op.length}))) (call $print (i32.const ${BUF}) (i32.const ${op.length}))`;
      case 'args':
        return `(drop (call $args_sizes (i32.const 32) (i32.const 36))) (drop (call $args (i32.const 1100) (i32.const ${BUF}))) (call $print (i32.const ${BUF}) (i32.load (i32.const 36)))`;
      case 'env':
        return `(drop (call $env_sizes (i32.const 32) (i32.const 36))) (drop (call $env (i32.const 1100) (i32.const ${BUF}))) (call $print (i32.const ${BUF}) (i32.load (i32.const 36)))`;
      case 'read': {
        data.push(`(data (i32.const ${at}) "${op.name}")`);
        return `(if (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const ${at}) (i32.const ${op.name.length}) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
          (then
            (i32.store (i32.const 48) (i32.const ${BUF})) (i32.store (i32.const 52) (i32.const 64))
            (drop (call $read (i32.load (i32.const 16)) (i32.const 48) (i32.const 1) (i32.const 20)))
            (call $print (i32.const ${BUF}) (i32.load (i32.const 20)))
            (drop (call $close (i32.load (i32.const 16))))))`;
      }
    }
  });
  return `(module
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "environ_get" (func $env (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
    (memory (export "memory") 1)
    ${data.join('\n    ')}
    (func $print (param $ptr i32) (param $len i32)
      (i32.store (i32.const 0) (local.get $ptr)) (i32.store (i32.const 4) (local.get $len))
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
    (func (export "_start") ${body.join('\n      ')}))`;
}

const allWasi: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['wasi.*'] } };
const hosts: WasmHost[] = [];
const dirs: string[] = [];
afterEach(() => vi.restoreAllMocks());
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A clock that moves on at every read: each recorded clock answer differs. */
function movingClock(): Clock {
  let ms = 1_600_000_000_000;
  let ns = 5n;
  return { now: () => (ms += 7), monotonicNs: () => (ns += 1_234n) };
}

describe('record, then replay (property)', () => {
  it('replays any generated guest identically, without the world', async () => {
    const recordHost = new WasmHost({ development: true, clock: movingClock() });
    // The replay's clock says something else: any answer taken from it would show in the output.
    const replayHost = new WasmHost({ development: true, clock: { now: () => 1, monotonicNs: () => 1n } });
    hosts.push(recordHost, replayHost);
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 12 }),
        fc.constantFrom<Isolation>('inline', 'worker'),
        fc.string({ maxLength: 12 }),
        fc.nat(),
        async (ops, isolation, content, stepSeed) => {
          const dir = mkdtempSync(join(tmpdir(), 'forgeone-replay-prop-'));
          dirs.push(dir);
          writeFileSync(join(dir, 'a.txt'), content);
          writeFileSync(join(dir, 'b.txt'), `b:${content}`);
          const source = wat(guestOf(ops));
          const recorded = await recordHost.run(await recordHost.loadModule(source), {
            isolation,
            enforcer: allWasi,
            wasi: {
              args: ['guest', content],
              env: { KEY: content },
              preopens: [{ guestPath: '/data', kind: 'host', hostPath: dir }],
            },
          });
          expect(recorded.outcome.status).toBe('returned');
          const module = await replayHost.loadModule(source);
          const trace = parseTraceJsonl(traceToJsonl(recordedTraceOf(recorded, module, { recordedAt: 1 })));
          const stdout = Buffer.from(recorded.instance.stdout());

          // No world: the preopen is gone and the host's randomness throws.
          rmSync(dir, { recursive: true, force: true });
          const random = vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(() => {
            throw new Error('replay read the host randomness');
          });
          const replay = await replayHost.replay(module, trace);
          expect(replay.divergence).toBeUndefined();
          expect(replay.outcome).toEqual(recorded.outcome);
          expect(Buffer.from(replay.instance.stdout())).toEqual(stdout);
          const results = (events: readonly { syscall: string; result: unknown }[]) =>
            events.map((e) => [e.syscall, String(e.result)]);
          expect(results(replay.instance.trace())).toEqual(results(trace.events));

          // Stepping to any call stops right there, with the output up to it.
          const seq = (stepSeed % trace.events.length) + 1;
          const point = await replayHost.forensics(module, trace).step(seq);
          expect(point.kind).toBe('stopped');
          if (point.kind === 'stopped') {
            expect(point.reached.seq).toBe(seq);
            expect(point.reached.syscall).toBe(trace.events[seq - 1]!.syscall);
            expect(stdout.subarray(0, point.stdout.byteLength)).toEqual(Buffer.from(point.stdout));
          }
          expect(random).not.toHaveBeenCalled();
          random.mockRestore();
        },
      ),
      { numRuns: 30 },
    );
  }, 60_000);
});
