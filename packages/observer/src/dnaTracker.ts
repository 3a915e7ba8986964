import type { ExecutionDNA } from '@forgeone/common';
import { DnaCounts } from './internal/dnaCounts';

const counts = new WeakMap<DnaTracker, DnaCounts>();

/**
 * One container's execution DNA: which syscalls it calls, how often, in what order. It learns only
 * through the calls a {@link CallRecorder} records (the one way in); read it with `snapshot`.
 */
export class DnaTracker {
  readonly #counts: DnaCounts;

  constructor(readonly containerId: string) {
    this.#counts = new DnaCounts(containerId);
    counts.set(this, this.#counts);
  }

  /**
   * Goes on from a profile captured earlier (a restored snapshot's); only before any call was
   * observed (RangeError otherwise, or for a profile that names an unknown syscall in a transition).
   */
  restore(dna: ExecutionDNA): void {
    this.#counts.load(dna);
  }

  /** A JSON-safe copy of the profile as it stands. */
  snapshot(): ExecutionDNA {
    return this.#counts.snapshot();
  }
}

/** The counters a tracker learns into (observer-internal: CallRecorder's way in). */
export function dnaCountsOf(tracker: DnaTracker): DnaCounts {
  const found = counts.get(tracker);
  if (found === undefined) throw new TypeError('not a DnaTracker');
  return found;
}
