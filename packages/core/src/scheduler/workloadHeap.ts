import { BinaryHeap, type HeapNode } from './binaryHeap';
import type { Workload } from './workload';

/**
 * A binary heap of workload entries that also finds an entry by workload id, so that a cancelled
 * workload is taken out in O(log n): what the fifo and priority policies are built on.
 */
export class WorkloadHeap<E extends { readonly workload: Workload }> {
  readonly #heap: BinaryHeap<E>;
  readonly #nodes = new Map<string, HeapNode<E>>();

  constructor(before: (a: E, b: E) => boolean) {
    this.#heap = new BinaryHeap<E>(before);
  }

  get size(): number {
    return this.#heap.size;
  }

  push(entry: E): void {
    this.#nodes.set(entry.workload.id, this.#heap.push(entry));
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
