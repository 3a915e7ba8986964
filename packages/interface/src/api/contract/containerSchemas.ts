import { z } from 'zod';
import { enforcementModes } from '@forgeone/common';
import { PackageRefSchema } from './packageSchemas';

/** A wasm value on the wire: i64 as a decimal string (JSON numbers lose its bits), bytes as base64. */
export const TypedValueSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.enum(['i32', 'f32', 'f64']), value: z.number() }),
    z.strictObject({ type: z.literal('i64'), value: z.string().regex(/^-?\d{1,20}$/) }),
    z.strictObject({ type: z.literal('string'), value: z.string().max(1 << 20) }),
    z.strictObject({ type: z.literal('bytes'), value: z.base64().max(1 << 21) }),
  ])
  .meta({ id: 'TypedValue' });
export type TypedValueJson = z.infer<typeof TypedValueSchema>;

/** Names of syscalls in an allow-list (`wasi.fd_write`, `forge.*`). */
const SyscallPattern = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9_.*]+$/);

/**
 * A launch: an installed package (`package`, re-verified against the trust root, so its manifest
 * bounds what the policy can allow) or a development module's bytes (`module`, binary or text
 * wasm, base64) — exactly one — and who decides its calls.
 */
export const LaunchBodySchema = z
  .strictObject({
    module: z
      .base64()
      .min(4)
      .max(22_369_624)
      .optional()
      .describe('a development module: its bytes, base64 (binary wasm or wat text)'),
    package: PackageRefSchema.optional().describe('an installed package (POST /v1/packages)'),
    format: z
      .enum(['wasm', 'wat'])
      .optional()
      .describe("a development module's form: binary wasm or wat text (detected when omitted)"),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
      .optional(),
    kind: z.enum(['command', 'service']).optional(),
    isolation: z.enum(['inline', 'worker']).optional(),
    policy: z.union([
      z.strictObject({
        mode: z.enum(enforcementModes),
        allow: z.array(SyscallPattern).max(256),
        ask: z.array(SyscallPattern).max(256).optional(),
      }),
      z.strictObject({
        mode: z.enum(enforcementModes),
        document: z
          .union([z.string().max(256 * 1024), z.record(z.string(), z.unknown())])
          .describe('a policy document (YAML/JSON text or its object), compiled by the kernel'),
      }),
    ]),
    limits: z
      .strictObject({
        timeoutMs: z.number().int().positive().optional(),
        memoryPages: z.number().int().positive().optional(),
        fuel: z.number().int().positive().optional(),
      })
      .optional(),
  })
  .refine((body) => (body.module === undefined) !== (body.package === undefined), {
    message: 'give exactly one of module (a development module) and package (an installed package)',
  })
  .refine((body) => body.package === undefined || body.format === undefined, {
    message: 'format applies to a development module only, not to a package',
    path: ['format'],
  })
  .meta({ id: 'LaunchRequest' });

export type LaunchBody = z.output<typeof LaunchBodySchema>;

export const InvokeBodySchema = z
  .strictObject({
    export: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[A-Za-z_][A-Za-z0-9_.$-]*$/),
    args: z.array(TypedValueSchema).max(64).optional(),
    results: z.enum(['values', 'bytes', 'string']).optional(),
  })
  .meta({ id: 'InvokeRequest' });

/** The syscalls one invoke made, by trace sequence number and decision id (GET /v1/decisions/{id}). */
export const DecisionRangeSchema = z
  .object({
    count: z.number().int().min(0),
    fromSeq: z.number().int().min(1).optional(),
    toSeq: z.number().int().min(1).optional(),
    first: z.string().optional(),
    last: z.string().optional(),
  })
  .meta({ id: 'DecisionRange' });

export const InvokeReplySchema = z
  .object({
    outcome: z.object({
      status: z.enum(['exited', 'returned', 'trapped']),
      exitCode: z.number().int().nullable(),
      code: z.string().optional(),
      message: z.string().optional(),
    }),
    values: z.array(TypedValueSchema),
    fuelLeft: z.number().optional(),
    requestId: z
      .string()
      .describe('This request: its audit record names what it caused (GET /v1/requests/{id})'),
    decisions: DecisionRangeSchema,
  })
  .meta({ id: 'InvokeResult' });
