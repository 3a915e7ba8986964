import { z } from 'zod';
import {
  LimitsSchema,
  ResourceBudgetsSchema,
  StorageConfigSchema,
  configSection,
  type ChangePolicy,
} from '@forgeone/config';

const OWNER = '@forgeone/core';

/** The kernel's enforcement mode. */
export const modeConfigSection = configSection(
  'mode',
  z.enum(['enforce', 'audit', 'permissive']).default('enforce'),
  { owner: OWNER },
);
/** Per-container limits every launch gets unless it asks for less. */
export const limitsConfigSection = configSection('limits', LimitsSchema.default(LimitsSchema.parse({})), {
  owner: OWNER,
});
/** The resource manager's kernel-wide budgets. */
export const resourcesConfigSection = configSection(
  'resources',
  ResourceBudgetsSchema.default(ResourceBudgetsSchema.parse({})),
  { owner: OWNER },
);
/** Where the kernel keeps durable state. */
export const storageConfigSection = configSection(
  'storage',
  StorageConfigSchema.default({ kind: 'memory' }),
  { owner: OWNER },
);

/** The configuration sections @forgeone/core owns. */
export const coreConfigSections = [
  modeConfigSection,
  limitsConfigSection,
  resourcesConfigSection,
  storageConfigSection,
] as const;

/** What core's policies read: any configuration with core's sections in it. */
type CoreShape = Record<string, unknown> & {
  readonly limits: { readonly memoryPages: number };
  readonly resources: { readonly memoryPages: number };
};

/**
 * A container's memory limit may not exceed the resource manager's whole budget: a launch
 * reserves its whole limit, so such a limit would make every launch fail.
 */
export const memoryWithinBudgetPolicy: ChangePolicy<CoreShape> = {
  name: 'core: limits.memoryPages <= resources.memoryPages',
  check({ after }) {
    const { memoryPages } = after.limits;
    const budget = after.resources.memoryPages;
    return (
      memoryPages <= budget ||
      `limits.memoryPages ${memoryPages} exceeds the resource budget resources.memoryPages ${budget}`
    );
  },
};

/** The change policies @forgeone/core registers on a kernel configuration. */
export const coreConfigPolicies: readonly ChangePolicy<CoreShape>[] = [memoryWithinBudgetPolicy];
