import { ForgeError, parseDecisionId } from '@forgeone/common';
import type { AuditLog } from '@forgeone/trust';
import type { ApiContext, Handlers } from '../apiContext';
import type { decisionRoutes } from '../contract/decisionRoutes';
import { jsonSafe } from '../jsonSafe';

/** `GET /v1/decisions/{id}` and `GET /v1/requests/{id}`, through the audit log's index. */
export function decisionHandlers(ctx: ApiContext): Handlers<typeof decisionRoutes> {
  const audit = async (): Promise<AuditLog> => {
    if (ctx.audit === undefined)
      throw new ForgeError('FORGE_API_NOT_AVAILABLE', 'this kernel keeps no audit log (it has no store)');
    // Calls made a moment ago: their entries are built at the end of the turn, then buffered.
    await new Promise((resolve) => setImmediate(resolve));
    await ctx.audit.flush();
    return ctx.audit;
  };
  return {
    getDecision: async ({ params }) => {
      const parts = parseDecisionId(params.id);
      const record = parts && (await (await audit()).findDecision(parts.containerId, parts.seq));
      if (parts === undefined || record === undefined || 'kernel' in record.entry)
        throw new ForgeError('FORGE_API_DECISION_NOT_FOUND', `no audited decision ${params.id}`);
      const { requestId } = record.entry;
      let event: Record<string, unknown> | undefined;
      if (ctx.traces) {
        const page = await ctx.traces
          .page({ containerId: parts.containerId, fromSeq: parts.seq, limit: 1 })
          .catch(() => undefined);
        const found = page?.events[0];
        if (found?.seq === parts.seq) event = jsonSafe(found) as Record<string, unknown>;
      }
      return {
        decisionId: params.id,
        containerId: parts.containerId,
        seq: parts.seq,
        ...(requestId === undefined ? {} : { requestId }),
        audit: jsonSafe(record) as never,
        ...(event === undefined ? {} : { event }),
      };
    },
    getRequest: async ({ params }) => {
      const record = await (await audit()).findRequest(params.id);
      if (record === undefined)
        throw new ForgeError('FORGE_API_REQUEST_NOT_FOUND', `no audited API request ${params.id}`);
      return { requestId: params.id, audit: jsonSafe(record) as never };
    },
  };
}
