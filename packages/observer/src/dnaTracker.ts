import { emptyExecutionDna, type ExecutionDNA } from '@forgeone/common';

/** Per-syscall counters: its calls, and the calls that followed it, each a mutable counter. */
interface SyscallStats {
  count: number;
  readonly next: Map<string, { n: number }>;
}

/**
 * Keeps one container's execution DNA up to date, one call at a time. O(1) per call — two map
 * lookups and no allocation once a transition has been seen — so it can sit on the syscall hot path.
 */
export class DnaTracker {
  readonly #stats = new Map<string, SyscallStats>();
  #lastStats: SyscallStats | undefined;
  #total = 0;
  #denied = 0;
  #last: string | null = null;
  #firstSeen: number | null = null;
  #lastSeen: number | null = null;

  constructor(readonly containerId: string) {}

  /** Records one call. */
  observe(syscall: string, denied: boolean, time: number): void {
    let stats = this.#stats.get(syscall);
    if (stats === undefined) {
      stats = { count: 0, next: new Map() };
      this.#stats.set(syscall, stats);
    }
    stats.count += 1;
    const previous = this.#lastStats;
    if (previous !== undefined) {
      const counter = previous.next.get(syscall);
      if (counter === undefined) previous.next.set(syscall, { n: 1 });
      else counter.n += 1;
    }
    this.#lastStats = stats;
    this.#last = syscall;
    this.#total += 1;
    if (denied) this.#denied += 1;
    this.#firstSeen ??= time;
    this.#lastSeen = time;
  }

  /** A JSON-safe copy of the profile as it stands. */
  snapshot(): ExecutionDNA {
    if (this.#total === 0) return emptyExecutionDna(this.containerId);
    const syscallCounts: Record<string, number> = {};
    const transitions: Record<string, number> = {};
    for (const [from, stats] of this.#stats) {
      syscallCounts[from] = stats.count;
      for (const [to, counter] of stats.next) transitions[`${from}>${to}`] = counter.n;
    }
    return {
      containerId: this.containerId,
      syscallCounts,
      transitions,
      totalCalls: this.#total,
      deniedCalls: this.#denied,
      lastSyscall: this.#last,
      firstSeen: this.#firstSeen,
      lastSeen: this.#lastSeen,
    };
  }
}
