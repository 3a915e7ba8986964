import { fastify, type FastifyInstance } from 'fastify';
import { ForgeError } from '@forgeone/common';
import { runSelfTest, type SelfTestReport } from '@forgeone/diagnostics';
import type { Kernel } from './createKernel';

/**
 * What one client can hold or cause, whoever it is: the API has no authentication yet, so every
 * bound here is one an anonymous client cannot lift.
 */
export interface ApiServerLimits {
  /** The request line and headers must all arrive within this, ms (Node `headersTimeout`). Default 10,000. */
  readonly headersTimeoutMs: number;
  /** The whole request, headers and body, ms (Node `requestTimeout`); at least `headersTimeoutMs`. Default 30,000. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this, ms. Default 5,000. */
  readonly keepAliveTimeoutMs: number;
  /** Largest request head (request line and headers), bytes; larger gets 431. Default 16 KiB. */
  readonly maxHeaderBytes: number;
  /** Most open connections; further ones are closed on accept. Default 1,024. */
  readonly maxConnections: number;
  /**
   * A self-test result is served again for this long, ms, and concurrent requests share one run, so
   * a flood of `/v1/selftest` runs the self-test at most once per period. 0 runs it per request
   * (still one at a time). Default 1,000.
   */
  readonly selfTestCacheMs: number;
}

export const defaultApiServerLimits: ApiServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderBytes: 16 * 1024,
  maxConnections: 1024,
  selfTestCacheMs: 1_000,
};

export interface ApiServerOptions {
  readonly kernel: Kernel;
  /** Log each request as a JSON line (pino). Default false. */
  readonly logRequests?: boolean;
  /** Largest accepted request body, bytes. Default 1 MiB. */
  readonly bodyLimit?: number;
  /** Connection and request bounds; each defaults to `defaultApiServerLimits`. */
  readonly limits?: Partial<ApiServerLimits>;
}

export const API_VERSION = 'v1';

/**
 * The kernel's HTTP API (`/v1/...`), on fastify. Routes so far: health and self-test; later issues
 * add authentication, containers, policies and audit.
 */
export function createApiServer(options: ApiServerOptions): FastifyInstance {
  const { kernel } = options;
  const limits = checkLimits({ ...defaultApiServerLimits, ...options.limits });
  const app = fastify({
    logger: options.logRequests ? { level: 'info' } : false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Hostile clients: bound how long a connection may take to send its request and how long it
    // may idle, instead of trusting them. A client trickling one header byte at a time keeps the
    // socket busy (so an idle timeout never fires); headersTimeout is what closes it.
    connectionTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // Node checks the two timeouts only this often (default every 30 s, which let a trickling
      // client hold on for 75 s and more): a quarter of the header timeout, at most 1 s, closes it
      // at most that late.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    routerOptions: { maxParamLength: 256 },
  });
  app.server.maxConnections = limits.maxConnections;
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

  // What the kernel booted with (mode, trust root, revocation status, self-test); null if it did not boot.
  app.get(`/${API_VERSION}/boot`, async () => ({ ok: true, boot: kernel.boot ?? null }));

  const selfTest = sharedSelfTest(kernel, limits.selfTestCacheMs);
  app.get(`/${API_VERSION}/selftest`, async (_request, reply) => {
    const report = await selfTest();
    return reply.code(report.ok ? 200 : 503).send(report);
  });

  return app;
}

/** The self-test, run at most once at a time and its result reused for `cacheMs` after it ends. */
function sharedSelfTest(kernel: Kernel, cacheMs: number): () => Promise<SelfTestReport> {
  let current: { report: Promise<SelfTestReport>; endedAt: number | undefined } | undefined;
  return () => {
    const now = kernel.clock.now();
    if (current && (current.endedAt === undefined || now - current.endedAt < cacheMs)) {
      return current.report;
    }
    const run = {
      report: runSelfTest({ clock: kernel.clock, ...(kernel.store ? { store: kernel.store } : {}) }),
      endedAt: undefined as number | undefined,
    };
    // runSelfTest reports failures in its result; a rejection (none expected) is not cached.
    run.report.then(
      () => (run.endedAt = kernel.clock.now()),
      () => (current = current === run ? undefined : current),
    );
    current = run;
    return run.report;
  };
}

function checkLimits(limits: ApiServerLimits): ApiServerLimits {
  for (const [name, value] of Object.entries(limits)) {
    const least = name === 'selfTestCacheMs' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) {
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        `API server limit ${name} must be an integer ≥ ${least}, got ${String(value)}`,
      );
    }
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      `API server limit headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed requestTimeoutMs (${limits.requestTimeoutMs})`,
    );
  }
  return limits;
}
