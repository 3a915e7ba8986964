import { z } from 'zod';
import { parseWith } from '@forgeone/common';

/** Limits applied to each container unless a launch overrides them. */
export const LimitsSchema = z
  .object({
    /** Wall-clock deadline per guest call, ms. */
    timeoutMs: z.number().int().min(1).max(3_600_000).default(1000),
    /** Maximum linear memory, in 64 KiB pages. */
    memoryPages: z.number().int().min(1).max(65_536).default(256),
    /** Largest accepted module, bytes. */
    maxModuleBytes: z
      .number()
      .int()
      .min(8)
      .max(1024 * 1024 * 1024)
      .default(64 * 1024 * 1024),
  })
  .strict();
export type Limits = z.output<typeof LimitsSchema>;

/** Where the kernel keeps durable state. */
export const StorageConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('memory') }).strict(),
  z.object({ kind: z.literal('sqlite'), path: z.string().min(1).max(4096) }).strict(),
]);
export type StorageConfig = z.output<typeof StorageConfigSchema>;

/** The whole configuration of one kernel. Every field has a safe default. */
export const RuntimeConfigSchema = z
  .object({
    /** enforce: block what policy refuses; audit: decide and record but allow; permissive: allow, record refusals. */
    mode: z.enum(['enforce', 'audit', 'permissive']).default('enforce'),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    storage: StorageConfigSchema.default({ kind: 'memory' }),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('warn'),
      })
      .strict()
      .default({ level: 'warn' }),
  })
  .strict();
export type RuntimeConfig = z.output<typeof RuntimeConfigSchema>;
export type RuntimeConfigInput = z.input<typeof RuntimeConfigSchema>;

/** Validates a configuration from outside (file, flags, API) and fills in defaults. */
export function parseRuntimeConfig(input: unknown): RuntimeConfig {
  return parseWith(RuntimeConfigSchema, input ?? {}, 'configuration', 'FORGE_CONFIG_INVALID');
}

/** The configuration a kernel gets when nothing is given. */
export function defaultRuntimeConfig(): RuntimeConfig {
  return parseRuntimeConfig({});
}
