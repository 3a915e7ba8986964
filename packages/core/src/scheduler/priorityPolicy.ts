import { ForgeError } from '@forgeone/common';
import { WorkloadHeap } from './workloadHeap';
import { priorityRank } from './priority';
import type { SchedulingPolicy } from './schedulingPolicy';
import type { Workload } from './workload';

/** Default aging rate: a waiting workload rises one priority level every 5 seconds. */
export const DEFAULT_AGING_MS = 5_000;

/**
 * A queued workload's place under aging. Its effective priority at time `t` is
 * `rank - (t - readyAt) / agingMs` (one level per `agingMs` waited). Comparing two of them, `t`
 * cancels out, so the order is fixed at insertion: `rank * agingMs + readyAt`, then arrival.
 * That is what makes aging O(log n) in a heap, with no re-scoring as time passes.
 */
export interface AgedEntry {
  readonly workload: Workload;
  readonly key: number;
  readonly order: number;
}

export function agedBefore(a: AgedEntry, b: AgedEntry): boolean {
  return a.key < b.key || (a.key === b.key && a.order < b.order);
}

export function agedKey(workload: Workload, readyAt: number, agingMs: number): number {
  return priorityRank(workload.priority) * agingMs + readyAt;
}

/** Checks an aging rate given by a caller. */
export function checkAgingMs(agingMs: number): number {
  if (!Number.isFinite(agingMs) || agingMs <= 0) {
    throw new ForgeError('FORGE_INVALID_INPUT', `agingMs must be a positive number of ms, got ${agingMs}`, {
      details: { field: 'agingMs' },
    });
  }
  return agingMs;
}

/**
 * Most urgent first, with aging: a workload gains one priority level per `agingMs` it waits, so
 * a `background` workload that became ready at `t` starts before every `critical` one that
 * becomes ready after `t + 4 * agingMs`: however long the stream of critical work, it waits at
 * most 4 aging periods plus the time to drain what was queued ahead of it by then.
 */
export class PriorityPolicy implements SchedulingPolicy {
  readonly name: string = 'priority';
  readonly #heap = new WorkloadHeap<AgedEntry>(agedBefore);
  readonly #agingMs: number;
  #order = 0;

  constructor(options: { readonly agingMs?: number } = {}) {
    this.#agingMs = checkAgingMs(options.agingMs ?? DEFAULT_AGING_MS);
  }

  get size(): number {
    return this.#heap.size;
  }

  add(workload: Workload, now: number): void {
    const entry = { workload, key: agedKey(workload, now, this.#agingMs), order: this.#order++ };
    this.#heap.push(entry);
  }

  remove(workload: Workload): boolean {
    return this.#heap.remove(workload);
  }

  peek(): Workload | undefined {
    return this.#heap.peek();
  }

  take(): Workload | undefined {
    return this.#heap.take();
  }
}
