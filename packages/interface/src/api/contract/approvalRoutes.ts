import { z } from 'zod';
import { defineRoute } from '../route';

/** A call waiting for an operator (`PendingApproval` of @forgeone/trust, summarised). */
export const ApprovalSchema = z
  .object({
    id: z.string(),
    containerId: z.string(),
    subject: z.string(),
    syscall: z.string(),
    /** The call's arguments, each shown as at most 200 characters. */
    args: z.record(z.string(), z.string()),
    /** Why the policy asks (the `ask` decision's reasons). */
    reasons: z.array(z.string()),
    since: z.number(),
    expiresAt: z.number(),
  })
  .meta({ id: 'Approval' });

export const ApprovalOutcomeSchema = z
  .object({
    id: z.string(),
    verdict: z.enum(['allow', 'deny']),
    by: z.string(),
    reason: z.string(),
    answeredAt: z.number(),
  })
  .meta({ id: 'ApprovalOutcome' });

/** An approval id as the queue makes them (a UUID): nothing else reaches a handler. */
const ApprovalIdParams = z.strictObject({
  id: z
    .string()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'not an approval id'),
});

const Answer = z.strictObject({ reason: z.string().max(1024).optional() }).optional();

const list = defineRoute({
  method: 'GET',
  path: '/v1/approvals',
  operationId: 'listApprovals',
  summary: 'Calls waiting for an operator (oldest first)',
  tag: 'trust',
  access: 'viewer',
  reply: z.object({ approvals: z.array(ApprovalSchema) }),
});

const approve = defineRoute({
  method: 'POST',
  path: '/v1/approvals/:id/approve',
  operationId: 'approveApproval',
  summary: 'Approves a waiting call: it runs',
  tag: 'trust',
  access: 'operator',
  params: ApprovalIdParams,
  body: Answer,
  reply: ApprovalOutcomeSchema,
});

const deny = defineRoute({
  method: 'POST',
  path: '/v1/approvals/:id/deny',
  operationId: 'denyApproval',
  summary: 'Denies a waiting call: it fails with the denial errno',
  tag: 'trust',
  access: 'operator',
  params: ApprovalIdParams,
  body: Answer,
  reply: ApprovalOutcomeSchema,
});

export const approvalRoutes = {
  listApprovals: list,
  approveApproval: approve,
  denyApproval: deny,
} as const;
