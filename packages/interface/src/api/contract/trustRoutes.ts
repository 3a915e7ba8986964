import { z } from 'zod';
import { redzoneStates } from '@forgeone/trust';
import { defineRoute } from '../route';
import { ApiRoleSchema } from '../roles';
import { ContainerIdParams, ContainerInfoSchema, JsonObject, queryInt } from './shared';

const QuarantineRecordSchema = z
  .looseObject({
    containerId: z.string(),
    state: z.string(),
    reason: z.string(),
    firedRules: z.array(z.string()),
    quarantinedAt: z.number(),
    deadline: z.number(),
    count: z.number(),
  })
  .meta({ id: 'QuarantineRecord' });

const Note = z.strictObject({ note: z.string().max(1024).optional() }).optional();

const quarantineList = defineRoute({
  method: 'GET',
  path: '/v1/quarantine',
  operationId: 'listQuarantine',
  summary: 'Quarantine records (held, released, terminated)',
  tag: 'trust',
  access: 'viewer',
  query: z.strictObject({ state: z.enum(redzoneStates).optional() }),
  reply: z.object({ records: z.array(QuarantineRecordSchema) }),
});

const quarantineGet = defineRoute({
  method: 'GET',
  path: '/v1/quarantine/:id',
  operationId: 'getQuarantine',
  summary: "A container's quarantine record",
  tag: 'trust',
  access: 'viewer',
  params: ContainerIdParams,
  reply: QuarantineRecordSchema,
});

const release = defineRoute({
  method: 'POST',
  path: '/v1/quarantine/:id/release',
  operationId: 'releaseQuarantine',
  summary: 'Releases a quarantined container: it runs again',
  tag: 'trust',
  access: 'operator',
  params: ContainerIdParams,
  body: Note,
  reply: ContainerInfoSchema,
});

const terminate = defineRoute({
  method: 'POST',
  path: '/v1/quarantine/:id/terminate',
  operationId: 'terminateQuarantine',
  summary: 'Terminates a quarantined container',
  tag: 'trust',
  access: 'operator',
  params: ContainerIdParams,
  body: Note,
  reply: ContainerInfoSchema,
});

export const AuditRecordSchema = z
  .object({ seq: z.number(), prev: z.string(), hash: z.string(), entry: JsonObject })
  .meta({ id: 'AuditRecord' });

const audit = defineRoute({
  method: 'GET',
  path: '/v1/audit',
  operationId: 'readAudit',
  summary: 'Audit log entries in sequence order, from fromSeq (follow `nextSeq`)',
  tag: 'trust',
  access: 'viewer',
  query: z.strictObject({
    fromSeq: queryInt(1, Number.MAX_SAFE_INTEGER).optional(),
    limit: queryInt(1, 1000).optional(),
  }),
  reply: z.object({ records: z.array(AuditRecordSchema), nextSeq: z.number().nullable() }),
});

const auditVerify = defineRoute({
  method: 'GET',
  path: '/v1/audit/verify',
  operationId: 'verifyAudit',
  summary: "Verifies the audit log's hash chain (optionally against an anchor)",
  tag: 'trust',
  access: 'viewer',
  query: z.strictObject({
    anchorSeq: queryInt(1, Number.MAX_SAFE_INTEGER).optional(),
    anchorHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  }),
  reply: z.object({
    ok: z.boolean(),
    entries: z.number(),
    head: z.number().optional(),
    lastHash: z.string().optional(),
    brokenSeq: z.number().optional(),
    reason: z.string().optional(),
  }),
});

const TokenInfoSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: ApiRoleSchema,
    createdAt: z.number(),
    expiresAt: z.number().nullable(),
    revokedAt: z.number().nullable(),
  })
  .meta({ id: 'TokenInfo' });

const tokenList = defineRoute({
  method: 'GET',
  path: '/v1/tokens',
  operationId: 'listTokens',
  summary: 'API tokens (never their secrets)',
  tag: 'admin',
  access: 'admin',
  reply: z.object({ tokens: z.array(TokenInfoSchema) }),
});

const tokenCreate = defineRoute({
  method: 'POST',
  path: '/v1/tokens',
  operationId: 'createToken',
  summary: 'Creates a token; its secret is in this answer only',
  tag: 'admin',
  access: 'admin',
  body: z.strictObject({
    role: ApiRoleSchema,
    name: z.string().max(64).optional(),
    expiresInMs: z
      .number()
      .int()
      .positive()
      .max(10 * 365 * 86_400_000)
      .optional(),
  }),
  status: 201,
  reply: z.object({ token: z.string(), info: TokenInfoSchema }),
});

const tokenRevoke = defineRoute({
  method: 'DELETE',
  path: '/v1/tokens/:id',
  operationId: 'revokeToken',
  summary: 'Revokes a token (by id or name)',
  tag: 'admin',
  access: 'admin',
  params: z.strictObject({ id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/) }),
  reply: TokenInfoSchema,
});

export const trustRoutes = {
  listQuarantine: quarantineList,
  getQuarantine: quarantineGet,
  releaseQuarantine: release,
  terminateQuarantine: terminate,
  readAudit: audit,
  verifyAudit: auditVerify,
  listTokens: tokenList,
  createToken: tokenCreate,
  revokeToken: tokenRevoke,
} as const;
