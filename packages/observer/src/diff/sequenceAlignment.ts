/** A run of an alignment: `length` items kept, deleted from `a`, or inserted from `b`. */
export interface AlignedRun {
  readonly kind: 'same' | 'delete' | 'insert';
  /** Where the run starts in `a` (for an insert: the position in `a` it goes before). */
  readonly aStart: number;
  /** Where the run starts in `b` (for a delete: the position in `b` it comes before). */
  readonly bStart: number;
  readonly length: number;
}

/** An alignment of two sequences, and whether parts of it were given up on (see `maxCost`). */
export interface Alignment {
  readonly runs: readonly AlignedRun[];
  /** Items neither deleted nor inserted. */
  readonly same: number;
  /**
   * True when a region was too different to align within the cost bound and holds no item unique
   * to both sides to anchor on: that region is reported as all deleted and all inserted.
   */
  readonly approximate: boolean;
}

/** How hard `alignSequences` tries. */
export interface AlignOptions {
  /**
   * Most edits (deletions plus insertions) searched for in one region by the exact O((N+M)·D)
   * algorithm before falling back to anchors: it bounds both time and the O(D²) memory.
   */
  readonly maxCost?: number;
}

const DEFAULT_MAX_COST = 2048;
/** Deepest anchoring of anchored regions before a region is given up on. */
const MAX_DEPTH = 24;

class RunBuilder {
  readonly runs: AlignedRun[] = [];
  same = 0;
  approximate = false;

  push(kind: AlignedRun['kind'], aStart: number, bStart: number, length: number): void {
    if (length === 0) return;
    if (kind === 'same') this.same += length;
    const last = this.runs.at(-1);
    if (
      last !== undefined &&
      last.kind === kind &&
      last.aStart + (kind === 'insert' ? 0 : last.length) === aStart &&
      last.bStart + (kind === 'delete' ? 0 : last.length) === bStart
    ) {
      this.runs[this.runs.length - 1] = {
        kind,
        aStart: last.aStart,
        bStart: last.bStart,
        length: last.length + length,
      };
      return;
    }
    this.runs.push({ kind, aStart, bStart, length });
  }
}

/**
 * The shortest edit script of `a[aLo, aHi)` into `b[bLo, bHi)` (Myers 1986, greedy forward search
 * with the furthest-reaching point of every diagonal kept per cost for the walk back), or
 * undefined when it needs more than `maxCost` edits.
 */
function myers(
  a: Int32Array,
  aLo: number,
  aHi: number,
  b: Int32Array,
  bLo: number,
  bHi: number,
  maxCost: number,
  out: RunBuilder,
): boolean {
  const n = aHi - aLo;
  const m = bHi - bLo;
  const max = Math.min(n + m, maxCost);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const history: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d += 1) {
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) {
        x += 1;
        y += 1;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    history.push(v.slice(offset - d - 1, offset + d + 2));
  }
  if (found < 0) return false;
  // Walk back from (n, m) through the kept frontiers, collecting runs in reverse.
  const reversed: [AlignedRun['kind'], number, number, number][] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d -= 1) {
    const frontier = history[d - 1]!;
    const at = (k: number) => frontier[k + d]!; // frontier of cost d-1 spans k in [-d, d]
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    const startX = down ? prevX : prevX + 1;
    const startY = startX - k;
    if (x > startX) reversed.push(['same', aLo + startX, bLo + startY, x - startX]);
    if (down) reversed.push(['insert', aLo + prevX, bLo + prevY, 1]);
    else reversed.push(['delete', aLo + prevX, bLo + prevY, 1]);
    x = prevX;
    y = prevY;
  }
  if (x > 0) reversed.push(['same', aLo, bLo, x]);
  for (let i = reversed.length - 1; i >= 0; i -= 1) out.push(...reversed[i]!);
  return true;
}

/**
 * Items that occur exactly once in `a[aLo, aHi)` and once in `b[bLo, bHi)`, the longest run of them
 * in the same order on both sides (patience sorting): anchors that split a region too different
 * for the exact search into smaller ones.
 */
function anchors(
  a: Int32Array,
  aLo: number,
  aHi: number,
  b: Int32Array,
  bLo: number,
  bHi: number,
): [number, number][] {
  const inA = new Map<number, number>(); // item -> index, or -1 when repeated
  for (let i = aLo; i < aHi; i += 1) inA.set(a[i]!, inA.has(a[i]!) ? -1 : i);
  const inB = new Map<number, number>();
  for (let j = bLo; j < bHi; j += 1) if (inA.has(b[j]!)) inB.set(b[j]!, inB.has(b[j]!) ? -1 : j);
  const pairs: [number, number][] = [];
  for (let i = aLo; i < aHi; i += 1) {
    const j = inA.get(a[i]!) === i ? inB.get(a[i]!) : undefined;
    if (j !== undefined && j >= 0) pairs.push([i, j]);
  }
  // Longest increasing subsequence of the b positions, in a order.
  const tails: number[] = [];
  const previous = new Int32Array(pairs.length).fill(-1);
  for (let p = 0; p < pairs.length; p += 1) {
    const j = pairs[p]![1];
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tails[mid]!]![1] < j) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) previous[p] = tails[lo - 1]!;
    tails[lo] = p;
  }
  const chain: [number, number][] = [];
  for (let p = tails.at(-1) ?? -1; p >= 0; p = previous[p]!) chain.push(pairs[p]!);
  return chain.reverse();
}

function align(
  a: Int32Array,
  aLo: number,
  aHi: number,
  b: Int32Array,
  bLo: number,
  bHi: number,
  maxCost: number,
  depth: number,
  out: RunBuilder,
): void {
  // Common prefix and suffix first: most runs that are compared differ in a few places.
  let prefix = 0;
  while (aLo + prefix < aHi && bLo + prefix < bHi && a[aLo + prefix] === b[bLo + prefix]) prefix += 1;
  out.push('same', aLo, bLo, prefix);
  aLo += prefix;
  bLo += prefix;
  let suffix = 0;
  while (aHi - suffix > aLo && bHi - suffix > bLo && a[aHi - suffix - 1] === b[bHi - suffix - 1]) suffix += 1;
  const aEnd = aHi - suffix;
  const bEnd = bHi - suffix;
  if (aLo === aEnd) out.push('insert', aLo, bLo, bEnd - bLo);
  else if (bLo === bEnd) out.push('delete', aLo, bLo, aEnd - aLo);
  else if (!myers(a, aLo, aEnd, b, bLo, bEnd, maxCost, out)) {
    const found = depth < MAX_DEPTH ? anchors(a, aLo, aEnd, b, bLo, bEnd) : [];
    if (found.length === 0) {
      out.approximate = true;
      out.push('delete', aLo, bLo, aEnd - aLo);
      out.push('insert', aEnd, bLo, bEnd - bLo);
    } else {
      let i = aLo;
      let j = bLo;
      for (const [ai, bj] of found) {
        align(a, i, ai, b, j, bj, maxCost, depth + 1, out);
        out.push('same', ai, bj, 1);
        i = ai + 1;
        j = bj + 1;
      }
      align(a, i, aEnd, b, j, bEnd, maxCost, depth + 1, out);
    }
  }
  out.push('same', aEnd, bEnd, suffix);
}

/**
 * Aligns two sequences of item ids: the shortest edit script (deletions from `a`, insertions from
 * `b`) that turns one into the other, so that one inserted item shifts nothing after it. Exact up to
 * `maxCost` edits per region; past that, regions are split at items unique to both sides, and a
 * region with none is reported whole (`approximate`).
 */
export function alignSequences(a: Int32Array, b: Int32Array, options: AlignOptions = {}): Alignment {
  const out = new RunBuilder();
  align(a, 0, a.length, b, 0, b.length, Math.max(1, options.maxCost ?? DEFAULT_MAX_COST), 0, out);
  return { runs: out.runs, same: out.same, approximate: out.approximate };
}
