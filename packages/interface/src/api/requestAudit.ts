import type { FastifyInstance } from 'fastify';
import type { Clock, JsonValue } from '@forgeone/common';
import type { AuditLog } from '@forgeone/trust';

/**
 * Every authenticated request to a route that changes something is attributed in the audit log
 * (request id, token, route, status), durably, before its answer leaves: an acknowledged change is
 * never missing from the chain.
 */
declare module 'fastify' {
  interface FastifyRequest {
    /** What the request caused (set by its handler through `ApiCall.caused`). */
    forgeCaused: { [name: string]: JsonValue } | undefined;
  }
}

export function addRequestAudit(app: FastifyInstance, audit: AuditLog | undefined, clock: Clock): void {
  app.decorateRequest('forgeCaused', undefined);
  if (audit === undefined) return;
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.config.forge;
    const token = request.forgeToken;
    if (route === undefined || route.method === 'GET' || token === undefined) return payload;
    const params = (request.params ?? {}) as Record<string, unknown>;
    await audit.append([
      {
        time: clock.now(),
        kernel: 'api.request',
        facts: {
          requestId: String(request.id),
          operation: route.operationId,
          method: route.method,
          path: request.url.split('?')[0] ?? '',
          ...(typeof params['id'] === 'string' ? { target: params['id'] } : {}),
          token: token.name,
          tokenId: token.id,
          role: token.role,
          status: reply.statusCode,
          ...(request.forgeCaused === undefined ? {} : { caused: request.forgeCaused }),
        },
      },
    ]);
    return payload;
  });
}
