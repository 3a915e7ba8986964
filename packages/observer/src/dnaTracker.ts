import { emptyExecutionDna, type ExecutionDNA } from '@forgeone/common';

/**
 * Keeps one container's execution DNA up to date, one call at a time. O(1) per call and no
 * allocation once a transition has been seen, so it can sit on the syscall hot path.
 */
export class DnaTracker {
  readonly #counts = new Map<string, number>();
  // from -> to -> count; nested so that a call does not build an `a>b` key string.
  readonly #transitions = new Map<string, Map<string, number>>();
  #total = 0;
  #denied = 0;
  #last: string | null = null;
  #firstSeen: number | null = null;
  #lastSeen: number | null = null;

  constructor(readonly containerId: string) {}

  /** Records one call. */
  observe(syscall: string, denied: boolean, time: number): void {
    this.#counts.set(syscall, (this.#counts.get(syscall) ?? 0) + 1);
    if (this.#last !== null) {
      let from = this.#transitions.get(this.#last);
      if (from === undefined) {
        from = new Map();
        this.#transitions.set(this.#last, from);
      }
      from.set(syscall, (from.get(syscall) ?? 0) + 1);
    }
    this.#last = syscall;
    this.#total += 1;
    if (denied) this.#denied += 1;
    this.#firstSeen ??= time;
    this.#lastSeen = time;
  }

  /** A JSON-safe copy of the profile as it stands. */
  snapshot(): ExecutionDNA {
    if (this.#total === 0) return emptyExecutionDna(this.containerId);
    const transitions: Record<string, number> = {};
    for (const [from, targets] of this.#transitions) {
      for (const [to, count] of targets) transitions[`${from}>${to}`] = count;
    }
    return {
      containerId: this.containerId,
      syscallCounts: Object.fromEntries(this.#counts),
      transitions,
      totalCalls: this.#total,
      deniedCalls: this.#denied,
      lastSyscall: this.#last,
      firstSeen: this.#firstSeen,
      lastSeen: this.#lastSeen,
    };
  }
}
