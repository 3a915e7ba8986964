// Speed (c): the scheduler's overhead. Run from the repository root:
//   npx vitest bench --run --project core packages/core/bench/scheduler.bench.ts
// 1. 10,000 small command workloads (a real wasm module, worker isolation, Runtime.runModule over
//    one WorkerPool) through the Scheduler at full concurrency, against a plain loop of the same
//    runs over the same pool with the same concurrency (target: ≥ 0.8x its throughput). The two
//    alternate, several rounds, and the median of the per-round ratios is reported.
// 2. Enqueue + dequeue of 100,000 workloads under `priority` and `fair-share` (the policies, and
//    the whole Scheduler with an executor that returns at once), per operation, beside a plain
//    binary heap of numbers; and at 1,000 / 10,000 / 100,000 to show the O(log n) growth.
// Figures are printed after the run; nothing here passes or fails on a timing.
import { afterAll, bench, describe } from 'vitest';
import { KernelEventBus, systemClock } from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import { WorkerPool } from '@forgeone/execution';
import {
  FairSharePolicy,
  PriorityPolicy,
  Runtime,
  Scheduler,
  priorities,
  type Priority,
  type SchedulingPolicy,
  type Workload,
} from '../src/index';

const WORKLOADS = Number(process.env.SCHED_BENCH_WORKLOADS ?? 10_000);
const ROUNDS = Number(process.env.SCHED_BENCH_ROUNDS ?? 3);
const CONCURRENCY = 4;

// A small command: one forge.log call, then return.
const MODULE = new TextEncoder().encode(`(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "tick")
  (func (export "_start") (drop (call $log (i32.const 0) (i32.const 4)))))`);

const pool = new WorkerPool({ maxWorkers: CONCURRENCY, warm: CONCURRENCY });
const runtime = new Runtime({
  clock: systemClock,
  events: new KernelEventBus(),
  limits: defaultRuntimeConfig().limits,
  mode: 'enforce',
  isolation: 'worker',
  pool,
});
const runOnce = () =>
  runtime.runModule({
    source: MODULE,
    name: 'tick',
    policy: { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.log'] } },
  });

/** The baseline: `CONCURRENCY` loops taking the next run until all `n` are done. */
async function plainLoop(n: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) {
      next++;
      const report = await runOnce();
      if (report.outcome.exitCode !== 0) throw new Error('the module failed');
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

/** The same runs as workloads through a Scheduler (priority policy, mixed priorities and tenants). */
async function throughScheduler(n: number): Promise<void> {
  const scheduler = new Scheduler<null>({
    concurrency: CONCURRENCY,
    maxQueueDepth: n,
    executor: async () => ({ exitCode: (await runOnce()).outcome.exitCode }),
  });
  const handles = scheduler.submitAll(
    Array.from({ length: n }, (_, i) => ({
      id: `w${i}`,
      priority: priorities[i % priorities.length]!,
      tenant: `t${i % 7}`,
      payload: null,
    })),
  );
  await scheduler.idle();
  if ((await handles[n - 1]!.done).state !== 'succeeded') throw new Error('a workload failed');
}

/** A plain binary min-heap of numbers: the baseline of queue cost. */
class NumberHeap {
  readonly #a: number[] = [];
  push(x: number): void {
    const a = this.#a;
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): number | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
      if (a[c]! >= last) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

function workloads(n: number): Workload<null>[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `w${i}`,
    priority: priorities[(i * 7919) % priorities.length] as Priority,
    tenant: `t${i % 10}`,
    identity: `t${i % 10}`,
    dependsOn: [],
    payload: null,
    submittedAt: i,
    seq: i + 1,
  }));
}

const numbers = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919) % n);

function heapRound(values: readonly number[]): void {
  const heap = new NumberHeap();
  for (const v of values) heap.push(v);
  for (let i = 0; i < values.length; i++) heap.pop();
}

function policyRound(make: () => SchedulingPolicy, items: readonly Workload<null>[]): void {
  const policy = make();
  for (const w of items) policy.add(w, w.submittedAt);
  for (let i = 0; i < items.length; i++) policy.take(0);
}

async function schedulerRound(policy: 'priority' | 'fair-share', n: number): Promise<void> {
  const done = { exitCode: 0 } as const;
  const scheduler = new Scheduler<null>({
    policy,
    concurrency: 64,
    maxQueueDepth: n,
    executor: () => Promise.resolve(done),
  });
  scheduler.submitAll(
    workloads(n).map(({ id, priority, tenant }) => ({ id, priority, tenant, payload: null })),
  );
  await scheduler.idle();
}

/** Median ns per operation (an enqueue or a dequeue) of `fn` handling `n` items. */
async function perOp(fn: () => unknown, n: number, rounds: number): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / (2 * n));
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
}

describe('scheduler: enqueue + dequeue of 1,000 workloads', () => {
  const items = workloads(1_000);
  const values = numbers(1_000);
  bench('plain binary heap of numbers', () => heapRound(values));
  bench('PriorityPolicy add + take', () => policyRound(() => new PriorityPolicy(), items));
  bench('FairSharePolicy add + take (10 tenants)', () => policyRound(() => new FairSharePolicy(), items));
});

afterAll(async () => {
  const lines: string[] = [];
  const ns = (x: number) => `${x.toFixed(1)} ns`;

  lines.push('(c) enqueue + dequeue, median ns per operation (one add or one take):');
  lines.push(
    `  ${'n'.padEnd(8)} ${'plain heap'.padStart(11)} ${'priority'.padStart(11)} ${'fair-share'.padStart(11)} ${'Scheduler/prio'.padStart(15)} ${'Scheduler/fair'.padStart(15)}`,
  );
  for (const n of [1_000, 10_000, 100_000]) {
    const rounds = n >= 100_000 ? 7 : 15;
    const items = workloads(n);
    const values = numbers(n);
    const heap = await perOp(() => heapRound(values), n, rounds);
    const prio = await perOp(() => policyRound(() => new PriorityPolicy(), items), n, rounds);
    const fair = await perOp(() => policyRound(() => new FairSharePolicy(), items), n, rounds);
    const sp = await perOp(() => schedulerRound('priority', n), n, Math.min(rounds, 5));
    const sf = await perOp(() => schedulerRound('fair-share', n), n, Math.min(rounds, 5));
    lines.push(
      `  ${String(n).padEnd(8)} ${ns(heap).padStart(11)} ${ns(prio).padStart(11)} ${ns(fair).padStart(11)} ${ns(sp).padStart(15)} ${ns(sf).padStart(15)}` +
        `   (priority ${(prio / heap).toFixed(1)}x, fair-share ${(fair / heap).toFixed(1)}x the plain heap)`,
    );
  }

  // Warm the pool, the compiled-module cache and both paths first.
  await plainLoop(200);
  await throughScheduler(200);
  const ratios: number[] = [];
  const rates: Array<[number, number]> = [];
  for (let round = 0; round < ROUNDS; round++) {
    let start = process.hrtime.bigint();
    await plainLoop(WORKLOADS);
    const loopNs = Number(process.hrtime.bigint() - start);
    start = process.hrtime.bigint();
    await throughScheduler(WORKLOADS);
    const schedNs = Number(process.hrtime.bigint() - start);
    ratios.push(loopNs / schedNs);
    rates.push([(WORKLOADS * 1e9) / loopNs, (WORKLOADS * 1e9) / schedNs]);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  lines.push(
    `(c) ${WORKLOADS} command workloads (worker isolation, Runtime.runModule, WorkerPool of ${CONCURRENCY}), concurrency ${CONCURRENCY}, ${ROUNDS} alternating rounds:`,
  );
  rates.forEach(([loop, sched], i) =>
    lines.push(
      `  round ${i + 1}: plain loop ${loop.toFixed(0)}/s, scheduler ${sched.toFixed(0)}/s, ratio ${(sched / loop).toFixed(3)}x`,
    ),
  );
  lines.push(
    `  median scheduler throughput / plain loop throughput: ${median(ratios).toFixed(3)}x (target ≥ 0.8x)`,
  );
  console.log(`\n${lines.join('\n')}`);
  await runtime.close();
  await pool.close();
}, 1_800_000);
