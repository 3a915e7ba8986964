import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore, type ContainerId } from '@forgeone/common';
import type { EnforcerSpec } from '@forgeone/execution';
import type { Runtime } from '../index';
import { containerRuntime, statesOf } from './support/containerGuests';

const encode = (text: string) => new TextEncoder().encode(text);

/**
 * A service whose `probe` logs (a call the policy quarantines) and then returns 9; `count` makes
 * no syscall; `tick` reads the clock (allowed).
 */
const PROBER = encode(`(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "probe")
  (global $n (mut i32) (i32.const 0))
  (func (export "count") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))
  (func (export "tick") (result i32) (call $now (i32.const 8)))
  (func (export "probe") (result i32)
    (drop (call $log (i32.const 64) (i32.const 5)))
    (global.set $n (i32.add (global.get $n) (i32.const 100)))
    (i32.const 9)))`);

/** A command whose `_start` reads the clock, logs (quarantined), then reads the clock again. */
const PROBING_COMMAND = encode(`(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "probe")
  (func (export "_start")
    (drop (call $now (i32.const 8)))
    (drop (call $log (i32.const 64) (i32.const 5)))
    (drop (call $now (i32.const 8)))))`);

/** Clock calls are allowed; any log call quarantines (rule base/no-logging). */
const policy: EnforcerSpec = {
  mode: 'enforce',
  policy: {
    kind: 'document',
    document: {
      apiVersion: 'forgeone.dev/v1',
      kind: 'Policy',
      metadata: { name: 'quiet' },
      spec: {
        entry: 'base',
        nodes: [
          {
            name: 'base',
            rules: [
              { id: 'clock', action: 'allow', match: { syscall: 'forge.clock_now' } },
              {
                id: 'no-logging',
                action: 'quarantine',
                message: 'the guest tried to log',
                match: { syscall: 'forge.log' },
              },
            ],
          },
        ],
      },
    },
  },
};

const opened: Runtime[] = [];
function open(extra: Parameters<typeof containerRuntime>[0] = {}) {
  const store = new MemoryStore();
  const made = containerRuntime({ store, ...extra });
  opened.push(made.runtime);
  return { ...made, store };
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((runtime) => runtime.close()));
});

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 2_000; i++) {
    const value = await read();
    if (ok(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not reached in 10 s');
}

const quarantined = (runtime: Runtime, id: ContainerId) =>
  until(
    () => runtime.get(id),
    (info) => info.state === 'quarantined',
  );

describe.each(['worker', 'inline'] as const)('a policy quarantine of a service (%s)', (isolation) => {
  it('holds the container at the call, records why with its DNA, and release lets it go on', async () => {
    const { runtime, events, states } = open();
    const recorded: string[] = [];
    const resolved: string[] = [];
    events.on('quarantine.recorded', (e) => recorded.push(`${e.reason} ${e.firedRules.join(',')}`));
    events.on('quarantine.resolved', (e) => resolved.push(e.state));
    const id = await runtime.launchContainer({ source: PROBER, policy, isolation });
    expect((await runtime.invoke(id, 'tick')).outcome.status).toBe('returned');
    const probe = runtime.invoke(id, 'probe');
    const info = await quarantined(runtime, id);
    expect(info.reason).toBe('the guest tried to log');
    const record = await until(
      () => runtime.containers.redzone.get(id),
      (r) => r !== undefined,
    );
    expect(record).toMatchObject({
      containerId: id,
      state: 'active',
      reason: 'the guest tried to log',
      firedRules: ['base/no-logging'],
    });
    expect(record!.dna.syscallCounts['forge.clock_now']).toBe(1);
    expect(recorded).toEqual(['the guest tried to log base/no-logging']);
    // Held: a later call waits for the release.
    let counted = false;
    const count = runtime.invoke(id, 'count').then((r) => {
      counted = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(counted).toBe(false);
    if (isolation === 'worker') {
      // The guest itself waits at its syscall (Atomics.wait), not only the next call.
      let probed = false;
      void probe.then(() => (probed = true));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(probed).toBe(false);
    }
    expect((await runtime.containers.release(id)).state).toBe('running');
    const probed = await probe;
    if (isolation === 'worker') {
      // It went on from the held call: the call was refused, the rest of `probe` ran.
      expect(probed.outcome.status).toBe('returned');
      expect((await count).values).toEqual([{ type: 'i32', value: 101 }]);
    } else {
      // Inline, a synchronous guest cannot wait: the call was cut at the syscall, the instance kept.
      expect(probed.outcome).toMatchObject({
        status: 'trapped',
        error: { code: 'FORGE_CONTAINER_QUARANTINED' },
      });
      expect((await count).values).toEqual([{ type: 'i32', value: 1 }]);
    }
    expect((await runtime.containers.redzone.get(id))!.state).toBe('released');
    expect(resolved).toEqual(['released']);
    expect(statesOf(states, id)).toEqual(['created', 'starting', 'running', 'quarantined', 'running']);
  });

  it('terminate stops it and ends the record; a second terminate is refused with a code', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({ source: PROBER, policy, isolation });
    void runtime.invoke(id, 'probe').catch(() => undefined);
    await quarantined(runtime, id);
    expect((await runtime.containers.terminate(id, 'operator')).state).toBe('stopped');
    const record = await runtime.containers.redzone.get(id);
    expect(record).toMatchObject({ state: 'terminated' });
    expect(record!.history.at(-1)).toMatchObject({ action: 'terminate', by: 'operator' });
    await expect(runtime.containers.terminate(id)).rejects.toMatchObject({
      code: 'FORGE_CONTAINER_STATE',
      details: { state: 'stopped', action: 'terminate' },
    });
  });

  it('a quarantine past its maximum time terminates the container', async () => {
    const { runtime, states } = open({ quarantine: { maxQuarantineMs: 150, expiryIntervalMs: 20 } });
    const id = await runtime.launchContainer({ source: PROBER, policy, isolation });
    void runtime.invoke(id, 'probe').catch(() => undefined);
    await quarantined(runtime, id);
    const ended = await until(
      () => runtime.get(id),
      (info) => info.state === 'stopped',
    );
    expect(ended.state).toBe('stopped');
    const record = await runtime.containers.redzone.get(id);
    expect(record!.state).toBe('terminated');
    expect(record!.history.at(-1)).toMatchObject({ action: 'expire', by: 'redzone' });
    expect(statesOf(states, id).slice(-2)).toEqual(['quarantined', 'stopped']);
  });
});

describe.each(['worker', 'inline'] as const)('a policy quarantine of a command (%s)', (isolation) => {
  it('is held, and released it ends', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({ source: PROBING_COMMAND, policy, isolation });
    await quarantined(runtime, id);
    await runtime.containers.release(id);
    const ended = await until(
      () => runtime.get(id),
      (info) => info.state === 'stopped' || info.state === 'failed',
    );
    // A worker's guest went on from the held call and returned; inline, its cut _start has nothing left.
    expect(ended).toMatchObject({ state: 'stopped', exitCode: isolation === 'worker' ? 0 : null });
  });
});

describe('quarantine records', () => {
  it('a kernel shutdown terminates the records of the containers it held', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({ source: PROBER, policy, isolation: 'worker' });
    void runtime.invoke(id, 'probe').catch(() => undefined);
    await quarantined(runtime, id);
    await runtime.close();
    expect((await runtime.containers.redzone.get(id))!.state).toBe('terminated');
    expect((await runtime.get(id)).state).toBe('stopped');
  });

  it('an operator quarantine is recorded like a policy one', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({ source: PROBER, policy, isolation: 'worker' });
    await runtime.invoke(id, 'tick');
    await runtime.containers.quarantine(id, 'anomaly score 0.97');
    expect(await runtime.containers.redzone.get(id)).toMatchObject({
      state: 'active',
      reason: 'anomaly score 0.97',
      firedRules: [],
      dna: { totalCalls: 1 },
    });
    await runtime.containers.redzone.release(id, 'alice');
    expect((await runtime.get(id)).state).toBe('running');
  });

  it.each(['worker', 'inline'] as const)(
    'a run a policy quarantines reports its record, kept in the store (%s)',
    async (isolation) => {
      const { runtime, store } = open();
      const report = await runtime.runModule({ source: PROBING_COMMAND, policy, isolation });
      expect(report.outcome).toMatchObject({
        status: 'trapped',
        error: { code: 'FORGE_CONTAINER_QUARANTINED' },
      });
      expect(report.quarantine).toMatchObject({
        containerId: report.containerId,
        state: 'active',
        reason: 'the guest tried to log',
        firedRules: ['base/no-logging'],
      });
      // The DNA up to the quarantined call, in both isolations (a worker is stopped before any result).
      expect(report.quarantine!.dna).toMatchObject({ totalCalls: 2 });
      expect(report.dna.totalCalls).toBe(2);
      const kept = await store.getRecord('redzone', report.containerId);
      expect(kept?.value).toMatchObject({ reason: 'the guest tried to log' });
      // It stopped at the quarantined call: the clock call after it never ran.
      expect(report.trace.map((e) => e.syscall)).toEqual(['forge.clock_now', 'forge.log']);
    },
  );
});
