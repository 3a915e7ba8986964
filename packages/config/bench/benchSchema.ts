import { z } from 'zod';
import {
  LimitsSchema,
  ResourceBudgetsSchema,
  configSection,
  defaultConfigSections,
  defineConfigSchema,
} from '../src/index';

/**
 * A kernel-like schema for the benches: config cannot import core, which owns these sections, so
 * they are declared here the way core declares them.
 */
export const benchSchema = defineConfigSchema([
  ...defaultConfigSections,
  configSection('mode', z.enum(['enforce', 'audit', 'permissive']).default('enforce'), { owner: 'bench' }),
  configSection('limits', LimitsSchema.default(LimitsSchema.parse({})), { owner: 'bench' }),
  configSection('resources', ResourceBudgetsSchema.default(ResourceBudgetsSchema.parse({})), {
    owner: 'bench',
  }),
] as const);
