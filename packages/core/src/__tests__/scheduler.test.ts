import { describe, expect, it } from 'vitest';
import { isForgeError } from '@forgeone/common';
import {
  Scheduler,
  type SchedulerResources,
  type SchedulingPolicy,
  type Workload,
  type WorkloadInput,
} from '../index';
import { ManualExecutor, StepClock, settle } from './schedulerHarness';

const w = (id: string, extra: Partial<WorkloadInput<null>> = {}): WorkloadInput<null> => ({
  id,
  payload: null,
  ...extra,
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isForgeError(error) ? error.code : `not a ForgeError: ${String(error)}`;
  }
  return undefined;
}

/** Runs everything to the end, one at a time, finishing each workload as it starts. */
async function drain(executor: ManualExecutor, scheduler: Scheduler, exitCodes: Record<string, number> = {}) {
  for (;;) {
    await settle();
    const [next] = executor.running;
    if (next === undefined) break;
    executor.finish(next, exitCodes[next] ?? 0);
  }
  await scheduler.idle();
}

describe('Scheduler: policies', () => {
  it('fifo starts workloads in submission order, whatever their priority', async () => {
    const executor = new ManualExecutor();
    const scheduler = new Scheduler({ executor: executor.run, policy: 'fifo', concurrency: 1 });
    scheduler.submitAll([w('a', { priority: 'background' }), w('b', { priority: 'critical' }), w('c')]);
    await drain(executor, scheduler);
    expect(executor.started).toEqual(['a', 'b', 'c']);
  });

  it('priority starts the most urgent first, and equal ones in submission order', async () => {
    const executor = new ManualExecutor();
    const scheduler = new Scheduler({ executor: executor.run, policy: 'priority', concurrency: 1 });
    scheduler.submitAll([
      w('bg', { priority: 'background' }),
      w('n1'),
      w('low', { priority: 'low' }),
      w('crit', { priority: 'critical' }),
      w('n2', { priority: 'normal' }),
      w('high', { priority: 'high' }),
    ]);
    await drain(executor, scheduler);
    expect(executor.started).toEqual(['crit', 'high', 'n1', 'n2', 'low', 'bg']);
  });

  it('priority ages: a background workload goes before critical ones submitted 4 aging periods after it', async () => {
    const executor = new ManualExecutor();
    const clock = new StepClock();
    const scheduler = new Scheduler({ executor: executor.run, concurrency: 1, agingMs: 100, clock });
    scheduler.submit(w('first'));
    await settle();
    scheduler.submit(w('bg', { priority: 'background' }));
    clock.time = 399;
    scheduler.submit(w('early-critical', { priority: 'critical' }));
    clock.time = 401;
    scheduler.submit(w('late-critical', { priority: 'critical' }));
    await drain(executor, scheduler);
    expect(executor.started).toEqual(['first', 'early-critical', 'bg', 'late-critical']);
  });

  it('fair-share alternates tenants by weight', async () => {
    const executor = new ManualExecutor();
    const scheduler = new Scheduler({
      executor: executor.run,
      policy: 'fair-share',
      concurrency: 1,
      weights: { big: 2 },
    });
    scheduler.submitAll([
      ...Array.from({ length: 6 }, (_, i) => w(`big${i}`, { tenant: 'big' })),
      ...Array.from({ length: 3 }, (_, i) => w(`small${i}`, { tenant: 'small' })),
    ]);
    await drain(executor, scheduler);
    const tenants = executor.started.map((id) => (id.startsWith('big') ? 'B' : 's')).join('');
    expect(tenants).toBe('BsBBsBBsB');
  });

  it('takes a custom policy object, and refuses an unknown name or an object without the methods', async () => {
    const stack: Workload[] = [];
    const lifo: SchedulingPolicy = {
      name: 'lifo',
      get size() {
        return stack.length;
      },
      add: (workload) => void stack.push(workload),
      remove: (workload) => stack.splice(stack.indexOf(workload), 1).length > 0,
      peek: () => stack[stack.length - 1],
      take: () => stack.pop(),
    };
    const executor = new ManualExecutor();
    const scheduler = new Scheduler({ executor: executor.run, policy: lifo, concurrency: 1 });
    scheduler.submitAll([w('a'), w('b'), w('c')]);
    await drain(executor, scheduler);
    expect(executor.started).toEqual(['c', 'b', 'a']);
    expect(scheduler.context().policy).toBe('lifo');
    expect(codeOf(() => new Scheduler({ executor: executor.run, policy: 'random' as 'fifo' }))).toBe(
      'FORGE_SCHEDULER_POLICY',
    );
    expect(
      codeOf(
        () => new Scheduler({ executor: executor.run, policy: { name: 'x' } as unknown as SchedulingPolicy }),
      ),
    ).toBe('FORGE_SCHEDULER_POLICY');
  });

  it('refuses bad options with a code', () => {
    const executor = new ManualExecutor();
    expect(codeOf(() => new Scheduler({ executor: executor.run, concurrency: 0 }))).toBe(
      'FORGE_INVALID_INPUT',
    );
    expect(codeOf(() => new Scheduler({ executor: executor.run, maxQueueDepth: 1.5 }))).toBe(
      'FORGE_INVALID_INPUT',
    );
    expect(codeOf(() => new Scheduler({ executor: executor.run, agingMs: -1 }))).toBe('FORGE_INVALID_INPUT');
    expect(
      codeOf(() => new Scheduler({ executor: executor.run, policy: 'fair-share', weights: { a: 0 } })),
    ).toBe('FORGE_INVALID_INPUT');
    const scheduler = new Scheduler({ executor: executor.run });
    expect(codeOf(() => scheduler.submit(w('x', { priority: 'urgent' as 'high' })))).toBe(
      'FORGE_INVALID_INPUT',
    );
    expect(codeOf(() => scheduler.submit(w('')))).toBe('FORGE_INVALID_INPUT');
  });
});

describe('Scheduler: dependencies', () => {
  it('starts a workload only after its dependencies succeeded', async () => {
    const executor = new ManualExecutor();
    const scheduler = new Scheduler({ executor: executor.run, concurrency: 4 });
    scheduler.submitAll([
      w('c', { dependsOn: ['b'], priority: 'critical' }),
      w('b', { dependsOn: ['a'] }),
      w('a', { priority: 'low' }),
      w('d', { dependsOn: ['a', 'b'] }),
    ]);
    await settle();
    expect(executor.running).toEqual(['a']);
    expect(scheduler.list().map((r) => [r.id, r.state, r.waitingOn])).toEqual([
      ['c', 'blocked', ['b']],
      ['b', 'blocked', ['a']],
      ['a', 'running', []],
      ['d', 'blocked', ['a', 'b']],
    ]);
    await drain(executor, scheduler);
    expect(executor.started).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses a cycle, naming it, and submits nothing of the batch', () => {
    const scheduler = new Scheduler({ executor: new ManualExecutor().run });
    let message = '';
    try {
      scheduler.submitAll([
        w('x'),
        w('a', { dependsOn: ['x', 'b'] }),
        w('b', { dependsOn: ['c'] }),
        w('c', { dependsOn: ['a'] }),
      ]);
    } catch (error) {
      expect(isForgeError(error) && error.code).toBe('FORGE_SCHEDULER_CYCLE');
      message = (error as Error).message;
    }
    expect(message).toContain('a → b → c → a');
    expect(scheduler.list()).toEqual([]);
    expect(codeOf(() => scheduler.submit(w('self', { dependsOn: ['self'] })))).toBe('FORGE_SCHEDULER_CYCLE');
  });

  it('refuses an unknown dependency and a duplicate name', async () => {
    const executor = new ManualExecutor();
    const scheduler = new Scheduler({ executor: executor.run });
    expect(codeOf(() => scheduler.submit(w('a', { dependsOn: ['ghost'] })))).toBe(
      'FORGE_SCHEDULER_UNKNOWN_DEPENDENCY',
    );
    expect(codeOf(() => scheduler.submitAll([w('a'), w('a')]))).toBe('FORGE_SCHEDULER_DUPLICATE');
    scheduler.submit(w('a'));
    expect(codeOf(() => scheduler.submit(w('a')))).toBe('FORGE_SCHEDULER_DUPLICATE');
    await drain(executor, scheduler);
    // Finished workloads keep their names, and can be depended on.
    expect(codeOf(() => scheduler.submit(w('a')))).toBe('FORGE_SCHEDULER_DUPLICATE');
    const later = scheduler.submit(w('later', { dependsOn: ['a'] }));
    await drain(executor, scheduler);
    expect((await later.done).state).toBe('succeeded');
  });

  it('cancels the dependents of a failed workload, transitively, with the reason', async () => {
    const executor = new ManualExecutor();
    const scheduler = new Scheduler({ executor: executor.run, concurrency: 2 });
    const [a, b, c, other] = scheduler.submitAll([
      w('a'),
      w('b', { dependsOn: ['a'] }),
      w('c', { dependsOn: ['b'] }),
      w('other'),
    ]);
    await drain(executor, scheduler, { a: 3 });
    expect(await a!.done).toMatchObject({
      state: 'failed',
      exitCode: 3,
      reason: 'exit code 3',
      startOrder: 1,
    });
    expect(await b!.done).toMatchObject({
      state: 'cancelled',
      startOrder: null,
      exitCode: null,
      reason: "dependency 'a' failed (exit code 3)",
    });
    expect(await c!.done).toMatchObject({
      state: 'cancelled',
      reason: "dependency 'b' was cancelled (dependency 'a' failed (exit code 3))",
    });
    expect((await other!.done).state).toBe('succeeded');
    // Depending on a workload that already failed cancels at once.
    const late = scheduler.submit(w('late', { dependsOn: ['a'] }));
    expect(await late.done).toMatchObject({
      state: 'cancelled',
      reason: "dependency 'a' failed (exit code 3)",
    });
    expect(scheduler.context().finished).toEqual({ succeeded: 1, failed: 1, cancelled: 3 });
  });

  it('handles a chain of 20,000 without exhausting the stack', async () => {
    let runs = 0;
    const scheduler = new Scheduler({
      executor: async () => ({ exitCode: runs++ === 0 ? 1 : 0 }),
      concurrency: 1,
      maxQueueDepth: 20_000,
    });
    const chain = Array.from({ length: 20_000 }, (_, i) =>
      w(`n${i}`, i === 0 ? {} : { dependsOn: [`n${i - 1}`] }),
    );
    const handles = scheduler.submitAll(chain);
    await scheduler.idle();
    expect((await handles[19_999]!.done).state).toBe('cancelled');
    expect(runs).toBe(1);
  });
});

describe('Scheduler: bounds, cancel, results', () => {
  it('refuses a submission past the queue depth (all or none); running workloads do not count', async () => {
    const executor = new ManualExecutor();
    const scheduler = new Scheduler({ executor: executor.run, concurrency: 1, maxQueueDepth: 3 });
    scheduler.submitAll([w('a'), w('b'), w('c')]);
    expect(codeOf(() => scheduler.submit(w('d')))).toBe('FORGE_SCHEDULER_QUEUE_FULL');
    await settle();
    // `a` started: one place is free, but not two.
    expect(codeOf(() => scheduler.submitAll([w('d'), w('e')]))).toBe('FORGE_SCHEDULER_QUEUE_FULL');
    expect(scheduler.list().map((r) => r.id)).toEqual(['a', 'b', 'c']);
    scheduler.submit(w('d'));
    expect(scheduler.context()).toMatchObject({ queued: 3, running: 1 });
    await drain(executor, scheduler);
  });

  it('cancels a queued workload (it never starts) and a running one (its signal aborts)', async () => {
    const executor = new ManualExecutor();
    const scheduler = new Scheduler({ executor: executor.run, concurrency: 1 });
    const [a, b, c] = scheduler.submitAll([w('a'), w('b'), w('c', { dependsOn: ['b'] })]);
    await settle();
    expect(scheduler.cancel('b', 'not needed')).toBe(true);
    expect(await b!.done).toMatchObject({ state: 'cancelled', reason: 'not needed', startOrder: null });
    expect(await c!.done).toMatchObject({
      state: 'cancelled',
      reason: "dependency 'b' was cancelled (not needed)",
    });
    expect(scheduler.cancel('a')).toBe(true);
    expect(executor.signals.get('a')!.aborted).toBe(true);
    expect(await a!.done).toMatchObject({ state: 'cancelled', reason: 'cancelled', startOrder: 1 });
    expect(scheduler.cancel('a')).toBe(false);
    expect(scheduler.cancel('ghost')).toBe(false);
    expect(executor.started).toEqual(['a']);
  });

  it('reports exit code, start order and time waited; a throwing executor is a failure with its message', async () => {
    const clock = new StepClock();
    const scheduler = new Scheduler({
      clock,
      concurrency: 1,
      executor: async (workload: Workload) => {
        clock.time += 10;
        if (workload.id === 'boom') throw new Error('the module is broken');
        if (workload.id === 'sync') return { exitCode: 0, value: 'v' };
        return { exitCode: 0 };
      },
    });
    const [first, boom, sync] = scheduler.submitAll([w('first'), w('boom'), w('sync')]);
    await scheduler.idle();
    expect(await first!.done).toEqual({
      id: 'first',
      state: 'succeeded',
      startOrder: 1,
      exitCode: 0,
      waitedMs: 0,
    });
    expect(await boom!.done).toEqual({
      id: 'boom',
      state: 'failed',
      startOrder: 2,
      exitCode: null,
      waitedMs: 10,
      reason: 'the module is broken',
    });
    expect(await sync!.done).toMatchObject({ state: 'succeeded', startOrder: 3, waitedMs: 20, value: 'v' });
    expect(scheduler.result('boom')?.state).toBe('failed');
  });

  it('close() cancels what is left and refuses new work', async () => {
    const executor = new ManualExecutor();
    const scheduler = new Scheduler({ executor: executor.run, concurrency: 1 });
    const [a, b] = scheduler.submitAll([w('a'), w('b')]);
    await settle();
    await scheduler.close('shutting down');
    expect((await a!.done).state).toBe('cancelled');
    expect(await b!.done).toMatchObject({ state: 'cancelled', reason: 'shutting down' });
    expect(codeOf(() => scheduler.submit(w('c')))).toBe('FORGE_SCHEDULER_CLOSED');
  });
});

/** A budget of memory pages, as a resource manager would hold it. */
class PageBudget implements SchedulerResources {
  used = 0;
  released = 0;
  constructor(readonly total: number) {}
  fits(request: { memoryPages: number }) {
    return this.used + request.memoryPages <= this.total;
  }
  allocate(request: { identity: string; memoryPages: number; worker: boolean }) {
    if (!this.fits(request)) throw new Error('does not fit');
    this.used += request.memoryPages;
    let released = false;
    return {
      id: `alloc-${this.used}`,
      request,
      release: () => {
        if (released) return;
        released = true;
        this.used -= request.memoryPages;
        this.released++;
      },
    };
  }
  exceeds(request: { memoryPages: number }) {
    return request.memoryPages > this.total ? ('memoryPages' as const) : undefined;
  }
}

describe('Scheduler: resources', () => {
  const pages = (memoryPages: number) => ({ identity: 't', memoryPages, worker: false });

  it('a workload that does not fit waits (and those behind it) until resources are released', async () => {
    const executor = new ManualExecutor();
    const budget = new PageBudget(10);
    const scheduler = new Scheduler({
      executor: executor.run,
      concurrency: 8,
      resources: budget,
      policy: 'fifo',
    });
    scheduler.submitAll([
      w('a', { resources: pages(6) }),
      w('b', { resources: pages(6) }),
      w('c', { resources: pages(1) }),
    ]);
    await settle();
    expect(executor.running).toEqual(['a']);
    expect(scheduler.list().find((r) => r.id === 'b')?.state).toBe('queued');
    executor.finish('a', 1);
    await settle();
    expect(executor.running).toEqual(['b', 'c']);
    expect(budget.used).toBe(7);
    await drain(executor, scheduler);
    expect(budget.used).toBe(0);
    expect(budget.released).toBe(3);
  });

  it('waits for resources held by someone else, asking again on its own', async () => {
    const executor = new ManualExecutor();
    const budget = new PageBudget(10);
    const outside = budget.allocate({ identity: 'other', memoryPages: 8, worker: false });
    const scheduler = new Scheduler({ executor: executor.run, resources: budget });
    scheduler.submit(w('a', { resources: pages(5) }));
    await settle();
    expect(executor.running).toEqual([]);
    outside.release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(executor.running).toEqual(['a']);
    await drain(executor, scheduler);
  });

  it('refuses a workload bigger than the whole budget, naming the budget', () => {
    const scheduler = new Scheduler({ executor: new ManualExecutor().run, resources: new PageBudget(10) });
    try {
      scheduler.submit(w('huge', { resources: pages(11) }));
      expect.unreachable();
    } catch (error) {
      expect(isForgeError(error) && error.code).toBe('FORGE_SCHEDULER_NEVER_FITS');
      expect(isForgeError(error) && error.details.budget).toBe('memoryPages');
    }
    expect(scheduler.list()).toEqual([]);
  });
});
