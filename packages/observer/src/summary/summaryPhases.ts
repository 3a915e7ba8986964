/** A stretch of a run with one mix of calls. */
export interface Phase {
  from: number;
  to: number;
  calls: number;
  counts: Map<string, number>;
}

/** Calls per window compared with the phase it may belong to. */
const WINDOW = 64;
/** Total variation distance between two mixes past which a window starts a new phase. */
const SHIFT = 0.5;
/** Phases kept while a run streams by: the two most alike neighbours are merged past this. */
const MAX_PHASES = 48;

/** Half the L1 distance between two mixes (0: the same shares, 1: nothing in common). */
function distance(a: Phase, b: Phase): number {
  let sum = 0;
  for (const [name, count] of a.counts)
    sum += Math.abs(count / a.calls - (b.counts.get(name) ?? 0) / b.calls);
  for (const [name, count] of b.counts) if (!a.counts.has(name)) sum += count / b.calls;
  return sum / 2;
}

function merge(into: Phase, from: Phase): void {
  into.to = from.to;
  into.calls += from.calls;
  for (const [name, count] of from.counts) into.counts.set(name, (into.counts.get(name) ?? 0) + count);
}

/**
 * Splits a run into phases as it streams by, in constant memory: calls are gathered in windows of
 * 64; a window whose mix of syscalls is far from its phase's (total variation above one half)
 * starts a new phase, else it joins it. Past 48 phases the two most alike neighbours merge, and
 * `phases(n)` merges down to `n` the same way: what is left are the largest shifts of the run.
 */
export class PhaseTracker {
  readonly #phases: Phase[] = [];
  #window: Phase | undefined;

  add(seq: number, syscall: string): void {
    const window = (this.#window ??= { from: seq, to: seq, calls: 0, counts: new Map() });
    window.to = seq;
    window.calls += 1;
    window.counts.set(syscall, (window.counts.get(syscall) ?? 0) + 1);
    if (window.calls === WINDOW) this.#close();
  }

  #close(): void {
    const window = this.#window;
    this.#window = undefined;
    if (window === undefined) return;
    const last = this.#phases.at(-1);
    if (last !== undefined && distance(last, window) <= SHIFT) merge(last, window);
    else this.#phases.push(window);
    if (this.#phases.length > MAX_PHASES) this.#mergeClosest();
  }

  #mergeClosest(): void {
    let best = 0;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (let i = 0; i + 1 < this.#phases.length; i += 1) {
      const d = distance(this.#phases[i]!, this.#phases[i + 1]!);
      if (d < bestDistance) {
        bestDistance = d;
        best = i;
      }
    }
    merge(this.#phases[best]!, this.#phases[best + 1]!);
    this.#phases.splice(best + 1, 1);
  }

  /** The phases of the run so far, at most `max` of them. */
  phases(max: number): Phase[] {
    this.#close();
    while (this.#phases.length > Math.max(1, max)) this.#mergeClosest();
    return this.#phases;
  }
}
