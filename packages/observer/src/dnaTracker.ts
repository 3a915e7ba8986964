import { emptyExecutionDna, type ExecutionDNA } from '@forgeone/common';

/** Per-syscall counters: its calls, and the calls that followed it, each a mutable counter. */
interface SyscallStats {
  readonly syscall: string;
  count: number;
  readonly next: Map<string, { n: number }>;
  // The transition seen last from here: a loop calling the same pair skips the map lookup.
  lastTo: string | undefined;
  lastCounter: { n: number } | undefined;
}

/** A handle on one syscall's counters, for callers that observe it often (the syscall gate). */
export interface DnaSlot {
  readonly syscall: string;
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
  // Plain numbers (not `number | null`): a double stored into a field that may hold null is boxed
  // on every store, an allocation per call on the hot path. Meaningful once #total > 0.
  #firstSeen = 0;
  #lastSeen = 0;
  #now = 0;

  constructor(readonly containerId: string) {}

  /** Records one call. */
  observe(syscall: string, denied: boolean, time: number): void {
    this.stamp(time);
    this.observeSlot(this.slot(syscall), denied);
  }

  /** Sets the time the next observed calls happened at (ms since the epoch), until stamped again. */
  stamp(time: number): void {
    this.#now = time;
  }

  /** The counters of one syscall (created on first use), for `observeSlot`. */
  slot(syscall: string): DnaSlot {
    let stats = this.#stats.get(syscall);
    if (stats === undefined) {
      stats = { syscall, count: 0, next: new Map(), lastTo: undefined, lastCounter: undefined };
      this.#stats.set(syscall, stats);
    }
    return stats;
  }

  /**
   * Records one call of the slot's syscall, at the time last given to `stamp`; the slot must come
   * from this tracker's `slot`.
   */
  observeSlot(slot: DnaSlot, denied: boolean): void {
    const stats = slot as SyscallStats;
    const syscall = stats.syscall;
    stats.count += 1;
    const previous = this.#lastStats;
    if (previous !== undefined) {
      if (previous.lastTo === syscall) previous.lastCounter!.n += 1;
      else {
        let counter = previous.next.get(syscall);
        if (counter === undefined) {
          counter = { n: 1 };
          previous.next.set(syscall, counter);
        } else counter.n += 1;
        previous.lastTo = syscall;
        previous.lastCounter = counter;
      }
    }
    this.#lastStats = stats;
    this.#last = syscall;
    this.#total += 1;
    if (denied) this.#denied += 1;
    if (this.#total === 1) this.#firstSeen = this.#now;
    this.#lastSeen = this.#now;
  }

  /** A JSON-safe copy of the profile as it stands. */
  snapshot(): ExecutionDNA {
    if (this.#total === 0) return emptyExecutionDna(this.containerId);
    const syscallCounts: Record<string, number> = {};
    const transitions: Record<string, number> = {};
    for (const [from, stats] of this.#stats) {
      if (stats.count === 0) continue; // a slot taken but never observed
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
