import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import { fastify, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { ForgeError, MemoryStore } from '@forgeone/common';
import { bootTrustRoot } from '@forgeone/core';
import { runSelfTest, type SelfTestReport } from '@forgeone/diagnostics';
import type { TrustRoot } from '@forgeone/crypto';
import { TraceStore } from '@forgeone/observer';
import { AuditLog, DEFAULT_AUDIT_LOG } from '@forgeone/trust';
import type { Kernel } from './createKernel';
import type { ApiContext, PolicyDirectorySource } from './api/apiContext';
import { apiRoutes } from './api/apiRoutes';
import { addAuthentication } from './api/authenticate';
import { EventRing } from './api/eventRing';
import { containerHandlers } from './api/handlers/containerHandlers';
import { kernelHandlers } from './api/handlers/kernelHandlers';
import { packageHandlers, packageParts } from './api/handlers/packageHandlers';
import { workloadHandlers } from './api/handlers/workloadHandlers';
import { WorkloadQueue, type ApiWorkloadOptions } from './api/workloadQueue';
import { trustHandlers } from './api/handlers/trustHandlers';
import { decisionHandlers } from './api/handlers/decisionHandlers';
import { policyHandlers } from './api/handlers/policyHandlers';
import { approvalHandlers } from './api/handlers/approvalHandlers';
import { ApiMetrics } from './api/metrics';
import { buildOpenApiDocument } from './api/openApi';
import { PROBLEM_MEDIA_TYPE, problemOf } from './api/problem';
import {
  checkRateLimits,
  defaultApiRateLimits,
  draftRateLimitHeaders,
  type ApiRateLimits,
} from './api/rateLimits';
import { addRequestAudit } from './api/requestAudit';
import { registerRoutes } from './api/registerRoutes';
import { EventStreams, defaultEventStreamLimits, type EventStreamLimits } from './api/sse';
import { TokenStore } from './api/tokenStore';

/** What one connection can hold or cause, whoever it is (before any token is read). */
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
  /** Largest accepted request body, bytes, for routes that set none of their own. Default 64 KiB. */
  readonly bodyLimit?: number;
  /** Connection and request bounds; each defaults to `defaultApiServerLimits`. */
  readonly limits?: Partial<ApiServerLimits>;
  /** The bearer tokens (default: those in the kernel's store, or none when it has no store). */
  readonly tokens?: TokenStore;
  /** Where API changes are attributed (default: the kernel store's `audit` log). */
  readonly audit?: AuditLog;
  /** Requests per window per token and address, failed authentications, launches per token. */
  readonly rateLimits?: Partial<ApiRateLimits>;
  /** Event streams (`/v1/events`): how many, how much unread. */
  readonly eventStreams?: Partial<EventStreamLimits>;
  /** Kernel events kept for `Last-Event-ID` resume. Default 1,024. */
  readonly eventRing?: number;
  /**
   * Whether `POST /v1/containers` launches unsigned development modules. Default: only on a
   * development kernel (not booted on a trust root); otherwise FORGE_API_DEVELOPMENT_MODULE_REFUSED.
   */
  readonly allowDevelopmentModules?: boolean;
  /**
   * The verified trust root uploaded packages and launches from them are verified against.
   * Default: the root the kernel booted on (`bootTrustRoot(kernel.boot)`). Given, it must be the
   * boot's root (same version and keys), else FORGE_INVALID_INPUT. On a kernel booted without a
   * root, `POST /v1/packages` answers FORGE_API_NO_TRUST_ROOT.
   */
  readonly trustRoot?: TrustRoot;
  /** The scheduler of `/v1/workloads`: policy, concurrency, queue depth, finished kept. */
  readonly workloads?: ApiWorkloadOptions;
  /**
   * Count syscalls by name and decision in `/metrics` (`forgeone_syscalls_total`). Listening makes
   * the gate publish every decision of inline containers on the event bus. Default true.
   */
  readonly decisionMetrics?: boolean;
  /**
   * The live policy's versions come from a directory (forgeoned `--policy-dir`): `POST
   * /v1/policies` writes its next file through this and goes live at once; `activate` is refused
   * (FORGE_API_POLICY_DIRECTORY). Default: the API keeps versions in the kernel's LivePolicy.
   */
  readonly policyDirectory?: PolicyDirectorySource;
  /**
   * Serve HTTPS: a PEM certificate chain and key, and with `clientCa` mutual TLS (a client without
   * a certificate signed by that CA is refused at the handshake, before any HTTP is read).
   */
  readonly tls?: ApiTlsOptions;
}

/** The listener's TLS material (PEM). */
export interface ApiTlsOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** CA certificates client certificates must chain to: set, every client must present one. */
  readonly clientCa?: string | Buffer;
}

export const API_VERSION = 'v1';

/**
 * The kernel's HTTP API (`/v1/...`) on fastify: every route declared once in `apiRoutes` (zod
 * schemas, role), validated, answered with RFC 9457 problems, authenticated by bearer tokens with
 * roles, rate limited, audited, and described by the OpenAPI document at `/v1/openapi.json`.
 */
export function createApiServer(options: ApiServerOptions): FastifyInstance {
  const { kernel } = options;
  const limits = checkLimits({ ...defaultApiServerLimits, ...options.limits });
  const rateLimits = checkRateLimits({ ...defaultApiRateLimits, ...options.rateLimits });
  const app = fastify({
    logger: options.logRequests ? { level: 'info' } : false,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    genReqId: () => randomUUID(),
    // Hostile clients: bound how long a connection may take to send its request and how long it
    // may idle, instead of trusting them. A client trickling one header byte at a time keeps the
    // socket busy (so an idle timeout never fires); headersTimeout is what closes it.
    connectionTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    ...serverOptions(limits, options.tls),
    routerOptions: { maxParamLength: 256 },
    // A bad URL, an over-long parameter: answered before any route, as problems too.
    frameworkErrors: (error, request, reply) => sendProblem(error, request, reply),
  });
  app.server.maxConnections = limits.maxConnections;
  app.setValidatorCompiler((route) => {
    const validate = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
    // A request without a body has body null: an optional body schema takes it as absent.
    return route.httpPart === 'body' ? (data: unknown) => validate(data ?? undefined) : validate;
  });
  app.setSerializerCompiler(serializerCompiler);

  const tokens = options.tokens ?? new TokenStore(kernel.store ?? new MemoryStore(), { clock: kernel.clock });
  const audit =
    options.audit ??
    kernel.audit ??
    (kernel.store ? new AuditLog(kernel.store, { log: DEFAULT_AUDIT_LOG }) : undefined);
  const ring = new EventRing(kernel.events, options.eventRing ?? 1024);
  const streams = new EventStreams(ring, { ...defaultEventStreamLimits, ...options.eventStreams });
  const metrics = new ApiMetrics({
    runtime: kernel.runtime,
    events: kernel.events,
    decisions: options.decisionMetrics ?? true,
  });
  let document: Record<string, unknown> | undefined;
  const context: ApiContext = {
    kernel,
    tokens,
    audit,
    traces: kernel.store ? new TraceStore(kernel.store) : undefined,
    streams,
    metrics,
    selfTest: sharedSelfTest(kernel, limits.selfTestCacheMs),
    openApi: () =>
      (document ??= buildOpenApiDocument(apiRoutes, { title: 'ForgeOne kernel API', version: API_VERSION })),
    startedAt: kernel.clock.now(),
    developmentModules:
      options.allowDevelopmentModules ?? (kernel.boot === undefined || kernel.boot.root === null),
    trustRoot: bootRootOf(kernel, options.trustRoot),
    launchesPerToken: rateLimits.launchesPerToken,
    launching: new Map(),
    workloads: new WorkloadQueue(kernel, () => packageParts(context), options.workloads),
    policyDirectory: options.policyDirectory,
  };

  app.setNotFoundHandler((request) => {
    throw new ForgeError('FORGE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`);
  });
  app.setErrorHandler(sendProblem);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', String(request.id));
    draftRateLimitHeaders(reply, rateLimits.windowMs);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.config.forge?.operationId ?? 'unknown';
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.requestSeconds.observe({ route }, reply.elapsedTime / 1000);
  });
  // Before the server stops accepting: an open event stream would otherwise hold the close forever.
  app.addHook('preClose', async () => streams.closeAll());
  app.addHook('onClose', async () => {
    await context.workloads.close();
    ring.close();
    metrics.close();
    await audit?.flush();
  });

  void app.register(rateLimit, {
    global: true,
    hook: 'preParsing',
    max: rateLimits.perToken,
    timeWindow: rateLimits.windowMs,
    keyGenerator: (request) =>
      request.forgeToken ? `token:${request.forgeToken.id}` : `address:${request.ip}`,
    errorResponseBuilder: (_request, context) =>
      Object.assign(
        new ForgeError(
          'FORGE_API_RATE_LIMITED',
          `rate limit of ${context.max} requests per ${context.after} reached for this token; retry in ${Math.ceil(context.ttl / 1000)} s`,
        ),
        { statusCode: 429 },
      ),
  });
  void app.register(async (api) => {
    // Packages arrive as their bytes; the route's own body limit bounds them.
    api.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );
    addAuthentication(api, tokens, rateLimits);
    addRequestAudit(api, audit, kernel.clock);
    registerRoutes(api, apiRoutes, {
      ...kernelHandlers(context),
      ...packageHandlers(context),
      ...containerHandlers(context),
      ...workloadHandlers(context),
      ...trustHandlers(context),
      ...decisionHandlers(context),
      ...policyHandlers(context),
      ...approvalHandlers(context),
    } as never);
  });
  return app;
}

/** Answers anything thrown as an RFC 9457 problem (with its rate-limit headers on a 429). */
function sendProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const problem = problemOf(error, request.url.split('?')[0], String(request.id));
  const headers = (error as { headers?: Record<string, string> }).headers;
  if (headers && problem.status === 429) void reply.headers(headers);
  void reply.code(problem.status).type(PROBLEM_MEDIA_TYPE).serializer(JSON.stringify).send(problem);
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

/**
 * The trust root packages are verified against: the one the kernel booted on, or the one given,
 * refused when it is not the one the kernel booted on.
 */
function bootRootOf(kernel: Kernel, root: TrustRoot | undefined): TrustRoot | undefined {
  if (root === undefined) return bootTrustRoot(kernel.boot);
  const booted = kernel.boot?.root;
  if (!booted)
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      'API server option trustRoot was given, but the kernel booted without a trust root',
    );
  const keys = [...root.keys.keys()].sort().join(',');
  if (booted.version !== root.version || [...booted.keyIds].sort().join(',') !== keys)
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      `API server option trustRoot (v${root.version}) is not the root the kernel booted on (v${booted.version})`,
    );
  return root;
}

/**
 * Node's server options: the header bounds, and with TLS the certificate (https ignores fastify's
 * `http` options, so the bounds go with it).
 */
function serverOptions(limits: ApiServerLimits, tls: ApiTlsOptions | undefined) {
  const http = {
    headersTimeout: limits.headersTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    // Node checks the two timeouts only this often (default every 30 s, which let a trickling
    // client hold on for 75 s and more): a quarter of the header timeout, at most 1 s, closes it
    // at most that late.
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
  if (tls === undefined) return { http };
  return {
    https: {
      ...http,
      cert: tls.cert,
      key: tls.key,
      minVersion: 'TLSv1.2' as const,
      ...(tls.clientCa === undefined
        ? {}
        : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }),
    },
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
