import { KernelEventBus, isForgeError, systemClock } from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import { describe, expect, it } from 'vitest';
import { ResourceManager, Runtime, Scheduler, type RunReport } from '../index';
import { COMMAND, SERVICE, allow } from './support/containerGuests';

const PAGES = defaultRuntimeConfig().limits.memoryPages;

/** A kernel whose budgets hold `workers` worker runs at once. */
function kernel(workers: number) {
  const resources = new ResourceManager({ workers, memoryPages: 100 * PAGES });
  const runtime = new Runtime({
    clock: systemClock,
    events: new KernelEventBus(),
    limits: defaultRuntimeConfig().limits,
    mode: 'enforce',
    resources,
  });
  return { runtime, resources };
}

/** `kernel`, with every `container.state` event it publishes. */
function kernelWithStates(workers: number) {
  const events = new KernelEventBus();
  const states: unknown[] = [];
  events.on('container.state', (event) => states.push(event));
  const resources = new ResourceManager({ workers, memoryPages: 100 * PAGES });
  const runtime = new Runtime({
    clock: systemClock,
    events,
    limits: defaultRuntimeConfig().limits,
    mode: 'enforce',
    resources,
  });
  return { runtime, resources, states };
}

const i32 = (value: number) => ({ type: 'i32', value }) as const;

describe('Scheduler over a runtime: the kernel budgets admit each workload once', () => {
  it('runs no more workloads at once than the workers budget, each counted once while it runs', async () => {
    const { runtime, resources } = kernel(2);
    let running = 0;
    let mostAtOnce = 0;
    const scheduler = new Scheduler<null, RunReport>({
      policy: 'fifo',
      concurrency: 6,
      resources: runtime.resources,
      executor: async (_workload, _signal, allocation) => {
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        try {
          const report = await runtime.runModule({
            source: COMMAND,
            name: 'command.wat',
            policy: allow,
            isolation: 'worker',
            identity: { subject: 'tenant:a' },
            ...(allocation ? { allocation } : {}),
          });
          return { exitCode: report.outcome.status === 'trapped' ? null : report.outcome.exitCode };
        } finally {
          running -= 1;
        }
      },
    });
    const handles = scheduler.submitAll(
      Array.from({ length: 6 }, (_, i) => ({
        id: `w${i}`,
        resources: { identity: 'tenant:a', memoryPages: PAGES, worker: true },
        payload: null,
      })),
    );
    const results = await Promise.all(handles.map((h) => h.done));
    expect(results.map((r) => r.reason ?? r.state)).toEqual(Array(6).fill('succeeded'));
    // Two ran at once, each holding one of the two workers: a run asking for an allocation of its
    // own besides the scheduler's would have been refused (workers exhausted) and failed above.
    expect(mostAtOnce).toBe(2);
    expect(resources.usage().allocations).toBe(0);
    expect(resources.usage().workers.used).toBe(0);
    await scheduler.close('done');
    await runtime.close();
  });

  it('a container launched with the scheduler allocation is counted once, and leaves it with its owner', async () => {
    const { runtime, resources } = kernel(1);
    const held = resources.allocate({ identity: 'tenant:a', memoryPages: PAGES, worker: true });
    // The one worker of the budget is the scheduler's: a container asking for its own is refused.
    await expect(
      runtime.launchContainer({
        source: SERVICE,
        policy: allow,
        isolation: 'worker',
        identity: { subject: 'tenant:a' },
      }),
    ).rejects.toMatchObject({ code: 'FORGE_RESOURCE_EXHAUSTED', details: { budget: 'workers' } });
    const id = await runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'worker',
      identity: { subject: 'tenant:a' },
      allocation: held,
    });
    expect((await runtime.invoke(id, 'add', [i32(2), i32(3)])).values).toEqual([i32(5)]);
    expect(resources.usage().allocations).toBe(1);
    await runtime.stop(id);
    await runtime.remove(id);
    // Stopped, the container gave back nothing of what it did not take: the owner still holds it.
    expect(resources.usage().allocations).toBe(1);
    expect(resources.usage().workers.used).toBe(1);
    held.release();
    expect(resources.usage().allocations).toBe(0);
    await runtime.close();
  });

  it('refuses a container a held allocation does not cover, and keeps it with its owner', async () => {
    const { runtime, resources, states } = kernelWithStates(2);
    const noWorker = resources.allocate({ identity: 'tenant:a', memoryPages: PAGES, worker: false });
    const other = resources.allocate({ identity: 'tenant:b', memoryPages: PAGES, worker: true });
    const launch = (allocation: typeof other) =>
      runtime.launchContainer({
        source: SERVICE,
        policy: allow,
        isolation: 'worker',
        identity: { subject: 'tenant:a' },
        allocation,
      });
    await expect(launch(noWorker)).rejects.toMatchObject({ code: 'FORGE_RESOURCE_MISMATCH' });
    await expect(launch(other)).rejects.toMatchObject({ code: 'FORGE_RESOURCE_MISMATCH' });
    expect(states).toEqual([]);
    expect(await runtime.list()).toEqual([]);
    expect(resources.usage().allocations).toBe(2);
    noWorker.release();
    other.release();
    await runtime.close();
  });

  it('refuses at submission a workload the budgets could never hold', () => {
    const { runtime } = kernel(1);
    const scheduler = new Scheduler({
      resources: runtime.resources,
      executor: async () => ({ exitCode: 0 }),
    });
    try {
      scheduler.submit({
        id: 'huge',
        resources: { identity: 't', memoryPages: 101 * PAGES, worker: true },
        payload: null,
      });
      expect.unreachable();
    } catch (error) {
      expect(isForgeError(error) && error.code).toBe('FORGE_SCHEDULER_NEVER_FITS');
      expect(isForgeError(error) && error.details.budget).toBe('memoryPages');
    }
  });

  it('refuses a held allocation that does not cover the run, and keeps it with its owner', async () => {
    const { runtime, resources } = kernel(2);
    const small = resources.allocate({ identity: 'tenant:a', memoryPages: 1, worker: true });
    const other = resources.allocate({ identity: 'tenant:b', memoryPages: PAGES, worker: true });
    const run = (allocation: typeof small) =>
      runtime.runModule({
        source: COMMAND,
        name: 'command.wat',
        policy: allow,
        isolation: 'worker',
        identity: { subject: 'tenant:a' },
        allocation,
      });
    await expect(run(small)).rejects.toMatchObject({ code: 'FORGE_RESOURCE_MISMATCH' });
    await expect(run(other)).rejects.toMatchObject({ code: 'FORGE_RESOURCE_MISMATCH' });
    expect(resources.usage().allocations).toBe(2);
    small.release();
    other.release();
    expect(resources.usage().allocations).toBe(0);
    await runtime.close();
  });
});
