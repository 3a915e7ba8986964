import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForgeError } from '@forgeone/common';
import { rateLimitHeaders, rateLimited, type ApiRateLimits } from './rateLimits';
import { roleAllows } from './roles';
import type { RouteSpec } from './route';
import type { TokenInfo, TokenStore } from './tokenStore';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's declaration (absent on routes not declared in apiRoutes). */
    forge?: RouteSpec;
  }
  interface FastifyRequest {
    /** The token that authenticated the request. */
    forgeToken: TokenInfo | undefined;
  }
}

const BEARER = /^Bearer ([\x21-\x7e]{1,256})$/;

/**
 * Bearer authentication and role checks on every declared non-public route, with the per-address
 * and failed-authentication limits (the per-token limit is @fastify/rate-limit's, keyed by the
 * token this hook found). Runs at `onRequest`, before any body is read.
 */
export function addAuthentication(app: FastifyInstance, tokens: TokenStore, limits: ApiRateLimits): void {
  app.decorateRequest('forgeToken', undefined);
  const byAddress = app.createRateLimit({
    max: limits.perAddress,
    timeWindow: limits.windowMs,
    keyGenerator: (request: FastifyRequest) => `address:${request.ip}`,
  });
  const failures = app.createRateLimit({
    max: limits.failedAuth,
    timeWindow: limits.windowMs,
    keyGenerator: (request: FastifyRequest) => `failed:${request.ip}`,
  });
  const refuse = (policy: string, limit: number, ttlSeconds: number, what: string) =>
    rateLimited(`too many ${what} from this address; retry in ${Math.ceil(ttlSeconds)} s`, {
      'retry-after': String(Math.max(1, Math.ceil(ttlSeconds))),
      ...rateLimitHeaders(policy, limit, limits.windowMs, 0, ttlSeconds),
    });
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.config.forge;
    if (route === undefined || route.access === 'public') return;
    const address = await byAddress(request);
    if (!address.isAllowed && address.isExceeded)
      throw refuse('address', address.max, address.ttlInSeconds, 'requests');
    // Failed attempts so far (not counting this one): over the limit, nothing is checked at all.
    const before = await failures(request, { increment: false });
    if (!before.isAllowed && before.isExceeded)
      throw refuse('failed-auth', before.max, before.ttlInSeconds, 'failed authentications');
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? BEARER.exec(header) : null;
    const verdict = match ? await tokens.verify(match[1]!) : { ok: false as const, reason: 'missing' };
    if (!verdict.ok) {
      const after = await failures(request);
      if (!after.isAllowed && after.isExceeded)
        throw refuse('failed-auth', after.max, after.ttlInSeconds, 'failed authentications');
      throw new ForgeError(
        'FORGE_API_UNAUTHENTICATED',
        verdict.reason === 'missing'
          ? 'this route needs a bearer token (Authorization: Bearer <token>); make one with `forgeoned token create`'
          : `the bearer token is ${verdict.reason === 'unknown' || verdict.reason === 'malformed' ? 'not valid' : verdict.reason}`,
        { details: { reason: verdict.reason } },
      );
    }
    request.forgeToken = verdict.info;
    if (!roleAllows(verdict.info.role, route.access))
      throw new ForgeError(
        'FORGE_API_FORBIDDEN',
        `${route.method} ${route.path} needs the ${route.access} role; token ${verdict.info.name} is ${verdict.info.role}`,
        { details: { needed: route.access, role: verdict.info.role } },
      );
  });
}
