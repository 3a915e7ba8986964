import { describe, expect, it } from 'vitest';
import { ForgeError } from '@forgeone/common';
import { defaultRuntimeConfig, parseRuntimeConfig } from '../index';

describe('runtime config', () => {
  it('fills every default', () => {
    expect(defaultRuntimeConfig()).toEqual({
      mode: 'enforce',
      limits: { timeoutMs: 1000, memoryPages: 256, maxModuleBytes: 64 * 1024 * 1024 },
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
    expect(config.limits).toEqual({ timeoutMs: 50, memoryPages: 256, maxModuleBytes: 64 * 1024 * 1024 });
    expect(config.storage).toEqual({ kind: 'sqlite', path: '/tmp/x.db' });
  });

  it('refuses bad values with a coded error naming the path', () => {
    const cases: Array<[unknown, string]> = [
      [{ mode: 'yolo' }, 'mode'],
      [{ limits: { memoryPages: 0 } }, 'limits.memoryPages'],
      [{ limits: { timeoutMs: '5' } }, 'limits.timeoutMs'],
      [{ storage: { kind: 'sqlite' } }, 'storage.path'],
      [{ unknownField: 1 }, '(root)'],
    ];
    for (const [input, path] of cases) {
      try {
        parseRuntimeConfig(input);
        expect.unreachable(JSON.stringify(input));
      } catch (error) {
        expect(error).toBeInstanceOf(ForgeError);
        expect((error as ForgeError).code).toBe('FORGE_CONFIG_INVALID');
        expect((error as ForgeError).message).toContain(path);
      }
    }
  });
});
