import { describe, expect, it } from 'vitest';
import {
  containerLimitNames,
  defaultContainerLimits,
  defaultRuntimeConfig,
  limitBounds,
  limitsProblem,
  resolveLimits,
} from '../index';

describe('container limits', () => {
  it('are the defaults of the kernel configuration', () => {
    const { limits } = defaultRuntimeConfig();
    expect(limits.timeoutMs).toBe(defaultContainerLimits.timeoutMs);
    expect(limits.memoryPages).toBe(defaultContainerLimits.memoryPages);
    expect(limits.maxModuleBytes).toBe(defaultContainerLimits.maxModuleBytes);
    expect(limitBounds.memoryPages.max).toBe(65_536);
    // Every limit is part of the kernel's configuration, with its default.
    expect(limits).toEqual(defaultContainerLimits);
  });

  it('each have bounds that hold their default', () => {
    expect(Object.keys(limitBounds).sort()).toEqual([...containerLimitNames].sort());
    for (const name of containerLimitNames) {
      const { min, max } = limitBounds[name];
      expect(defaultContainerLimits[name]).toBeGreaterThanOrEqual(min);
      expect(defaultContainerLimits[name]).toBeLessThanOrEqual(max);
    }
    expect(limitsProblem(defaultContainerLimits)).toBeUndefined();
  });

  it('are refused out of bounds, as non-integers, and a burst without a rate', () => {
    expect(limitsProblem({ syscallsPerSecond: -1 })?.limit).toBe('syscallsPerSecond');
    expect(limitsProblem({ maxOpenFds: 2.5 })?.limit).toBe('maxOpenFds');
    expect(limitsProblem({ fuel: Number.NaN })?.limit).toBe('fuel');
    expect(limitsProblem({ syscallBurst: 5, syscallsPerSecond: 0 })).toEqual({
      limit: 'syscallBurst',
      problem: expect.stringMatching(/needs a syscall rate/) as unknown as string,
    });
    expect(limitsProblem({ syscallBurst: 5 })).toBeUndefined();
    expect(limitsProblem({ syscallBurst: 0, syscallsPerSecond: 0 })).toBeUndefined();
  });

  it('take overrides by name, keep defaults for undefined ones, and read the deprecated maxMemoryPages', () => {
    expect(resolveLimits(defaultContainerLimits, { timeoutMs: 5 })).toEqual({
      ...defaultContainerLimits,
      timeoutMs: 5,
    });
    expect(resolveLimits(defaultContainerLimits, { maxMemoryPages: 4 }).memoryPages).toBe(4);
    expect(resolveLimits(defaultContainerLimits, { maxMemoryPages: 4, memoryPages: 8 }).memoryPages).toBe(8);
    expect(resolveLimits(defaultContainerLimits, { maxMemoryPages: 4 })).not.toHaveProperty('maxMemoryPages');
  });
});
