import { ForgeError, type ContainerId } from '@forgeone/common';
import type { AuditLog } from '@forgeone/trust';
import { type trustRoutes } from '../contract/trustRoutes';
import type { ApiContext, Handlers } from '../apiContext';
import { jsonSafe } from '../jsonSafe';

type Json = Record<string, unknown>;

/** Quarantine, the audit log and the API's tokens. */
export function trustHandlers(ctx: ApiContext): Handlers<typeof trustRoutes> {
  const { runtime } = ctx.kernel;
  const redzone = () => runtime.containers.redzone;
  const audit = (): AuditLog => {
    if (ctx.audit) return ctx.audit;
    throw new ForgeError('FORGE_API_NOT_AVAILABLE', 'this kernel keeps no audit log (it has no store)');
  };
  const by = (call: { token: { name: string } | undefined }) => `api:${call.token?.name ?? 'anonymous'}`;
  return {
    listQuarantine: async ({ query }) => ({
      records: (await redzone().list(query.state ? { state: query.state } : {})).map(
        (r) => jsonSafe(r) as never,
      ),
    }),
    getQuarantine: async ({ params }) => {
      const record = await redzone().get(params.id);
      if (!record)
        throw new ForgeError('FORGE_REDZONE_NOT_FOUND', `container ${params.id} has no quarantine record`, {
          details: { containerId: params.id },
        });
      return jsonSafe(record) as never;
    },
    releaseQuarantine: async ({ params }, call) =>
      runtime.containers.release(params.id as ContainerId, by(call)),
    terminateQuarantine: async ({ params }, call) =>
      runtime.containers.terminate(params.id as ContainerId, by(call)),
    readAudit: async ({ query }) => {
      const limit = query.limit ?? 100;
      const records = await audit().read({ fromSeq: query.fromSeq ?? 1, limit });
      const last = records[records.length - 1];
      return {
        records: records.map((r) => ({ ...r, entry: jsonSafe(r.entry) as Json })),
        nextSeq: records.length === limit && last ? last.seq + 1 : null,
      };
    },
    verifyAudit: async ({ query }) => {
      if ((query.anchorSeq === undefined) !== (query.anchorHash === undefined))
        throw new ForgeError('FORGE_INVALID_INPUT', 'an anchor needs both anchorSeq and anchorHash', {
          details: { field: 'anchorSeq' },
        });
      const result = await audit().verify(
        query.anchorSeq !== undefined && query.anchorHash !== undefined
          ? { anchor: { seq: query.anchorSeq, hash: query.anchorHash } }
          : {},
      );
      return { ...result };
    },
    listTokens: async () => ({ tokens: await ctx.tokens.list() }),
    createToken: async ({ body }) =>
      ctx.tokens.create({
        role: body.role,
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.expiresInMs === undefined ? {} : { expiresAt: ctx.kernel.clock.now() + body.expiresInMs }),
      }),
    revokeToken: async ({ params }) => ctx.tokens.revoke(params.id),
  };
}
