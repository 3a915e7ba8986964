import { z } from 'zod';
import { storageLimits } from '@forgeone/common';
import { configSection } from '@forgeone/config';
import { DEFAULT_AUDIT_LOG } from './auditLog';

/** The `audit` section: where decisions are logged and how they are batched (AuditLogOptions). */
export const auditConfigSection = configSection(
  'audit',
  z
    .object({
      /** The log the audit chain is kept in. */
      log: z.string().regex(storageLimits.namePattern).default(DEFAULT_AUDIT_LOG),
      /** Entries written together in one transaction. */
      maxBatch: z.number().int().min(1).max(storageLimits.maxAppendBatch).default(256),
      /** Longest an enqueued entry waits before it is written, ms. */
      maxDelayMs: z.number().int().min(0).max(60_000).default(50),
    })
    .strict()
    .default({ log: DEFAULT_AUDIT_LOG, maxBatch: 256, maxDelayMs: 50 }),
  { owner: '@forgeone/trust' },
);

/** The configuration sections @forgeone/trust owns. */
export const trustConfigSections = [auditConfigSection] as const;
