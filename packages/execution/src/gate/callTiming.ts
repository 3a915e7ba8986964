import type { Clock } from '@forgeone/common';
import type { CallRecorder } from '@forgeone/observer';
import type { GateSlot } from './gateSlot';

/**
 * A syscall whose timed call took at least this long is timed on every call: reading the clocks
 * costs it only a few percent.
 */
export const SLOW_CALL_NS = 5_000;
export const DEFAULT_DURATION_SAMPLING = 128;

/** A clock with a coarse wall time. */
export interface CoarseClock {
  coarseNow(): number;
}

/**
 * Call timing, sampled: one call in every N (across the guest's calls) reads the clocks and records
 * its host duration; the calls between record -1. A syscall's first call, one whose last timed call
 * took {@link SLOW_CALL_NS} or more, one that may block and one that is not allowed are timed every
 * time (a clock read, ~30–200 ns, costs more than a fast call). Also keeps the wall time calls are
 * stamped with: fresh on every call with a coarse clock, else read on timed calls.
 */
export class GateCallTiming {
  /** The wall time (ms since the epoch) calls are stamped with now. */
  time = 0;
  /** The clock, when it has a coarse wall time (a memory read): called as a method, so that it inlines. */
  readonly coarse: CoarseClock | undefined;
  readonly #clock: Clock;
  readonly #recorder: CallRecorder;
  readonly #sampling: number;
  /** Calls before the next timed one (hot calls are charged in bulk: `charge`). */
  #untilTimed = 0;

  constructor(clock: Clock, recorder: CallRecorder, sampling = DEFAULT_DURATION_SAMPLING) {
    this.#clock = clock;
    this.#recorder = recorder;
    this.coarse = clock.coarseNow === undefined ? undefined : (clock as CoarseClock);
    this.#sampling = Math.max(1, Math.floor(sampling));
  }

  /** Calls that may go untimed from now on. */
  get untilTimed(): number {
    return this.#untilTimed;
  }

  /** Counts `calls` made untimed without `isTimed` (the hot path's). */
  charge(calls: number): void {
    this.#untilTimed -= calls;
  }

  /** With a coarse clock: the calls from now on are stamped with its current time. */
  refresh(): void {
    const coarse = this.coarse;
    if (coarse === undefined) return;
    const now = coarse.coarseNow();
    if (now !== this.time) this.stamp(now);
  }

  /** The wall time of the calls from now on (trace and DNA). */
  stamp(now: number): void {
    this.time = now;
    this.#recorder.stamp(now);
  }

  /** Counts one call: whether it is timed. */
  isTimed(slot: GateSlot): boolean {
    return --this.#untilTimed < 0 || slot.timedEveryCall;
  }

  /** The next call is timed (after a call that may block, or one not allowed). */
  timeNext(): void {
    this.#untilTimed = 0;
  }

  /** Starts timing a call (without a coarse clock, also reads the wall time): the start. */
  start(): bigint {
    this.#untilTimed = this.#sampling - 1;
    if (this.coarse === undefined) this.stamp(this.#clock.now());
    return this.#clock.monotonicNs();
  }

  /** The duration of a call timed from `started`; decides whether the slot's calls are all timed. */
  stop(slot: GateSlot, started: bigint): number {
    const durationNs = Number(this.#clock.monotonicNs() - started);
    slot.timedEveryCall = slot.definition.blocking === true || durationNs >= SLOW_CALL_NS;
    slot.update();
    return durationNs;
  }
}
