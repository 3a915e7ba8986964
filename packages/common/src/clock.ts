import { coarseNow } from './coarseClock';
/**
 * Time as the kernel sees it. Injected everywhere instead of `Date.now()`, so tests and replay
 * control it.
 */
export interface Clock {
  /** Wall-clock time in milliseconds since the Unix epoch. */
  now(): number;
  /** Monotonic time in nanoseconds, for durations; never goes backwards. */
  monotonicNs(): bigint;
  /**
   * `now()` as of a millisecond or two ago, read in a nanosecond or two: for hot paths that stamp
   * every event. Optional: without it, callers read `now()` less often instead.
   */
  coarseNow?(): number;
}

/** The real clock. Its `coarseNow` is refreshed by a ticker thread (started on first use). */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonicNs: () => process.hrtime.bigint(),
  coarseNow,
};

/** A clock that moves only when told to; for tests and deterministic replay. */
export class ManualClock implements Clock {
  #wallMs: number;
  #monoNs: bigint;

  constructor(startMs = 0) {
    this.#wallMs = startMs;
    this.#monoNs = 0n;
  }

  now(): number {
    return this.#wallMs;
  }

  /** Exactly `now()`: a manual clock has no lag. */
  coarseNow(): number {
    return this.#wallMs;
  }

  monotonicNs(): bigint {
    return this.#monoNs;
  }

  /** Moves both clocks forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('ManualClock.advance takes a finite ms >= 0');
    this.#wallMs += ms;
    this.#monoNs += BigInt(Math.round(ms * 1e6));
  }

  /** Sets the wall clock (the monotonic clock is unaffected, as on a real machine). */
  set(wallMs: number): void {
    this.#wallMs = wallMs;
  }
}
