import type { FastifyInstance } from 'fastify';
import type { ApiCall, Handler } from './apiContext';
import type { RouteSpec } from './route';

/**
 * Registers each declared route on fastify with its zod schemas (validated on the way in, the
 * reply checked on the way out) and its declaration in the route config (what authentication reads).
 */
export function registerRoutes(
  app: FastifyInstance,
  routes: Readonly<Record<string, RouteSpec>>,
  handlers: Readonly<Record<string, Handler<RouteSpec>>>,
): void {
  for (const [name, spec] of Object.entries(routes)) {
    const handler = handlers[name];
    if (handler === undefined) throw new Error(`route ${name} has no handler`);
    const status = spec.status ?? 200;
    app.route({
      method: spec.method,
      url: spec.path,
      schema: {
        ...(spec.params ? { params: spec.params } : {}),
        ...(spec.query ? { querystring: spec.query } : {}),
        ...(spec.body ? { body: spec.body } : {}),
        ...(spec.reply ? { response: { [status]: spec.reply } } : {}),
      },
      ...(spec.bodyLimit === undefined ? {} : { bodyLimit: spec.bodyLimit }),
      config: { forge: spec, ...(spec.access === 'public' ? { rateLimit: false } : {}) },
      handler: async (request, reply) => {
        let answered: number = status;
        const call: ApiCall = {
          request,
          reply,
          requestId: String(request.id),
          token: request.forgeToken,
          status: (code) => (answered = code),
          caused: (facts) => {
            request.forgeCaused = { ...request.forgeCaused, ...facts };
          },
        };
        const result = await handler(
          { params: request.params, query: request.query, body: request.body } as never,
          call,
        );
        if (reply.sent || spec.produces) return reply;
        return reply.code(answered).send(result);
      },
    });
  }
}
