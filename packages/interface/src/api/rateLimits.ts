import { ForgeError } from '@forgeone/common';

/** How many requests a client may make, and how many launches a token may have in progress. */
export interface ApiRateLimits {
  /** Requests per window per token. Default 600. */
  readonly perToken: number;
  /** Requests per window per client address, whatever its tokens. Default 1,200. */
  readonly perAddress: number;
  /** Failed authentications per window per address, before even a good token is answered 429. Default 10. */
  readonly failedAuth: number;
  /** The window, ms. Default 60,000. */
  readonly windowMs: number;
  /** Launches in progress at once per token. Default 4. */
  readonly launchesPerToken: number;
}

export const defaultApiRateLimits: ApiRateLimits = {
  perToken: 600,
  perAddress: 1200,
  failedAuth: 10,
  windowMs: 60_000,
  launchesPerToken: 4,
};

/** Checks the limits: each a whole number of at least 1. */
export function checkRateLimits(limits: ApiRateLimits): ApiRateLimits {
  for (const [name, value] of Object.entries(limits))
    if (!Number.isSafeInteger(value) || value < 1)
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        `API rate limit ${name} must be an integer ≥ 1, got ${String(value)}`,
        {
          details: { field: name },
        },
      );
  return limits;
}

/** The IETF draft's two headers (draft-ietf-httpapi-ratelimit-headers): the policy and what is left of it. */
export function rateLimitHeaders(
  policy: string,
  limit: number,
  windowMs: number,
  remaining: number,
  resetSeconds: number,
): Record<string, string> {
  return {
    'ratelimit-policy': `"${policy}";q=${limit};w=${Math.ceil(windowMs / 1000)}`,
    ratelimit: `"${policy}";r=${Math.max(0, remaining)};t=${Math.max(0, Math.ceil(resetSeconds))}`,
  };
}

/** A 429 refusal, with the headers it is answered with. */
export function rateLimited(
  message: string,
  headers: Record<string, string>,
): ForgeError & { headers: Record<string, string> } {
  return Object.assign(new ForgeError('FORGE_API_RATE_LIMITED', message), { headers });
}

/**
 * Rewrites @fastify/rate-limit's `x-ratelimit-*` headers (the only set it writes) into the IETF
 * draft's `RateLimit-Policy` and `RateLimit`, keeping its `Retry-After`.
 */
export function draftRateLimitHeaders(
  reply: {
    getHeader(name: string): unknown;
    header(name: string, value: string): unknown;
    removeHeader(name: string): unknown;
  },
  windowMs: number,
): void {
  const limit = reply.getHeader('x-ratelimit-limit');
  if (limit === undefined) return;
  const remaining = Number(reply.getHeader('x-ratelimit-remaining') ?? 0);
  const reset = Number(reply.getHeader('x-ratelimit-reset') ?? 0);
  for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'])
    reply.removeHeader(name);
  for (const [name, value] of Object.entries(
    rateLimitHeaders('token', Number(limit), windowMs, remaining, reset),
  ))
    reply.header(name, value);
}
