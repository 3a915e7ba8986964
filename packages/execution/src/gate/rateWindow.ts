import type { Clock } from '@forgeone/common';

/** Bounds on how fast a guest may call the host. */
export interface SyscallRateLimit {
  /** Sustained calls per second. */
  readonly perSecond: number;
  /** Calls allowed in one window of `burst / perSecond` seconds. Default `perSecond`. */
  readonly burst?: number;
}

/**
 * The syscall rate limit as a window: calls are counted down per window and the clock is read once
 * per window, not per call. A guest that uses up a window before it has lasted its length calls
 * too fast.
 */
export class GateRateWindow {
  /** A limit is set (without one the window never closes). */
  readonly limited: boolean;
  /** Calls the current window still allows (hot calls are charged in bulk: `charge`). */
  left = 0;
  readonly #calls: number;
  readonly #ns: bigint;
  readonly #clock: Clock;
  #start = 0n;
  #open = false;

  constructor(limit: SyscallRateLimit | undefined, clock: Clock) {
    this.#clock = clock;
    this.limited = limit !== undefined;
    if (limit !== undefined) {
      if (!(limit.perSecond > 0)) throw new RangeError('rateLimit.perSecond must be > 0');
      this.#calls = Math.max(1, Math.floor(limit.burst ?? limit.perSecond));
      this.#ns = BigInt(Math.ceil((this.#calls / limit.perSecond) * 1e9));
    } else {
      this.#calls = 0;
      this.#ns = 0n;
    }
  }

  /** Counts `calls` made without `admit` (the hot path's). */
  charge(calls: number): void {
    this.left -= calls;
  }

  /**
   * Counts one call: returns undefined when it may go on, or why the guest calls too fast (the
   * window's calls were used up before it ended). A used-up window that has ended starts the next.
   */
  admit(): string | undefined {
    if (!this.limited || --this.left >= 0) return undefined;
    const now = this.#clock.monotonicNs();
    if (this.#open && now - this.#start < this.#ns) {
      const perSecond = this.perSecond;
      return `syscall rate limit: more than ${this.#calls} calls in ${Number(this.#ns) / 1e6} ms (${perSecond}/s)`;
    }
    this.#open = true;
    this.#start = now;
    this.left = this.#calls - 1;
    return undefined;
  }

  /** The limit in calls per second, as enforced (whole windows). */
  get perSecond(): number {
    return this.#ns === 0n ? 0 : Number((BigInt(this.#calls) * 1_000_000_000n) / this.#ns);
  }
}
