import { z } from 'zod';
import { parseWith } from '@forgeone/common';
import { defaultContainerLimits as defaults, limitBounds as bounds } from './limits';

/** The kernel's configured limits (the rest of ContainerLimits keep their defaults). */
export const LimitsSchema = z
  .object({
    /** Wall-clock deadline per guest call, ms. */
    timeoutMs: z
      .number()
      .int()
      .min(bounds.timeoutMs.min)
      .max(bounds.timeoutMs.max)
      .default(defaults.timeoutMs),
    /** Maximum linear memory, in 64 KiB pages. */
    memoryPages: z
      .number()
      .int()
      .min(bounds.memoryPages.min)
      .max(bounds.memoryPages.max)
      .default(defaults.memoryPages),
    /** Largest accepted module, bytes. */
    maxModuleBytes: z
      .number()
      .int()
      .min(bounds.maxModuleBytes.min)
      .max(bounds.maxModuleBytes.max)
      .default(defaults.maxModuleBytes),
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
