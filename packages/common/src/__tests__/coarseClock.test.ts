import { describe, expect, it } from 'vitest';
import { COARSE_CLOCK_TICK_MS, ManualClock, coarseClockBuffer, coarseNow, systemClock } from '../index';

describe('coarseNow', () => {
  it('follows the wall clock within a few ticks, without a clock read of its own', async () => {
    const lags: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const coarse = coarseNow(); // read first: the wall clock read after it is never behind it
      lags.push(Date.now() - coarse);
    }
    // The ticker thread refreshes it every tick; a loaded CI machine may delay a tick, never stop it.
    expect(lags.every((lag) => lag >= -1)).toBe(true);
    expect(Math.min(...lags)).toBeLessThanOrEqual(5 * COARSE_CLOCK_TICK_MS + 5);
    // It moves while this thread is busy: the ticker is another thread.
    const before = coarseNow();
    const until = Date.now() + 30;
    while (Date.now() < until) {
      /* busy: no event loop turn here */
    }
    expect(coarseNow()).toBeGreaterThan(before);
  });

  it('is served by a ticker thread that runs: its word holds a time, not the Date.now() fallback', async () => {
    coarseNow();
    const word = new Float64Array(coarseClockBuffer());
    // A thread takes milliseconds to start; a ticker that dies at start (as one with too small a
    // heap did) leaves the word NaN for good, and every read pays for a wall-clock read.
    for (let waited = 0; Number.isNaN(word[0]) && waited < 5_000; waited += 10)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const first = word[0]!;
    expect(Number.isNaN(first)).toBe(false);
    expect(Math.abs(Date.now() - first)).toBeLessThan(1_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(word[0]).toBeGreaterThan(first);
    // coarseNow reads the word (which may tick between these reads), not the wall clock.
    const before = word[0]!;
    const now = coarseNow();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(word[0]!);
  });

  it('is the system clock coarseNow, and a manual clock has no lag', () => {
    expect(systemClock.coarseNow).toBe(coarseNow);
    const clock = new ManualClock(1_000);
    clock.advance(5);
    expect(clock.coarseNow()).toBe(clock.now());
  });
});
