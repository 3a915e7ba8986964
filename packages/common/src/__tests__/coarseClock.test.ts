import { describe, expect, it } from 'vitest';
import { COARSE_CLOCK_TICK_MS, ManualClock, coarseNow, systemClock } from '../index';

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

  it('is the system clock coarseNow, and a manual clock has no lag', () => {
    expect(systemClock.coarseNow).toBe(coarseNow);
    const clock = new ManualClock(1_000);
    clock.advance(5);
    expect(clock.coarseNow()).toBe(clock.now());
  });
});
