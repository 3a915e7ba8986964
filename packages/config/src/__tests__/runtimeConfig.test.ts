import { describe, expect, it } from 'vitest';
import { ForgeError } from '@forgeone/common';
import { defaultRuntimeConfig, parseRuntimeConfig } from '../index';

describe('runtime config', () => {
  it('fills every default', () => {
    expect(defaultRuntimeConfig()).toEqual({
      mode: 'enforce',
      limits: {
        timeoutMs: 1000,
        memoryPages: 256,
        maxModuleBytes: 64 * 1024 * 1024,
        maxImports: 1024,
        maxTableElements: 65_536,
        syscallsPerSecond: 2_000_000,
        syscallBurst: 0,
        maxOpenFds: 1024,
        fuel: 0,
      },
      resources: { memoryPages: 16_384, workers: 32, containersPerIdentity: 64, cpuMs: 0 },
      storage: { kind: 'memory' },
      log: { level: 'warn' },
    });
  });

  it('keeps given values and fills the rest', () => {
    const config = parseRuntimeConfig({
      mode: 'audit',
      limits: { timeoutMs: 50 },
      storage: { kind: 'sqlite', path: '/tmp/x.db' },
    });
    expect(config.mode).toBe('audit');
    expect(config.limits).toEqual({ ...defaultRuntimeConfig().limits, timeoutMs: 50 });
    expect(config.limits.memoryPages).toBe(256);
    expect(config.storage).toEqual({ kind: 'sqlite', path: '/tmp/x.db' });
  });

  it('refuses bad values with a coded error naming the path', () => {
    const cases: Array<[unknown, string]> = [
      [{ mode: 'yolo' }, 'mode'],
      [{ limits: { memoryPages: 0 } }, 'limits.memoryPages'],
      [{ limits: { timeoutMs: '5' } }, 'limits.timeoutMs'],
      [{ storage: { kind: 'sqlite' } }, 'storage.path'],
      [{ unknownField: 1 }, '(root)'],
      [{ limits: { syscallsPerSecond: -1 } }, 'limits.syscallsPerSecond'],
      [{ limits: { syscallsPerSecond: 1.5 } }, 'limits.syscallsPerSecond'],
      [{ limits: { syscallBurst: 10, syscallsPerSecond: 0 } }, 'limits.syscallBurst'],
      [{ limits: { maxOpenFds: 3 } }, 'limits.maxOpenFds'],
      [{ limits: { maxImports: 100_001 } }, 'limits.maxImports'],
      [{ limits: { maxTableElements: -1 } }, 'limits.maxTableElements'],
      [{ limits: { fuel: -5 } }, 'limits.fuel'],
      [{ limits: { rate: 5 } }, 'limits'],
      [{ resources: { memoryPages: 0 } }, 'resources.memoryPages'],
      [{ resources: { workers: 5000 } }, 'resources.workers'],
      [{ resources: { containersPerIdentity: 0.5 } }, 'resources.containersPerIdentity'],
      [{ resources: { cpuMs: -1 } }, 'resources.cpuMs'],
      [{ resources: { tokens: 1 } }, 'resources'],
    ];
    for (const [input, path] of cases) {
      try {
        parseRuntimeConfig(input);
        expect.unreachable(JSON.stringify(input));
      } catch (error) {
        expect(error).toBeInstanceOf(ForgeError);
        expect((error as ForgeError).code).toBe('FORGE_CONFIG_INVALID');
        expect((error as ForgeError).message).toContain(`at ${path}`);
      }
    }
  });
});
