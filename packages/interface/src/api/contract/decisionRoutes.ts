import { z } from 'zod';
import { defineRoute } from '../route';
import { JsonObject } from './shared';
import { AuditRecordSchema } from './trustRoutes';

/** `dec_<container id's 26 characters>_<trace sequence number>` (see decisionIdOf in @forgeone/common). */
const DecisionIdSchema = z
  .string()
  .regex(/^dec_[0-9a-hjkmnp-tv-z]{26}_[1-9][0-9]{0,15}$/, 'not a decision id');
/** A request id as the server makes them (printable ASCII, at most 200 characters). */
const RequestIdSchema = z.string().regex(/^[\x21-\x7e]{1,200}$/, 'not a request id');

const decision = defineRoute({
  method: 'GET',
  path: '/v1/decisions/:id',
  operationId: 'getDecision',
  summary:
    'One policy decision by its id: its audit record (which names the API request that made the call) and its trace event',
  tag: 'trust',
  access: 'viewer',
  params: z.strictObject({ id: DecisionIdSchema }),
  reply: z
    .object({
      decisionId: z.string(),
      containerId: z.string(),
      seq: z.number().int(),
      requestId: z.string().optional(),
      audit: AuditRecordSchema,
      event: JsonObject.optional().describe('The call as the durable trace keeps it, when it keeps it'),
    })
    .meta({ id: 'DecisionLookup' }),
});

const request = defineRoute({
  method: 'GET',
  path: '/v1/requests/:id',
  operationId: 'getRequest',
  summary:
    'What an API request that changed something did: its audit record (who, which route, what it caused)',
  tag: 'trust',
  access: 'viewer',
  params: z.strictObject({ id: RequestIdSchema }),
  reply: z.object({ requestId: z.string(), audit: AuditRecordSchema }).meta({ id: 'RequestLookup' }),
});

/** Looking a decision or a request up by its id: the links between API call, decision and host call. */
export const decisionRoutes = { getDecision: decision, getRequest: request } as const;
