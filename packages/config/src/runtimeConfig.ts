import { z } from 'zod';
import { parseWith } from '@forgeone/common';
import { defaultContainerLimits as defaults, limitBounds as bounds, limitsProblem } from './limits';
import {
  defaultResourceBudgets as defaultBudgets,
  resourceBudgetBounds as budgetBounds,
} from './resourceBudgets';

/** An integer field within its bounds, defaulting to `fallback`. */
function bounded(bound: { readonly min: number; readonly max: number }, fallback: number) {
  return z.number().int().min(bound.min).max(bound.max).default(fallback);
}

/** The kernel's configured limits: every ContainerLimits field, each with its default and bounds. */
export const LimitsSchema = z
  .object({
    /** Wall-clock deadline per guest call, ms. */
    timeoutMs: bounded(bounds.timeoutMs, defaults.timeoutMs),
    /** Maximum linear memory, in 64 KiB pages. */
    memoryPages: bounded(bounds.memoryPages, defaults.memoryPages),
    /** Largest accepted module, bytes. */
    maxModuleBytes: bounded(bounds.maxModuleBytes, defaults.maxModuleBytes),
    /** Most imports a module may declare. */
    maxImports: bounded(bounds.maxImports, defaults.maxImports),
    /** Largest table, in elements. */
    maxTableElements: bounded(bounds.maxTableElements, defaults.maxTableElements),
    /** Sustained syscalls per second before the guest is stopped; 0: off. */
    syscallsPerSecond: bounded(bounds.syscallsPerSecond, defaults.syscallsPerSecond),
    /** Calls one rate window allows; 0: as many as syscallsPerSecond. */
    syscallBurst: bounded(bounds.syscallBurst, defaults.syscallBurst),
    /** Open WASI descriptors, stdio and preopens included. */
    maxOpenFds: bounded(bounds.maxOpenFds, defaults.maxOpenFds),
    /** Fuel per call; 0: off. */
    fuel: bounded(bounds.fuel, defaults.fuel),
  })
  .strict()
  .superRefine((limits, context) => {
    const problem = limitsProblem(limits);
    if (problem) context.addIssue({ code: 'custom', path: [problem.limit], message: problem.problem });
  });
export type Limits = z.output<typeof LimitsSchema>;

/** The kernel-wide budgets of the resource manager. */
export const ResourceBudgetsSchema = z
  .object({
    /** Memory pages across every live container (each reserves its memoryPages limit). */
    memoryPages: bounded(budgetBounds.memoryPages, defaultBudgets.memoryPages),
    /** Containers holding a worker thread at once. */
    workers: bounded(budgetBounds.workers, defaultBudgets.workers),
    /** Live containers of one identity at once. */
    containersPerIdentity: bounded(budgetBounds.containersPerIdentity, defaultBudgets.containersPerIdentity),
    /** Wall-clock ms a container's calls may take together; 0: off. */
    cpuMs: bounded(budgetBounds.cpuMs, defaultBudgets.cpuMs),
  })
  .strict();

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
    /** Kernel-wide budgets every launch is admitted against (the resource manager's). */
    resources: ResourceBudgetsSchema.default(ResourceBudgetsSchema.parse({})),
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
