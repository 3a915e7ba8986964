import { describe, expect, it } from 'vitest';
import { isId, ManualClock, newId, systemClock } from '@forgeone/common';
import {
  InlineInstance,
  WorkerPool,
  createEnforcerFromSpec,
  createWasiPreview1,
  worldSyscallNames,
  type EnforcerSpec,
} from '../../index';
import { allow, testHosts, wat } from '../../__tests__/support/testHosts';

// What a launch shares between instances (parsed specs, prepared policies, forge.* definitions,
// module facts in a pooled worker) must never leak one instance's policy, output or identity into
// another's, and must never let an unvalidated spec through.

/** Logs the `len` bytes at 100 and then those at 200, each through forge.log. */
const LOG_TWICE = wat(`(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $len (mut i32) (i32.const 0))
  (func (export "set") (param $n i32) (global.set $len (local.get $n)))
  (func (export "_start")
    (drop (call $log (i32.const 100) (global.get $len)))
    (drop (call $log (i32.const 200) (global.get $len))))
  (data (i32.const 100) "first-a first-b")
  (data (i32.const 200) "second-a second-b"))`);

const { hostWith: host } = testHosts();

describe('launching instances', () => {
  it('gives each instance its own container id, shaped like every id, sorting by launch time', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const h = host({ isolation: 'inline', clock });
    const module = await h.loadModule(LOG_TWICE);
    const ids: string[] = [];
    for (let i = 0; i < 300; i += 1) {
      const instance = await h.instantiate(module);
      ids.push(instance.containerId);
      await instance.terminate();
      clock.advance(1);
    }
    expect(ids.every((id) => isId('container', id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it("routes each guest's forge.log lines to its own instance, also when a log hook runs another guest", async () => {
    const h = host({ isolation: 'inline' });
    const module = await h.loadModule(LOG_TWICE);
    const seenByB: string[] = [];
    const b = await h.instantiate(module, { enforcer: allow('forge.log'), onLog: (m) => seenByB.push(m) });
    if (!(b instanceof InlineInstance)) throw new Error('expected an inline instance');
    b.invokeSync('set', [{ type: 'i32', value: 8 }]);
    const seenByA: string[] = [];
    const a = await h.instantiate(module, {
      enforcer: allow('forge.log'),
      onLog: (message) => {
        seenByA.push(message);
        // A's first line makes B run to its end before A logs its second line.
        if (seenByA.length === 1) b.invokeSync('_start');
      },
    });
    await a.invoke('set', [{ type: 'i32', value: 7 }]);
    await a.invoke('_start');
    expect(a.logs()).toEqual(['first-a', 'second-']);
    expect(seenByA).toEqual(['first-a', 'second-']);
    expect(b.logs()).toEqual(['first-a ', 'second-a']);
    expect(seenByB).toEqual(['first-a ', 'second-a']);
    await Promise.all([a.terminate(), b.terminate()]);
  });

  it('validates every new spec object, and fails again for a spec that failed before', async () => {
    const h = host({ isolation: 'inline' });
    const module = await h.loadModule(LOG_TWICE);
    const hostile = {
      mode: 'enforce',
      policy: { kind: 'allow-list', allow: ['forge.log'], allowEverything: true },
    } as unknown as EnforcerSpec;
    for (let i = 0; i < 2; i += 1) {
      await expect(h.instantiate(module, { enforcer: hostile })).rejects.toMatchObject({
        code: 'FORGE_ENFORCER_SPEC_INVALID',
      });
    }
    const unknown = Object.freeze({
      mode: 'enforce',
      policy: Object.freeze({ kind: 'allow-list', allow: Object.freeze(['forge.nope']) }),
    }) as unknown as EnforcerSpec;
    for (let i = 0; i < 2; i += 1) {
      await expect(h.instantiate(module, { enforcer: unknown })).rejects.toMatchObject({
        code: 'FORGE_POLICY_UNKNOWN_SYSCALL',
      });
      expect(() => createEnforcerFromSpec(unknown, { clock: systemClock }, worldSyscallNames())).toThrow(
        /forge\.nope/,
      );
    }
  });

  it('reads a spec that is not frozen again on every enforcer built from it', () => {
    const spec = { mode: 'enforce' as const, policy: { kind: 'allow-list' as const, allow: ['forge.log'] } };
    const decide = () =>
      createEnforcerFromSpec(spec, { clock: systemClock }).enforce({
        containerId: newId('container'),
        identity: { subject: 'guest', tenant: 'default', roles: [], attributes: {}, assurance: 'none' },
        syscall: 'forge.log',
        args: {},
        time: 0,
      }).decision.action;
    expect(decide()).toBe('allow');
    spec.policy.allow = [];
    expect(decide()).toBe('deny');
  });

  it('defines only the WASI functions asked for, and nothing for names that are not WASI functions', () => {
    const all = createWasiPreview1({});
    expect(all.definitions).toHaveLength(46);
    all.close();
    const some = createWasiPreview1({}, new Set(['fd_write', 'args_get', 'constructor', '__proto__']));
    expect(some.definitions.map((d) => d.syscall).sort()).toEqual(['wasi.args_get', 'wasi.fd_write']);
    some.close();
    expect(worldSyscallNames().filter((name) => name.startsWith('wasi.'))).toHaveLength(46);
  });

  it('refuses a module importing a WASI name that is an object property, not a function', async () => {
    const h = host({ isolation: 'inline' });
    const module = await h.loadModule(
      wat(`(module (import "wasi_snapshot_preview1" "constructor" (func)) (memory (export "memory") 1))`),
    );
    await expect(h.instantiate(module)).rejects.toMatchObject({ code: 'FORGE_WASM_IMPORT_UNKNOWN' });
  });

  it('gives each instance on a reused pooled worker its own policy and output', async () => {
    const h = host({ isolation: 'worker', pool: { maxWorkers: 1, warm: 1 } });
    const module = await h.loadModule(LOG_TWICE);
    const runs: [string[], string[]][] = [];
    for (const [enforcer, len] of [
      [allow('forge.log'), 7],
      [allow(), 8],
      [allow('forge.log'), 8],
      [{ mode: 'audit', policy: { kind: 'allow-list', allow: [] } } satisfies EnforcerSpec, 7],
    ] as const) {
      const instance = await h.instantiate(module, { enforcer });
      await instance.invoke('set', [{ type: 'i32', value: len }]);
      await instance.invoke('_start');
      runs.push([[...instance.logs()], instance.trace().map((e) => `${e.action}:${e.executed}`)]);
      await instance.terminate();
    }
    expect(runs).toEqual([
      [
        ['first-a', 'second-'],
        ['allow:true', 'allow:true'],
      ],
      [[], ['deny:false', 'deny:false']],
      [
        ['first-a ', 'second-a'],
        ['allow:true', 'allow:true'],
      ],
      [
        ['first-a', 'second-'],
        ['deny:true', 'deny:true'],
      ],
    ]);
  });

  it('lends a pooled worker to the next instance with nothing of the last one in its trace', async () => {
    // The worker's control words, trace port and tail outlive an instance (see workerLane.ts):
    // what the last one left there (calls counted, events in the tail) must not reach the next.
    const h = host({ isolation: 'worker', pool: { maxWorkers: 1, warm: 1 } });
    const module = await h.loadModule(LOG_TWICE);
    const first = await h.instantiate(module, { enforcer: allow('forge.log') });
    for (let i = 0; i < 3; i += 1) await first.invoke('_start');
    expect(first.trace().map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    await first.terminate();
    const second = await h.instantiate(module, { enforcer: allow('forge.log') });
    await second.terminate();
    expect(second.trace()).toEqual([]);
    expect(second.droppedEvents).toBe(0);
    const third = await h.instantiate(module, { enforcer: allow() });
    await third.invoke('_start');
    await third.terminate();
    expect(third.trace().map((e) => [e.seq, e.action])).toEqual([
      [1, 'deny'],
      [2, 'deny'],
    ]);
    expect(third.droppedEvents).toBe(0);
  });

  it('runs each module on a pooled worker it was sent to once, past the number of modules a worker keeps', async () => {
    // A worker keeps 64 compiled modules by number and is sent only the number afterwards: after
    // 70 distinct modules the oldest were forgotten on both sides, so they are sent again.
    const pool = new WorkerPool({ maxWorkers: 1, warm: 1 });
    try {
      const h = host({ isolation: 'worker', pool });
      const answer = (n: number) =>
        h.loadModule(
          wat(`(module (memory (export "memory") 1) (func (export "n") (result i32) (i32.const ${n})))`),
        );
      const modules = await Promise.all(Array.from({ length: 70 }, (_, n) => answer(n)));
      const run = async (n: number) => {
        const instance = await h.instantiate(modules[n]!);
        try {
          return (await instance.invoke('n')).values[0]?.value;
        } finally {
          await instance.terminate();
        }
      };
      const order = [0, 1, 0, ...Array.from({ length: 70 }, (_, n) => n), 0, 69, 5, 6, 69];
      const seen: unknown[] = [];
      for (const n of order) seen.push(await run(n));
      expect(seen).toEqual(order);
      // The same source compiled under other limits (fuel metering) is another module to the worker.
      const metered = host({ isolation: 'worker', pool, limits: { fuel: 1_000_000 } });
      const fueled = await metered.instantiate(
        await metered.loadModule(
          wat(`(module (memory (export "memory") 1) (func (export "n") (result i32) (i32.const 3)))`),
        ),
      );
      const result = await fueled.invoke('n', [], { fuel: 1_000_000 });
      await fueled.terminate();
      expect(result.values[0]?.value).toBe(3);
      expect(result.fuelLeft).toBeLessThan(1_000_000);
      expect(await run(3)).toBe(3);
    } finally {
      await pool.close();
    }
  });
});
