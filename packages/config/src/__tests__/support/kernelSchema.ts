import { z } from 'zod';
import {
  LimitsSchema,
  ResourceBudgetsSchema,
  configSecret,
  configSection,
  defaultConfigSections,
  defineConfigSchema,
} from '../../index';

// A kernel-like schema for these tests: config cannot import core or trust (they sit above it),
// so the sections they own are declared here the same way they declare them.
export const testSections = [
  ...defaultConfigSections,
  configSection('mode', z.enum(['enforce', 'audit', 'permissive']).default('enforce'), {
    owner: 'test-core',
  }),
  configSection('limits', LimitsSchema.default(LimitsSchema.parse({})), { owner: 'test-core' }),
  configSection('resources', ResourceBudgetsSchema.default(ResourceBudgetsSchema.parse({})), {
    owner: 'test-core',
  }),
  configSection(
    'db',
    z
      .object({
        password: configSecret().optional(),
        hosts: z.array(z.string().min(1)).max(8).default(['localhost']),
        ratio: z.number().min(0).max(1).default(0.5),
        tls: z.boolean().default(true),
        replica: z.string().nullable().default(null),
      })
      .strict()
      .default({ hosts: ['localhost'], ratio: 0.5, tls: true, replica: null }),
    { owner: 'test-db' },
  ),
] as const;

export const testSchema = defineConfigSchema(testSections);
export type TestConfig = ReturnType<typeof testSchema.parse>;

export const admin = { actor: { id: 'alice', roles: ['admin'] }, reason: 'test' };
export const operator = { actor: { id: 'bob', roles: ['operator'] }, reason: 'test' };
