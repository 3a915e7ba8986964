import { z } from 'zod';
import { configSection } from './configSection';

/** Log levels (pino's). */
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The `log` section: how much the kernel logs. */
export const logConfigSection = configSection(
  'log',
  z
    .object({
      level: z.enum(logLevels).default('warn'),
    })
    .strict()
    .default({ level: 'warn' }),
  { owner: '@forgeone/config' },
);

/** The sections @forgeone/config itself owns (common has no zod, so its `log` lives here). */
export const defaultConfigSections = [logConfigSection] as const;
