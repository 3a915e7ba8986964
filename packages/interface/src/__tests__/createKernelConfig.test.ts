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
});
