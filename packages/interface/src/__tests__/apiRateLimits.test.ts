import { afterEach, describe, expect, it } from 'vitest';
import { SERVICE_LAUNCH, base64, serve, type Served } from './support/apiKernel';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe('rate limits', () => {
  it('answers a token over its limit 429 with Retry-After and the draft RateLimit headers; other tokens go on', async () => {
    served = await serve({ server: { rateLimits: { perToken: 5, windowMs: 60_000 } } });
    const url = `${served.address}/v1/containers`;
    for (let i = 0; i < 5; i += 1) {
      const ok = await fetch(url, { headers: auth(served.token.viewer) });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('ratelimit-policy')).toBe('"token";q=5;w=60');
      expect(ok.headers.get('ratelimit')).toMatch(new RegExp(`^"token";r=${4 - i};t=\\d+$`));
      expect(ok.headers.get('x-ratelimit-limit')).toBeNull();
    }
    const limited = await fetch(url, { headers: auth(served.token.viewer) });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit')).toMatch(/^"token";r=0;t=\d+$/);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(await limited.json()).toMatchObject({ code: 'FORGE_API_RATE_LIMITED', status: 429 });
    expect((await fetch(url, { headers: auth(served.token.operator) })).status).toBe(200);
    // Liveness is never limited.
    expect((await fetch(`${served.address}/v1/health`)).status).toBe(200);
  });

  it('limits failed authentications per address harder, and then refuses even a good token from it', async () => {
    served = await serve({ server: { rateLimits: { failedAuth: 3 } } });
    const url = `${served.address}/v1/containers`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1)
      statuses.push((await fetch(url, { headers: { authorization: 'Bearer fo1_guess' } })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const good = await fetch(url, { headers: auth(served.token.admin) });
    expect(good.status).toBe(429);
    expect(good.headers.get('ratelimit-policy')).toBe('"failed-auth";q=3;w=60');
    expect(Number(good.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('limits requests per client address whatever tokens it uses', async () => {
    served = await serve({ server: { rateLimits: { perAddress: 4 } } });
    const url = `${served.address}/v1/containers`;
    const statuses: number[] = [];
    for (const token of [
      served.token.viewer,
      served.token.operator,
      served.token.admin,
      served.token.viewer,
      served.token.admin,
    ])
      statuses.push((await fetch(url, { headers: auth(token) })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });

  it('bounds the launches a token has in progress at once', async () => {
    served = await serve({ server: { rateLimits: { launchesPerToken: 2 } } });
    // A module whose start function spins until its deadline: its launch stays in progress that long.
    const spinning = {
      module: base64('(module (func $spin (loop $l (br $l))) (start $spin) (func (export "f")))'),
      isolation: 'worker',
      limits: { timeoutMs: 4000 },
      policy: { mode: 'enforce', allow: [] },
    };
    const launch = (body: unknown, token = served!.token.operator) =>
      fetch(`${served!.address}/v1/containers`, {
        method: 'POST',
        headers: { ...auth(token), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    let starting = 0;
    const twoStarting = new Promise<void>((done) =>
      served!.kernel.events.on('container.state', (e) => {
        if (e.state === 'starting' && ++starting === 2) done();
      }),
    );
    const first = [launch(spinning), launch(spinning)];
    await twoStarting;
    const third = await launch(SERVICE_LAUNCH);
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ code: 'FORGE_API_LAUNCH_LIMIT' });
    // Another token is not held by this one's launches.
    expect((await launch(SERVICE_LAUNCH, served.token.admin)).status).toBe(201);
    // The spinning ones end at their deadline (launched, then failed: never a 500); then the token launches again.
    for (const answer of await Promise.all(first)) expect(answer.status).toBe(201);
    expect((await launch(SERVICE_LAUNCH)).status).toBe(201);
  });
});
