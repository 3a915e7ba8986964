import { INITIAL_COUNTDOWN } from './wasmCodeRewrite';

/** How often the meter aims to read the clock while a guest runs, in ms. */
export const METER_TARGET_MS = 0.25;
const MIN_RELOAD = 64;
const MAX_RELOAD = 1 << 24;

/**
 * The host side of deadline metering (`rewriteModuleCode` with `meterDeadline`): the guest's code
 * counts down at every function entry and loop header and calls `tick` when the count runs out;
 * `tick` reads the clock, answers 0 (the guest traps at once) past the deadline, and otherwise the
 * next countdown, tuned so that checks come about every METER_TARGET_MS whatever the code does.
 *
 * `arm` sets a call's deadline without reading the clock: the clock starts at the call's first
 * check (a tick, or `start` from the host, e.g. at the guest's first syscall), so a call that never
 * checks costs nothing, and one that runs long is stopped within about two check periods of its
 * deadline. One meter per instance; not shared between instances (each has its own countdown).
 */
export class DeadlineMeter {
  #budgetMs = Number.POSITIVE_INFINITY;
  /** performance.now() past which the call stops; NaN until the call's clock starts. */
  #deadline = Number.POSITIVE_INFINITY;
  /** When the last check of this call ran; 0 before the first. */
  #last = 0;
  #reload = INITIAL_COUNTDOWN;
  #timeoutMs: number | undefined;
  #expired = false;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The deadline of the next call, in ms from its start (undefined or Infinity: none). */
  arm(timeoutMs: number | undefined): void {
    this.#timeoutMs = timeoutMs;
    this.#expired = false;
    this.#last = 0;
    if (timeoutMs === undefined || timeoutMs === Number.POSITIVE_INFINITY) {
      this.#deadline = Number.POSITIVE_INFINITY;
      return;
    }
    // NaN (no sensible deadline was given) gets the shortest one rather than none.
    this.#budgetMs = Number.isNaN(timeoutMs) ? 1 : Math.max(0, timeoutMs);
    this.#deadline = Number.NaN;
  }

  /** Starts the armed call's clock now, if no check has started it. */
  start(): void {
    if (Number.isNaN(this.#deadline)) this.#deadline = this.#now() + this.#budgetMs;
  }

  /** The deadline the armed call had, ms. */
  get timeoutMs(): number | undefined {
    return this.#timeoutMs;
  }

  /** The armed call was stopped at its deadline (by a tick or `pastDeadline`). */
  get expired(): boolean {
    return this.#expired;
  }

  /** Reads the clock: true (and the call counts as stopped) when the armed call is past its deadline. */
  pastDeadline(): boolean {
    if (this.#expired) return true;
    this.start();
    if (this.#now() > this.#deadline) this.#expired = true;
    return this.#expired;
  }

  /** The guest's check: 0 to stop it, else its next countdown. Bound: the host table holds it as is. */
  readonly tick = (): number => {
    const now = this.#now();
    if (Number.isNaN(this.#deadline)) this.#deadline = now + this.#budgetMs;
    else if (now > this.#deadline) {
      this.#expired = true;
      return 0;
    }
    const last = this.#last;
    this.#last = now;
    if (last !== 0) {
      const elapsed = now - last;
      if (elapsed < METER_TARGET_MS / 2) this.#reload = Math.min(MAX_RELOAD, this.#reload * 2);
      else if (elapsed > METER_TARGET_MS * 2) this.#reload = Math.max(MIN_RELOAD, this.#reload >> 2);
    }
    return this.#reload;
  };
}
