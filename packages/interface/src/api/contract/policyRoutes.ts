import { z } from 'zod';
import { enforcementModes } from '@forgeone/common';
import { EvaluationContextInputSchema, MAX_POLICY_BYTES, SyscallRequestInputSchema } from '@forgeone/trust';
import { defineRoute } from '../route';
import { JsonObject } from './shared';

/** One live policy version as the kernel keeps it (`PolicyVersionInfo` of @forgeone/trust). */
export const PolicyVersionSchema = z
  .object({
    version: z.number().int(),
    kind: z.enum(['initial', 'swap', 'mode', 'stored', 'activate']),
    digest: z.string(),
    mode: z.enum(enforcementModes),
    source: z.string().nullable(),
    actor: z.string().nullable(),
    reason: z.string().nullable(),
    at: z.number(),
    testsPassed: z.number().int(),
    from: z.number().int().optional(),
    active: z.boolean(),
    wentLive: z.boolean(),
  })
  .meta({ id: 'PolicyVersion' });

/** A version number in a path: digits only (nothing else, no `..`, reaches a handler). */
export const PolicyVersionParams = z.strictObject({
  version: z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, 'not a policy version number')
    .transform(Number),
});

/** A policy document or its test cases: YAML or JSON text, or the parsed JSON value. */
const PolicyText = z.union([z.string().min(1).max(MAX_POLICY_BYTES), JsonObject]);

export const PolicyUploadSchema = z
  .strictObject({
    /** The policy document (the format `forgeone policy check` reads). */
    document: PolicyText,
    /** Its test cases (the format `forgeone policy test` reads): every case must pass. */
    tests: PolicyText.optional(),
    /** A label kept in the history (e.g. the file it came from). */
    source: z
      .string()
      .regex(/^[\w .:@+/-]{1,200}$/)
      .optional(),
    reason: z.string().max(1024).optional(),
    /**
     * Put it in force at once. Default false: the version is kept, `activate` makes it live. A
     * daemon whose policies come from a directory always puts it in force (the directory's rule).
     */
    activate: z.boolean().optional(),
  })
  .meta({ id: 'PolicyUpload' });

const list = defineRoute({
  method: 'GET',
  path: '/v1/policies',
  operationId: 'listPolicies',
  summary: 'The live policy versions kept (stored and live), and the one in force',
  tag: 'trust',
  access: 'viewer',
  reply: z.object({
    active: z.number().int(),
    mode: z.enum(enforcementModes),
    source: z.enum(['api', 'directory']),
    versions: z.array(PolicyVersionSchema),
  }),
});

const get = defineRoute({
  method: 'GET',
  path: '/v1/policies/:version',
  operationId: 'getPolicy',
  summary: 'One policy version and its document',
  tag: 'trust',
  access: 'viewer',
  params: PolicyVersionParams,
  reply: z.object({ version: PolicyVersionSchema, document: JsonObject }),
});

const upload = defineRoute({
  method: 'POST',
  path: '/v1/policies',
  operationId: 'uploadPolicy',
  summary: 'Uploads a policy version: compiled and its test cases run first, refused whole or kept',
  tag: 'trust',
  access: 'admin',
  body: PolicyUploadSchema,
  bodyLimit: 2 * MAX_POLICY_BYTES + 16 * 1024,
  status: 201,
  reply: z.object({ version: PolicyVersionSchema, activated: z.boolean() }),
});

const activate = defineRoute({
  method: 'POST',
  path: '/v1/policies/:version/activate',
  operationId: 'activatePolicy',
  summary: 'Puts a kept version in force (an older one: a rollback, as a new version)',
  tag: 'trust',
  access: 'admin',
  params: PolicyVersionParams,
  body: z.strictObject({ reason: z.string().max(1024).optional() }).optional(),
  reply: z.object({ version: PolicyVersionSchema }),
});

const explain = defineRoute({
  method: 'POST',
  path: '/v1/policies/explain',
  operationId: 'explainPolicy',
  summary: 'Decides one request under the live policy and explains the decision',
  tag: 'trust',
  access: 'viewer',
  body: z.strictObject({
    request: SyscallRequestInputSchema,
    context: EvaluationContextInputSchema.optional(),
  }),
  reply: z.object({
    version: z.number().int(),
    digest: z.string(),
    mode: z.enum(enforcementModes),
    action: z.string(),
    decidedBy: z.string().nullable(),
    reasons: z.array(JsonObject),
    decision: JsonObject,
  }),
});

export const policyRoutes = {
  listPolicies: list,
  getPolicy: get,
  uploadPolicy: upload,
  activatePolicy: activate,
  explainPolicy: explain,
} as const;
