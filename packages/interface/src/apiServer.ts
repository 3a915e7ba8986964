import { fastify, type FastifyInstance } from 'fastify';
import { runSelfTest } from '@forgeone/diagnostics';
import type { Kernel } from './createKernel';

export interface ApiServerOptions {
  readonly kernel: Kernel;
  /** Log each request as a JSON line (pino). Default false. */
  readonly logRequests?: boolean;
  /** Largest accepted request body, bytes. Default 1 MiB. */
  readonly bodyLimit?: number;
}

export const API_VERSION = 'v1';

/**
 * The kernel's HTTP API (`/v1/...`), on fastify. Routes so far: health and self-test; later issues
 * add authentication, containers, policies and audit.
 */
export function createApiServer(options: ApiServerOptions): FastifyInstance {
  const { kernel } = options;
  const app = fastify({
    logger: options.logRequests ? { level: 'info' } : false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Hostile clients: cap connection idle time and header size instead of trusting them.
    connectionTimeout: 30_000,
    keepAliveTimeout: 5_000,
    routerOptions: { maxParamLength: 256 },
  });
  const startedAt = kernel.clock.now();

  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send({ ok: false, code: 'FORGE_NOT_FOUND', message: `no route ${request.method} ${request.url}` });
  });
  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const code = status < 500 ? 'FORGE_INVALID_INPUT' : 'FORGE_INTERNAL';
    void reply
      .code(status)
      .send({ ok: false, code, message: status < 500 ? error.message : 'internal error' });
  });

  app.get(`/${API_VERSION}/health`, async () => ({
    ok: true,
    kernel: kernel.id,
    mode: kernel.config.mode,
    store: kernel.store?.kind ?? null,
    uptimeMs: kernel.clock.now() - startedAt,
  }));

  app.get(`/${API_VERSION}/selftest`, async (_request, reply) => {
    const report = await runSelfTest({
      clock: kernel.clock,
      ...(kernel.store ? { store: kernel.store } : {}),
    });
    return reply.code(report.ok ? 200 : 503).send(report);
  });

  return app;
}
