import { describe, expect, it } from 'vitest';
import { adoptCoarseClock, coarseNow } from '../index';

// Its own file: adopting works only before this thread's coarse clock is first read.
describe('adoptCoarseClock', () => {
  it("reads another thread's clock word: the wall clock until its first tick and after it stops", () => {
    const fresh = () => {
      const before = Date.now();
      const now = coarseNow();
      expect(now).toBeGreaterThanOrEqual(before);
      expect(now).toBeLessThanOrEqual(Date.now());
    };
    adoptCoarseClock(new ArrayBuffer(8)); // not shared: ignored
    adoptCoarseClock(new SharedArrayBuffer(16)); // not one word: ignored
    adoptCoarseClock('a clock'); // ignored
    const word = new Float64Array(new SharedArrayBuffer(8));
    word[0] = Number.NaN; // the owner's ticker has not ticked yet
    adoptCoarseClock(word.buffer);
    fresh();
    word[0] = 1_234_567; // first tick
    expect(coarseNow()).toBe(1_234_567);
    word[0] = 1_234_568;
    expect(coarseNow()).toBe(1_234_568);
    // Adopted once: another word is ignored.
    adoptCoarseClock(new Float64Array(new SharedArrayBuffer(8)).buffer);
    expect(coarseNow()).toBe(1_234_568);
    // The owner's ticker stopped (the owner writes NaN): the wall clock from then on.
    word[0] = Number.NaN;
    fresh();
    fresh();
  });
});
