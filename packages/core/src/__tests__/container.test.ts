import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../index';
import {
  COMMAND,
  ENDLESS,
  EXIT3,
  REACTOR,
  SERVICE,
  TRAP,
  allow,
  containerRuntime,
  endlessLimits,
  statesOf,
} from './support/containerGuests';

const i32 = (value: number) => ({ type: 'i32', value }) as const;
const opened: Runtime[] = [];
function open(...args: Parameters<typeof containerRuntime>) {
  const made = containerRuntime(...args);
  opened.push(made.runtime);
  return made;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((runtime) => runtime.close()));
});

describe.each(['inline', 'worker'] as const)('a service container (%s)', (isolation) => {
  it('stays up across invokes, keeps its state, and stops', async () => {
    const { runtime, states } = open();
    const id = await runtime.launchContainer({ source: SERVICE, name: 'svc.wat', policy: allow, isolation });
    expect(await runtime.get(id)).toMatchObject({
      id,
      kind: 'service',
      isolation,
      state: 'running',
      name: 'svc.wat',
    });
    const sum = await runtime.invoke(id, 'add', [i32(2), i32(40)]);
    expect(sum.values).toEqual([i32(42)]);
    expect((await runtime.invoke(id, 'count')).values).toEqual([i32(1)]);
    expect((await runtime.invoke(id, 'count')).values).toEqual([i32(2)]);
    expect((await runtime.invoke(id, 'spin', [i32(10)])).values).toEqual([i32(7)]);
    const stopped = await runtime.stop(id);
    expect(stopped.state).toBe('stopped');
    expect(statesOf(states, id)).toEqual(['created', 'starting', 'running', 'stopping', 'stopped']);
    const last = states.at(-1)!;
    expect(last).toMatchObject({ previous: 'stopping', name: 'svc.wat' });
    expect(last.updated_at).toBeGreaterThanOrEqual(last.created_at);
    expect(new Set(states.map((s) => s.created_at)).size).toBe(1);
  });

  it('refuses what its state does not allow, with a code naming state and action', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation });
    await expect(runtime.resume(id)).rejects.toMatchObject({
      code: 'FORGE_CONTAINER_STATE',
      details: { state: 'running', action: 'resume' },
    });
    await expect(runtime.remove(id)).rejects.toMatchObject({ code: 'FORGE_CONTAINER_STATE' });
    await runtime.stop(id);
    await expect(runtime.stop(id)).rejects.toMatchObject({
      code: 'FORGE_CONTAINER_STATE',
      details: { state: 'stopped', action: 'stop' },
    });
    await expect(runtime.invoke(id, 'count')).rejects.toMatchObject({ code: 'FORGE_CONTAINER_STATE' });
    await expect(runtime.pause(id)).rejects.toMatchObject({ code: 'FORGE_CONTAINER_STATE' });
    await runtime.remove(id);
    await expect(runtime.get(id)).rejects.toMatchObject({ code: 'FORGE_CONTAINER_NOT_FOUND' });
    await expect(runtime.remove(id)).rejects.toMatchObject({ code: 'FORGE_CONTAINER_NOT_FOUND' });
  });

  it('fails on a trap and on proc_exit ends as stopped with the exit code', async () => {
    const { runtime } = open();
    const a = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation });
    const trapped = await runtime.invoke(a, 'boom');
    expect(trapped.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_WASM_TRAP' } });
    expect(await runtime.get(a)).toMatchObject({ state: 'failed', reason: 'FORGE_WASM_TRAP' });
    const b = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation });
    await runtime.invoke(b, 'quit');
    expect(await runtime.get(b)).toMatchObject({ state: 'stopped', exitCode: 4 });
  });

  it('keeps running after a caller error (a missing export)', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation });
    await expect(runtime.invoke(id, 'nothere')).rejects.toMatchObject({ code: 'FORGE_WASM_EXPORT_MISSING' });
    expect((await runtime.invoke(id, 'count')).values).toEqual([i32(1)]);
    expect((await runtime.get(id)).state).toBe('running');
  });

  it('holds the next invoke while paused and serves it on resume', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation });
    expect((await runtime.pause(id)).state).toBe('paused');
    let served = false;
    const call = runtime.invoke(id, 'count').then((result) => {
      served = true;
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(served).toBe(false);
    await expect(runtime.pause(id)).rejects.toMatchObject({ code: 'FORGE_CONTAINER_STATE' });
    await runtime.resume(id);
    expect((await call).values).toEqual([i32(1)]);
  });

  it('quarantines: held until released, or terminated', async () => {
    const { runtime, events } = open();
    const seen: string[] = [];
    events.on('container.quarantined', (e) => seen.push(e.reason));
    const id = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation });
    expect(await runtime.containers.quarantine(id, 'anomaly score 0.97')).toMatchObject({
      state: 'quarantined',
      reason: 'anomaly score 0.97',
    });
    expect(seen).toEqual(['anomaly score 0.97']);
    let served = false;
    const call = runtime.invoke(id, 'count').then(() => (served = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(served).toBe(false);
    const released = await runtime.containers.release(id);
    expect(released.state).toBe('running');
    expect(released.reason).toBeUndefined();
    await call;
    await runtime.containers.quarantine(id, 'again');
    await expect(
      runtime.containers.release(id).then(() => runtime.containers.release(id)),
    ).rejects.toMatchObject({
      code: 'FORGE_CONTAINER_STATE',
    });
    await runtime.containers.quarantine(id, 'for good');
    expect((await runtime.containers.terminate(id)).state).toBe('stopped');
  });
});

describe('a reactor container', () => {
  it('runs _initialize once at launch, then serves calls', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({ source: REACTOR, policy: allow, isolation: 'worker' });
    expect((await runtime.get(id)).kind).toBe('service');
    expect((await runtime.invoke(id, 'get')).values).toEqual([i32(42)]);
  });
});

describe.each(['inline', 'worker'] as const)('a command container (%s)', (isolation) => {
  const ended = async (runtime: Runtime, id: Parameters<Runtime['get']>[0]) => {
    for (;;) {
      const info = await runtime.get(id);
      if (info.state === 'stopped' || info.state === 'failed') return info;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  it('runs _start to completion and ends stopped with its exit code', async () => {
    const { runtime, states } = open();
    const ok = await runtime.launchContainer({ source: COMMAND, policy: allow, isolation });
    expect(await ended(runtime, ok)).toMatchObject({ kind: 'command', state: 'stopped', exitCode: 0 });
    expect(statesOf(states, ok)).toEqual(['created', 'starting', 'running', 'stopped']);
    const three = await runtime.launchContainer({ source: EXIT3, policy: allow, isolation });
    expect(await ended(runtime, three)).toMatchObject({ state: 'stopped', exitCode: 3 });
    const trap = await runtime.launchContainer({ source: TRAP, policy: allow, isolation });
    expect(await ended(runtime, trap)).toMatchObject({ state: 'failed', reason: 'FORGE_WASM_TRAP' });
  });

  // (Inline, an endless command holds the thread until its deadline: that one is the worker's.)
  it('refuses invoke: a command runs _start only', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({
      source: ENDLESS,
      policy: allow,
      isolation: 'worker',
      limits: endlessLimits,
    });
    await expect(runtime.invoke(id, '_start')).rejects.toMatchObject({
      code: 'FORGE_CONTAINER_STATE',
      details: { action: 'invoke', kind: 'command' },
    });
    await runtime.stop(id, { deadlineMs: 0 });
  });
});

describe('pause and stop at the syscall boundary (worker)', () => {
  it('pauses a call in flight at its next syscall, and resume lets it finish', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'worker',
      limits: { syscallsPerSecond: 0, timeoutMs: 60_000 },
    });
    let done = false;
    const call = runtime.invoke(id, 'spin', [i32(300_000)]).then((result) => {
      done = true;
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await runtime.pause(id)).state).toBe('paused');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(done).toBe(false);
    await runtime.resume(id);
    expect((await call).values).toEqual([i32(7)]);
  });

  it('a pause right after a resume still resolves once the guest is blocked again', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'worker',
      limits: endlessLimits,
    });
    const call = runtime.invoke(id, 'spin', [i32(2_000_000_000)]).catch((error: unknown) => error);
    for (let i = 0; i < 30; i += 1) {
      expect((await runtime.pause(id)).state).toBe('paused');
      await runtime.resume(id);
    }
    await runtime.stop(id, { deadlineMs: 0 });
    expect(await call).toMatchObject({ code: 'FORGE_INSTANCE_STATE' });
  });

  it('a guest making syscalls as fast as it can does not starve the kernel, and pauses at once', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'worker',
      limits: endlessLimits,
    });
    const call = runtime.invoke(id, 'spin', [i32(2_000_000_000)]).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The kernel's thread is busy elsewhere for a second while the guest's trace keeps coming:
    // once free, its timers and its pause must not wait behind a backlog of that trace.
    const busyUntil = Date.now() + 1_000;
    while (Date.now() < busyUntil);
    const freed = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(Date.now() - freed).toBeLessThan(500);
    expect((await runtime.pause(id)).state).toBe('paused');
    expect(Date.now() - freed).toBeLessThan(1_000);
    await runtime.resume(id);
    await runtime.stop(id, { deadlineMs: 0 });
    expect(await call).toMatchObject({ code: 'FORGE_INSTANCE_STATE' });
  });

  it('stops an endless command past its deadline, and stops a paused one too', async () => {
    const { runtime, states } = open();
    const id = await runtime.launchContainer({
      source: ENDLESS,
      policy: allow,
      isolation: 'worker',
      limits: endlessLimits,
    });
    const stopped = await runtime.stop(id, { deadlineMs: 50 });
    expect(stopped).toMatchObject({ state: 'stopped' });
    expect(statesOf(states, id)).toEqual(['created', 'starting', 'running', 'stopping', 'stopped']);
    const other = await runtime.launchContainer({
      source: ENDLESS,
      policy: allow,
      isolation: 'worker',
      limits: endlessLimits,
    });
    await runtime.pause(other);
    expect((await runtime.stop(other, { deadlineMs: 20 })).state).toBe('stopped');
  });

  it('a service stopped during a long call: the call ends, queued calls are refused', async () => {
    const { runtime } = open();
    const id = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation: 'worker' });
    const settle = (call: Promise<unknown>) =>
      call.then(
        () => 'resolved',
        (error: unknown) => error,
      );
    const running = settle(runtime.invoke(id, 'forever'));
    const queued = settle(runtime.invoke(id, 'count'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stopped = await runtime.stop(id, { deadlineMs: 30 });
    expect(stopped.state).toBe('stopped');
    expect(await queued).toMatchObject({ code: 'FORGE_CONTAINER_STATE' });
    expect(await running).toMatchObject({ code: 'FORGE_INSTANCE_STATE' });
  });
});

describe('bad input', () => {
  it('refuses a launch without a decider, a bad kind, a bad stop deadline, an unknown id', async () => {
    const { runtime } = open();
    await expect(runtime.launchContainer({ source: SERVICE })).rejects.toMatchObject({
      code: 'FORGE_INVALID_INPUT',
    });
    await expect(
      runtime.launchContainer({ source: SERVICE, policy: allow, kind: 'daemon' as never }),
    ).rejects.toMatchObject({ code: 'FORGE_INVALID_INPUT', details: { field: 'kind' } });
    await expect(
      runtime.launchContainer({ source: SERVICE, policy: allow, kind: 'command' }),
    ).rejects.toMatchObject({ code: 'FORGE_WASM_EXPORT_MISSING' });
    await expect(
      runtime.launchContainer({
        source: SERVICE,
        pdp: { decide: () => ({ action: 'allow', reasons: [] }) },
        isolation: 'worker',
      }),
    ).rejects.toMatchObject({ code: 'FORGE_INVALID_INPUT', details: { field: 'isolation' } });
    const id = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation: 'inline' });
    await expect(runtime.stop(id, { deadlineMs: -1 })).rejects.toMatchObject({
      code: 'FORGE_INVALID_INPUT',
      details: { field: 'deadlineMs' },
    });
    await expect(runtime.get('ctr_nope' as never)).rejects.toMatchObject({
      code: 'FORGE_CONTAINER_NOT_FOUND',
    });
    await expect(runtime.containers.quarantine(id, '')).rejects.toMatchObject({
      code: 'FORGE_INVALID_INPUT',
    });
    expect(await runtime.list()).toHaveLength(1);
  });

  it('checks every allow-list a launch names, also after the same names passed in another list', async () => {
    // Lists that passed are remembered (a kernel launches the same few again and again): none that
    // differs from one by a character, an entry's split or its type may ride on that.
    const { runtime } = open();
    const policy = (allowed: unknown[]) =>
      ({ mode: 'enforce', policy: { kind: 'allow-list', allow: allowed } }) as never;
    const good = ['forge.log', 'forge.clock_now'];
    for (let i = 0; i < 2; i += 1) {
      const id = await runtime.launchContainer({
        source: SERVICE,
        policy: policy(good),
        isolation: 'inline',
      });
      await runtime.stop(id);
    }
    for (const bad of [
      ['forge.log', 'forge.clock_nowx'],
      ['forge.log,forge.clock_now'],
      ['forge.log', 'forge.clock_now', 'forge.nope'],
      ['forge.log\nforge.clock_now'],
    ]) {
      for (let i = 0; i < 2; i += 1) {
        await expect(
          runtime.launchContainer({ source: SERVICE, policy: policy(bad), isolation: 'inline' }),
        ).rejects.toMatchObject({ code: 'FORGE_POLICY_UNKNOWN_SYSCALL' });
      }
    }
    expect((await runtime.list()).map((c) => c.state)).toEqual(['stopped', 'stopped']);
  });

  it('lists by filter', async () => {
    const { runtime } = open();
    const a = await runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'inline',
      name: 'a',
    });
    const b = await runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'inline',
      name: 'b',
    });
    await runtime.stop(b);
    expect((await runtime.list({ state: 'running' })).map((i) => i.id)).toEqual([a]);
    expect((await runtime.list({ state: ['running', 'stopped'] })).map((i) => i.id)).toEqual([a, b]);
    expect((await runtime.list({ name: 'b' })).map((i) => i.id)).toEqual([b]);
    expect(await runtime.list({ kind: 'command' })).toEqual([]);
  });
});
