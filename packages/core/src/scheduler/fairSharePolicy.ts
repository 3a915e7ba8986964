import { ForgeError } from '@forgeone/common';
import { BinaryHeap, type HeapNode } from './binaryHeap';
import { DEFAULT_AGING_MS, agedBefore, agedKey, checkAgingMs, type AgedEntry } from './priorityPolicy';
import type { SchedulingPolicy } from './schedulingPolicy';
import type { Workload } from './workload';

/** A tenant's queue and its place in virtual time. */
interface TenantQueue {
  readonly tenant: string;
  readonly weight: number;
  readonly order: number;
  /** Virtual time this tenant has used: +1/weight per workload started. */
  pass: number;
  readonly heap: BinaryHeap<AgedEntry>;
  node: HeapNode<TenantQueue> | undefined;
}

export interface FairShareOptions {
  /** Share of each tenant (default 1): a tenant of weight 2 starts twice as many workloads as one of weight 1. */
  readonly weights?: Readonly<Record<string, number>>;
  /** Aging of the order inside one tenant's queue (see PriorityPolicy). */
  readonly agingMs?: number;
}

/**
 * Weighted fair share by tenant, by stride scheduling: each tenant has a virtual time (`pass`)
 * that grows by `1 / weight` with each workload it starts, and the next workload comes from the
 * backlogged tenant whose pass is lowest. Over any stretch where tenants stay backlogged, each
 * one's count of started workloads is its weight's share, within one workload. A tenant that comes
 * back from idle starts at the current virtual time, so it cannot claim a burst for time it did
 * not use. Inside a tenant, workloads go by priority with aging. O(log n) per add and take.
 */
export class FairSharePolicy implements SchedulingPolicy {
  readonly name = 'fair-share';
  readonly #tenants = new Map<string, TenantQueue>();
  readonly #active = new BinaryHeap<TenantQueue>(
    (a, b) => a.pass < b.pass || (a.pass === b.pass && a.order < b.order),
  );
  readonly #nodes = new Map<string, HeapNode<AgedEntry>>();
  readonly #weights: Readonly<Record<string, number>>;
  readonly #agingMs: number;
  #order = 0;
  #tenantOrder = 0;
  #size = 0;
  /** The pass of the tenant served last: where a tenant coming back from idle starts. */
  #virtualTime = 0;

  constructor(options: FairShareOptions = {}) {
    this.#weights = options.weights ?? {};
    for (const [tenant, weight] of Object.entries(this.#weights)) {
      if (!Number.isFinite(weight) || weight <= 0) {
        throw new ForgeError(
          'FORGE_INVALID_INPUT',
          `the weight of tenant ${tenant} must be a positive number, got ${weight}`,
          { details: { field: 'weights', tenant } },
        );
      }
    }
    this.#agingMs = checkAgingMs(options.agingMs ?? DEFAULT_AGING_MS);
  }

  get size(): number {
    return this.#size;
  }

  add(workload: Workload, now: number): void {
    let queue = this.#tenants.get(workload.tenant);
    if (queue === undefined) {
      queue = {
        tenant: workload.tenant,
        weight: this.#weights[workload.tenant] ?? 1,
        order: this.#tenantOrder++,
        pass: this.#virtualTime,
        heap: new BinaryHeap<AgedEntry>(agedBefore),
        node: undefined,
      };
      this.#tenants.set(workload.tenant, queue);
    }
    const entry = { workload, key: agedKey(workload, now, this.#agingMs), order: this.#order++ };
    this.#nodes.set(workload.id, queue.heap.push(entry));
    this.#size++;
    if (queue.node === undefined) {
      queue.pass = Math.max(queue.pass, this.#virtualTime);
      queue.node = this.#active.push(queue);
    }
  }

  remove(workload: Workload): boolean {
    const node = this.#nodes.get(workload.id);
    const queue = this.#tenants.get(workload.tenant);
    if (node === undefined || queue === undefined || !queue.heap.remove(node)) return false;
    this.#nodes.delete(workload.id);
    this.#size--;
    if (queue.heap.size === 0) this.#idle(queue);
    return true;
  }

  peek(): Workload | undefined {
    return this.#active.peek()?.heap.peek()?.workload;
  }

  take(): Workload | undefined {
    const queue = this.#active.pop();
    if (queue === undefined) return undefined;
    queue.node = undefined;
    const entry = queue.heap.pop()!;
    this.#nodes.delete(entry.workload.id);
    this.#size--;
    this.#virtualTime = queue.pass;
    queue.pass += 1 / queue.weight;
    if (queue.heap.size > 0) queue.node = this.#active.push(queue);
    else this.#idle(queue);
    return entry.workload;
  }

  /** An emptied tenant leaves the active heap; its record goes once it holds no debt, so tenants do not accumulate. */
  #idle(queue: TenantQueue): void {
    if (queue.node !== undefined) {
      this.#active.remove(queue.node);
      queue.node = undefined;
    }
    if (queue.pass <= this.#virtualTime) this.#tenants.delete(queue.tenant);
  }
}
