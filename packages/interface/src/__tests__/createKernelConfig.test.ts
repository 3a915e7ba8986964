import { describe, expect, it } from 'vitest';
import { ConfigContext, defaultConfigSections, defineConfigSchema } from '@forgeone/config';
import { coreConfigPolicies, coreConfigSections } from '@forgeone/core';
import { trustConfigSections } from '@forgeone/trust';
import { createKernel } from '../index';

describe('createKernel({ config: ConfigContext })', () => {
  it('composes the kernel from the context and keeps the plain form working', async () => {
    const schema = defineConfigSchema([
      ...defaultConfigSections,
      ...coreConfigSections,
      ...trustConfigSections,
    ]);
    const context = await ConfigContext.open({
      schema,
      policies: [...coreConfigPolicies],
      initial: { mode: 'audit', limits: { timeoutMs: 321 }, audit: { maxBatch: 8 } },
    });
    const kernel = await createKernel({ config: context });
    expect(kernel.config.mode).toBe('audit');
    expect(kernel.config.limits.timeoutMs).toBe(321);
    expect(kernel.configContext).toBe(context);
    const report = await kernel.runtime.runModule({
      source: new TextEncoder().encode('(module (func (export "_start")))'),
      name: 'empty.wat',
      pdp: { decide: () => ({ action: 'allow', reasons: [] }) },
    });
    expect(report.outcome.status).toBe('returned');
    await kernel.shutdown();

    const plain = await createKernel({ config: { mode: 'permissive' } });
    expect(plain.config.mode).toBe('permissive');
    expect(plain.configContext).toBeUndefined();
    await plain.shutdown();
  });

  it('launches after a change of the live limits take the new ones; a run under way keeps its own', async () => {
    const schema = defineConfigSchema([
      ...defaultConfigSections,
      ...coreConfigSections,
      ...trustConfigSections,
    ]);
    const context = await ConfigContext.open({ schema, policies: [...coreConfigPolicies] });
    const kernel = await createKernel({ config: context });
    // A module that needs 4 pages of memory: allowed at the default limit, refused at 2.
    const source = new TextEncoder().encode('(module (memory 4) (func (export "_start")))');
    const pdp = { decide: () => ({ action: 'allow' as const, reasons: [] }) };
    expect((await kernel.runtime.runModule({ source, pdp })).outcome.status).toBe('returned');
    await context.set('limits.memoryPages', 2, { actor: { id: 'ops', roles: ['admin'] }, reason: 'tighten' });
    expect(kernel.config.limits.memoryPages).toBe(2);
    expect(kernel.runtime.limits.memoryPages).toBe(2);
    await expect(kernel.runtime.runModule({ source, pdp })).rejects.toMatchObject({
      code: 'FORGE_LIMIT_MEMORY',
    });
    // A refused change (over the resource budget) changes nothing in the kernel.
    await expect(
      context.set('limits.memoryPages', 10_000_000, { actor: { id: 'ops', roles: ['admin'] }, reason: 'x' }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^FORGE_CONFIG_/) });
    expect(kernel.runtime.limits.memoryPages).toBe(2);
    await kernel.shutdown();
  });
});
