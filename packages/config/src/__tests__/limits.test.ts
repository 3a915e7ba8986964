import { describe, expect, it } from 'vitest';
import { defaultContainerLimits, defaultRuntimeConfig, limitBounds, resolveLimits } from '../index';

describe('container limits', () => {
  it('are the defaults of the kernel configuration', () => {
    const { limits } = defaultRuntimeConfig();
    expect(limits.timeoutMs).toBe(defaultContainerLimits.timeoutMs);
    expect(limits.memoryPages).toBe(defaultContainerLimits.memoryPages);
    expect(limits.maxModuleBytes).toBe(defaultContainerLimits.maxModuleBytes);
    expect(limitBounds.memoryPages.max).toBe(65_536);
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
