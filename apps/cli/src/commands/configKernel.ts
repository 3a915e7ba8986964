import {
  defaultConfigSections,
  defineConfigSchema,
  configEnvName,
  CONFIG_ENV_PREFIX,
} from '@forgeone/config';
import { coreConfigPolicies, coreConfigSections } from '@forgeone/core';
import { trustConfigSections } from '@forgeone/trust';
import type { CliIo } from '../cliIo';

/** The configuration schema of the kernel the CLI and daemon boot: every package's sections. */
export const kernelConfigSchema = defineConfigSchema([
  ...defaultConfigSections,
  ...coreConfigSections,
  ...trustConfigSections,
] as const);

/** The code policies every kernel configuration passes. */
export const kernelConfigPolicies = coreConfigPolicies;

/**
 * The `FORGEONE_*` variables of the environment, values read through the io (injectable). Names
 * come from the process too, so a misspelt `FORGEONE_X__Y` is reported rather than ignored.
 */
export function configEnvironment(io: CliIo): Record<string, string | undefined> {
  const names = new Set<string>();
  for (const path of kernelConfigSchema.paths.keys()) names.add(configEnvName(path));
  for (const name of Object.keys(process.env)) if (name.startsWith(CONFIG_ENV_PREFIX)) names.add(name);
  const env: Record<string, string | undefined> = {};
  for (const name of names) {
    const value = io.env(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}
