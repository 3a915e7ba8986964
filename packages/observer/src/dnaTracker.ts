import { emptyExecutionDna, type ExecutionDNA } from '@forgeone/common';

/**
 * Keeps one container's execution DNA up to date, one call at a time. O(1) per call: two map
 * increments and a few assignments, so it can sit on the syscall hot path.
 */
export class DnaTracker {
  readonly #counts = new Map<string, number>();
  readonly #transitions = new Map<string, number>();
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
      const key = `${this.#last}>${syscall}`;
      this.#transitions.set(key, (this.#transitions.get(key) ?? 0) + 1);
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
    return {
      containerId: this.containerId,
      syscallCounts: Object.fromEntries(this.#counts),
      transitions: Object.fromEntries(this.#transitions),
      totalCalls: this.#total,
      deniedCalls: this.#denied,
      lastSyscall: this.#last,
      firstSeen: this.#firstSeen,
      lastSeen: this.#lastSeen,
    };
  }
}
