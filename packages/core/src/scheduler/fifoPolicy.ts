import { WorkloadHeap } from './workloadHeap';
import type { SchedulingPolicy } from './schedulingPolicy';
import type { Workload } from './workload';

interface Entry {
  readonly workload: Workload;
  readonly order: number;
}

/** First ready, first started: priority and tenant are ignored. */
export class FifoPolicy implements SchedulingPolicy {
  readonly name = 'fifo';
  readonly #heap = new WorkloadHeap<Entry>((a, b) => a.order < b.order);
  #order = 0;

  get size(): number {
    return this.#heap.size;
  }

  add(workload: Workload): void {
    this.#heap.push({ workload, order: this.#order++ });
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
