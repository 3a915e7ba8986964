import { describe, expect, it } from 'vitest';
import { ConfigContext, defaultConfigSections, defineConfigSchema } from '@forgeone/config';
import { coreConfigPolicies, coreConfigSections } from '../index';

const schema = defineConfigSchema([...defaultConfigSections, ...coreConfigSections]);
const admin = { actor: { id: 'alice', roles: ['admin'] }, reason: 'test' };

describe("core's configuration sections", () => {
  it('give the kernel defaults and keep a memory limit within the resource budget', async () => {
    const ctx = await ConfigContext.open({
      schema,
      policies: [...coreConfigPolicies],
      initial: { resources: { memoryPages: 512 } },
    });
    expect(ctx.get('mode')).toBe('enforce');
    expect(ctx.get('limits.memoryPages')).toBe(256);
    expect(ctx.get('storage')).toEqual({ kind: 'memory' });
    await expect(ctx.set('limits.memoryPages', 1024, admin)).rejects.toMatchObject({
      code: 'FORGE_CONFIG_CHANGE_REFUSED',
      details: { rule: 'core: limits.memoryPages <= resources.memoryPages' },
    });
    await ctx.replace({ resources: { memoryPages: 2048 }, limits: { memoryPages: 1024 } }, admin);
    expect(ctx.get('limits.memoryPages')).toBe(1024);
  });
});
