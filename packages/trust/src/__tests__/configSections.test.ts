import { describe, expect, it } from 'vitest';
import { ConfigContext, defineConfigSchema } from '@forgeone/config';
import { DEFAULT_AUDIT_LOG, trustConfigSections } from '../index';

describe("trust's configuration section", () => {
  it('defaults the audit log settings and refuses a bad log name or batch', async () => {
    const schema = defineConfigSchema(trustConfigSections);
    const ctx = await ConfigContext.open({ schema });
    expect(ctx.get('audit')).toEqual({ log: DEFAULT_AUDIT_LOG, maxBatch: 256, maxDelayMs: 50 });
    const meta = { actor: { id: 'ops', roles: [] }, reason: 'test' };
    await expect(ctx.set('audit.log', '../escape', meta)).rejects.toMatchObject({
      code: 'FORGE_CONFIG_INVALID',
    });
    await expect(ctx.set('audit.maxBatch', 0, meta)).rejects.toMatchObject({ code: 'FORGE_CONFIG_INVALID' });
    await ctx.set('audit.maxBatch', 32, meta);
    expect(ctx.get('audit.maxBatch')).toBe(32);
  });
});
