import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../index';

describe('ManualClock', () => {
  it('stands still until told to move', () => {
    const clock = new ManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    expect(clock.monotonicNs()).toBe(0n);
    expect(new ManualClock().now()).toBe(0);
  });

  it('advances wall and monotonic time together', () => {
    const clock = new ManualClock(1_000);
    clock.advance(1.5);
    clock.advance(0);
    expect(clock.now()).toBe(1_001.5);
    expect(clock.monotonicNs()).toBe(1_500_000n);
  });

  it('sets only the wall clock, which may go backwards', () => {
    const clock = new ManualClock(1_000);
    clock.advance(10);
    clock.set(5);
    expect(clock.now()).toBe(5);
    expect(clock.monotonicNs()).toBe(10_000_000n);
  });

  it('refuses to go backwards or by a non-finite amount', () => {
    const clock = new ManualClock(1_000);
    for (const bad of [-1, Number.NaN, Infinity]) expect(() => clock.advance(bad)).toThrow(RangeError);
    expect(clock.now()).toBe(1_000);
  });
});

describe('systemClock', () => {
  it('reads the real wall clock and a monotonic counter', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
    const a = systemClock.monotonicNs();
    const b = systemClock.monotonicNs();
    expect(typeof a).toBe('bigint');
    expect(b >= a).toBe(true);
  });
});
