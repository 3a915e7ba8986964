import { describe, expect, it } from 'vitest';
import { ForgeError } from '@forgeone/common';
import { WasmHost } from '../../index';
import { allow, testHosts, wat } from '../../__tests__/support/testHosts';

// The container limits a host routes into the gate and WASI: the syscall burst (the rate window's
// size) and the open-handle limit (WASI's maxOpenFds), and its refusal of limits it cannot honour.
const { host } = testHosts();

/** 1,000 forge.clock_now calls as fast as the guest can make them. */
const THOUSAND_CALLS = wat(`(module (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (loop $l (drop (call $now (i32.const 64)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))))`);

/** Opens a.txt in the preopen (fd 3) without closing it until an open fails; returns opens * 100 + errno. */
const OPEN_UNTIL_REFUSED = wat(`(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "a.txt")
  (func (export "opens") (result i32) (local $n i32) (local $errno i32)
    (block $done (loop $more
      (local.set $errno (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 5) (i32.const 0)
        (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
      (br_if $done (local.get $errno))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $done (i32.ge_u (local.get $n) (i32.const 10000)))
      (br $more)))
    (i32.add (i32.mul (local.get $n) (i32.const 100)) (local.get $errno))))`);

describe.each(['inline', 'worker'] as const)('container limits routed by the host (%s)', (isolation) => {
  it('syscallBurst sets the rate window: a burst over it is stopped, the same calls without it are not', async () => {
    // 100,000/s in windows of 100 calls (1 ms): a guest calling flat out makes 100 calls far sooner.
    const narrow = host(isolation, { syscallsPerSecond: 100_000, syscallBurst: 100 });
    const stopped = await narrow.run(await narrow.loadModule(THOUSAND_CALLS), {
      enforcer: allow('forge.clock_now'),
    });
    expect(stopped.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_SYSCALL_RATE' } });
    expect(stopped.outcome.status === 'trapped' && stopped.outcome.error.message).toMatch(
      /more than 100 calls in 1 ms/,
    );
    // The default burst is the rate: 1,000 calls never fill a window of 100,000.
    const wide = host(isolation, { syscallsPerSecond: 100_000 });
    const ran = await wide.run(await wide.loadModule(THOUSAND_CALLS), { enforcer: allow('forge.clock_now') });
    expect(ran.outcome.status).toBe('returned');
  });

  it("maxOpenFds is WASI's descriptor limit: stdio, the preopen and the rest, then EMFILE", async () => {
    const wasi = { preopens: [{ kind: 'memory' as const, guestPath: '/', files: { 'a.txt': 'x' } }] };
    for (const maxOpenFds of [6, 40]) {
      const h = host(isolation, { maxOpenFds });
      const run = await h.run(await h.loadModule(OPEN_UNTIL_REFUSED), {
        entry: 'opens',
        enforcer: allow('wasi.path_open'),
        wasi,
      });
      // stdio (3) and the preopen (1) hold 4 descriptors; EMFILE is 33.
      expect(run.values).toEqual([{ type: 'i32', value: (maxOpenFds - 4) * 100 + 33 }]);
    }
    // A limit the caller sets on WASI itself wins over the host's.
    const h = host(isolation, { maxOpenFds: 40 });
    const run = await h.run(await h.loadModule(OPEN_UNTIL_REFUSED), {
      entry: 'opens',
      enforcer: allow('wasi.path_open'),
      wasi: { ...wasi, limits: { maxOpenFds: 5 } },
    });
    expect(run.values).toEqual([{ type: 'i32', value: 133 }]);
  });
});

describe('limits a host cannot honour', () => {
  it('are refused when the host is made, naming the limit', () => {
    for (const [limits, field] of [
      [{ syscallBurst: 10, syscallsPerSecond: 0 }, 'limits.syscallBurst'],
      [{ maxOpenFds: 3 }, 'limits.maxOpenFds'],
      [{ syscallsPerSecond: -1 }, 'limits.syscallsPerSecond'],
      [{ timeoutMs: 0 }, 'limits.timeoutMs'],
      [{ fuel: 0.5 }, 'limits.fuel'],
    ] as const) {
      try {
        new WasmHost({ development: true, limits });
        expect.unreachable(field);
      } catch (error) {
        expect(error).toBeInstanceOf(ForgeError);
        expect((error as ForgeError).code).toBe('FORGE_INVALID_INPUT');
        expect((error as ForgeError).details).toEqual({ field });
      }
    }
  });
});
