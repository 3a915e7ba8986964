import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isForgeError } from '@forgeone/common';
import { Scheduler, priorities, type PolicyName, type Workload, type WorkloadInput } from '../index';
import { ManualExecutor, StepClock, settle } from './schedulerHarness';

/** Waits a random number of macrotask turns, so that workloads end in an order nobody chose. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('Scheduler properties', () => {
  it('never starts a workload before every dependency succeeded; one with a failed dependency never starts', async () => {
    const graph = fc.integer({ min: 1, max: 25 }).chain((n) =>
      fc.record({
        deps: fc.tuple(
          ...Array.from({ length: n }, (_, i) =>
            fc.uniqueArray(fc.integer({ min: 0, max: Math.max(0, i - 1) }), { maxLength: i === 0 ? 0 : 3 }),
          ),
        ),
        failing: fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 3 }),
        priority: fc.array(fc.constantFrom(...priorities), { minLength: n, maxLength: n }),
        tenant: fc.array(fc.constantFrom('t1', 't2', 't3'), { minLength: n, maxLength: n }),
        delays: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }),
        order: fc.shuffledSubarray(
          Array.from({ length: n }, (_, i) => i),
          { minLength: n, maxLength: n },
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        graph,
        fc.constantFrom<PolicyName>('fifo', 'priority', 'fair-share'),
        fc.integer({ min: 1, max: 4 }),
        async ({ deps, failing, priority, tenant, delays, order }, policy, concurrency) => {
          const log: string[] = [];
          const ended = new Map<string, string>();
          const scheduler = new Scheduler<number>({
            policy,
            concurrency,
            executor: async (workload: Workload<number>) => {
              log.push(`start ${workload.id}`);
              await turns(delays[workload.payload]!);
              const fails = failing.includes(workload.payload);
              log.push(`end ${workload.id} ${fails ? 'failed' : 'succeeded'}`);
              return { exitCode: fails ? 1 : 0 };
            },
          });
          const inputs: Array<WorkloadInput<number>> = order.map((i) => ({
            id: `w${i}`,
            payload: i,
            priority: priority[i]!,
            tenant: tenant[i]!,
            dependsOn: deps[i]!.map((d) => `w${d}`),
          }));
          const handles = scheduler.submitAll(inputs);
          await Promise.all(handles.map((h) => h.done.then((r) => ended.set(r.id, r.state))));
          for (let i = 0; i < deps.length; i++) {
            const id = `w${i}`;
            const startAt = log.indexOf(`start ${id}`);
            const allSucceeded = deps[i]!.every((d) => ended.get(`w${d}`) === 'succeeded');
            if (allSucceeded) {
              expect(startAt).toBeGreaterThanOrEqual(0);
              for (const d of deps[i]!) expect(log.indexOf(`end w${d} succeeded`)).toBeLessThan(startAt);
              expect(ended.get(id)).toBe(failing.includes(i) ? 'failed' : 'succeeded');
            } else {
              expect(startAt).toBe(-1);
              expect(ended.get(id)).toBe('cancelled');
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('priority with aging: a background workload among an endless stream of critical ones starts within 4·agingMs + (queued ahead + arrivals in that window + 2)·runMs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }), // agingMs
        fc.integer({ min: 1, max: 5 }), // run time of each workload, ms
        fc.integer({ min: 0, max: 20 }), // critical workloads queued when the background one arrives
        fc.integer({ min: 1, max: 2 }), // critical arrivals per completion: the stream keeps up or outruns the runner
        async (agingMs, runMs, queuedAhead, arrivalsPerRun) => {
          const clock = new StepClock();
          const executor = new ManualExecutor();
          const maxQueueDepth = 10_000;
          const scheduler = new Scheduler({
            executor: executor.run,
            concurrency: 1,
            agingMs,
            clock,
            maxQueueDepth,
          });
          let next = 0;
          const critical = () => scheduler.submit({ id: `c${next++}`, priority: 'critical', payload: null });
          for (let i = 0; i <= queuedAhead; i++) critical();
          await settle();
          const submittedAt = clock.time;
          const background = scheduler.submit({ id: 'bg', priority: 'background', payload: null });
          // Arrivals during the 4 aging periods it may wait behind: each completion brings `arrivalsPerRun`.
          const windowArrivals = arrivalsPerRun * (Math.floor((4 * agingMs) / runMs) + 1);
          const bound = 4 * agingMs + (queuedAhead + windowArrivals + 2) * runMs;
          let steps = 0;
          while (!executor.started.includes('bg')) {
            const [running] = executor.running;
            clock.time += runMs;
            executor.finish(running!);
            for (let i = 0; i < arrivalsPerRun; i++) critical();
            await settle(2);
            // Without aging this loop would never end: fail instead of hanging.
            if (++steps > 10_000) throw new Error('the background workload starved');
          }
          expect(clock.time - submittedAt).toBeLessThanOrEqual(bound);
          await scheduler.close();
          expect((await background.done).waitedMs).toBeLessThanOrEqual(bound);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('fair-share: over a long run, each backlogged tenant completes its weight’s share of the work, within 10%', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 16, maxLength: 16 }),
        async (weights, concurrency, delays) => {
          const completions = 1_500;
          const tenants = weights.map((_, i) => `tenant${i}`);
          const counted = new Map<string, number>(tenants.map((t) => [t, 0]));
          let done = 0;
          let n = 0;
          const scheduler = new Scheduler<string>({
            policy: 'fair-share',
            concurrency,
            maxQueueDepth: completions * tenants.length,
            weights: Object.fromEntries(tenants.map((t, i) => [t, weights[i]!])),
            executor: async (workload) => {
              await turns(delays[n++ % delays.length]!);
              if (done++ < completions) counted.set(workload.payload, counted.get(workload.payload)! + 1);
              return { exitCode: 0 };
            },
          });
          // Each tenant has enough queued that all stay backlogged over the counted completions.
          const inputs = tenants.flatMap((tenant) =>
            Array.from({ length: completions }, (_, i) => ({
              id: `${tenant}-${i}`,
              tenant,
              payload: tenant,
            })),
          );
          // Interleaved submission, as arrivals from several tenants would be.
          inputs.sort((a, b) => Number(a.id.split('-')[1]) - Number(b.id.split('-')[1]));
          scheduler.submitAll(inputs);
          while (done < completions) await turns(1);
          await scheduler.close();
          const total = weights.reduce((a, b) => a + b, 0);
          tenants.forEach((tenant, i) => {
            const share = counted.get(tenant)! / completions;
            const expected = weights[i]! / total;
            expect(Math.abs(share - expected)).toBeLessThanOrEqual(0.1 * expected);
          });
        },
      ),
      { numRuns: 20 },
    );
  });

  it('never holds more waiting workloads than its depth, and refuses exactly the submissions past it', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('submit' as const),
        size: fc.integer({ min: 1, max: 5 }),
        dep: fc.nat(),
      }),
      fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(), exitCode: fc.constantFrom(0, 0, 1) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(op, { maxLength: 60 }),
        async (maxQueueDepth, concurrency, ops) => {
          const executor = new ManualExecutor();
          const scheduler = new Scheduler({ executor: executor.run, concurrency, maxQueueDepth });
          const ids: string[] = [];
          let next = 0;
          for (const step of ops) {
            const { blocked, queued } = scheduler.context();
            if (step.kind === 'submit') {
              const dependsOn = ids.length > 0 && step.dep % 2 === 0 ? [ids[step.dep % ids.length]!] : [];
              const batch = Array.from({ length: step.size }, () => ({
                id: `w${next++}`,
                payload: null,
                dependsOn,
              }));
              let refused: string | undefined;
              try {
                scheduler.submitAll(batch);
                ids.push(...batch.map((b) => b.id));
              } catch (error) {
                refused = isForgeError(error) ? error.code : String(error);
              }
              expect(refused).toBe(
                blocked + queued + step.size > maxQueueDepth ? 'FORGE_SCHEDULER_QUEUE_FULL' : undefined,
              );
            } else if (step.kind === 'cancel' && ids.length > 0) {
              scheduler.cancel(ids[step.pick % ids.length]!);
            } else if (step.kind === 'finish' && executor.running.length > 0) {
              executor.finish(executor.running[step.pick % executor.running.length]!, step.exitCode);
            }
            await settle(2);
            const now = scheduler.context();
            expect(now.blocked + now.queued).toBeLessThanOrEqual(maxQueueDepth);
            expect(now.running).toBeLessThanOrEqual(concurrency);
            expect(scheduler.list().filter((r) => r.state !== 'running')).toHaveLength(
              now.blocked + now.queued,
            );
          }
          await scheduler.close();
        },
      ),
      { numRuns: 150 },
    );
  });
});
