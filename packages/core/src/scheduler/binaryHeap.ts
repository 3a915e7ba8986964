/** A node of a BinaryHeap: the item, and where it sits (so that it can be removed in O(log n)). */
export interface HeapNode<T> {
  readonly item: T;
  /** Position in the heap's array; -1 once the node left the heap. */
  index: number;
}

/**
 * A binary min-heap ordered by `before(a, b)` (true when `a` comes out first). `push`, `pop` and
 * `remove` are O(log n); `peek` is O(1). Each push returns the node, the handle `remove` takes.
 */
export class BinaryHeap<T> {
  readonly #nodes: HeapNode<T>[] = [];
  readonly #before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#nodes.length;
  }

  push(item: T): HeapNode<T> {
    const node: HeapNode<T> = { item, index: this.#nodes.length };
    this.#nodes.push(node);
    this.#up(node.index);
    return node;
  }

  peek(): T | undefined {
    return this.#nodes[0]?.item;
  }

  pop(): T | undefined {
    const top = this.#nodes[0];
    if (top === undefined) return undefined;
    this.#removeAt(0);
    return top.item;
  }

  /** Takes `node` out wherever it is; false when it was no longer in this heap. */
  remove(node: HeapNode<T>): boolean {
    if (node.index < 0 || this.#nodes[node.index] !== node) return false;
    this.#removeAt(node.index);
    return true;
  }

  /** Every item, in no particular order. */
  items(): T[] {
    return this.#nodes.map((node) => node.item);
  }

  #removeAt(index: number): void {
    const nodes = this.#nodes;
    const removed = nodes[index]!;
    const last = nodes.pop()!;
    removed.index = -1;
    if (last === removed) return;
    nodes[index] = last;
    last.index = index;
    this.#up(index);
    this.#down(last.index);
  }

  #up(index: number): void {
    const nodes = this.#nodes;
    const node = nodes[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = nodes[parentIndex]!;
      if (!this.#before(node.item, parent.item)) break;
      nodes[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    nodes[index] = node;
    node.index = index;
  }

  #down(index: number): void {
    const nodes = this.#nodes;
    const length = nodes.length;
    const node = nodes[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && this.#before(nodes[right]!.item, nodes[left]!.item) ? right : left;
      const childNode = nodes[child]!;
      if (!this.#before(childNode.item, node.item)) break;
      nodes[index] = childNode;
      childNode.index = index;
      index = child;
    }
    nodes[index] = node;
    node.index = index;
  }
}
