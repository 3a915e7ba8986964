import { BinaryHeap, type HeapNode } from './binaryHeap';
import type { SchedulingPolicy } from './schedulingPolicy';
import type { Workload } from './workload';

interface Entry {
  readonly workload: Workload;
  readonly order: number;
}

/** First ready, first started: priority and tenant are ignored. */
export class FifoPolicy implements SchedulingPolicy {
  readonly name = 'fifo';
  readonly #heap = new BinaryHeap<Entry>((a, b) => a.order < b.order);
  readonly #nodes = new Map<string, HeapNode<Entry>>();
  #order = 0;

  get size(): number {
    return this.#heap.size;
  }

  add(workload: Workload): void {
    this.#nodes.set(workload.id, this.#heap.push({ workload, order: this.#order++ }));
  }

  remove(workload: Workload): boolean {
    const node = this.#nodes.get(workload.id);
    if (node === undefined) return false;
    this.#nodes.delete(workload.id);
    return this.#heap.remove(node);
  }

  peek(): Workload | undefined {
    return this.#heap.peek()?.workload;
  }

  take(): Workload | undefined {
    const entry = this.#heap.pop();
    if (entry !== undefined) this.#nodes.delete(entry.workload.id);
    return entry?.workload;
  }
}
