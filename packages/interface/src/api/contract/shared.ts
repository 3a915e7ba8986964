import { z } from 'zod';
import { containerStates } from '@forgeone/core';

/** A container id as the kernel makes them (`ctr_` and 26 base32 characters): nothing else reaches a handler. */
export const ContainerIdSchema = z.string().regex(/^ctr_[0-9a-hjkmnp-tv-z]{26}$/, 'not a container id');
export const ContainerIdParams = z.strictObject({ id: ContainerIdSchema });

/** Any JSON object the kernel produced, passed on as it is (its own schema lives in its package). */
export const JsonObject = z.record(z.string(), z.unknown());

export const ContainerStateSchema = z.enum(containerStates);

/** A registry entry (`ContainerInfo` of @forgeone/core). */
export const ContainerInfoSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(['command', 'service']),
    isolation: z.enum(['inline', 'worker']),
    subject: z.string(),
    moduleSha256: z.string(),
    state: ContainerStateSchema,
    reason: z.string().optional(),
    exitCode: z.number().int().nullable().optional(),
    created_at: z.number(),
    updated_at: z.number(),
  })
  .meta({ id: 'ContainerInfo' });

/** A query-string integer (query values arrive as text). */
export function queryInt(min: number, max: number) {
  return z.coerce.number().int().min(min).max(max);
}

export const OkSchema = z.object({ ok: z.literal(true) });
