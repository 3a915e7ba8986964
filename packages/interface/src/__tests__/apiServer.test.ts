import { afterEach, describe, expect, it } from 'vitest';
import { ProblemSchema, PROBLEM_MEDIA_TYPE, createApiServer, createKernel, type Kernel } from '../index';
import { serve, type Served } from './support/apiKernel';

let served: Served | undefined;
let kernel: Kernel | undefined;
afterEach(async () => {
  await served?.close();
  await kernel?.shutdown();
  served = undefined;
  kernel = undefined;
});

/** A problem document, checked: its media type, its schema, no stack and no path. */
async function problem(response: Response) {
  expect(response.headers.get('content-type')).toContain(PROBLEM_MEDIA_TYPE);
  const text = await response.text();
  expect(text).not.toMatch(/at .*\(.*:\d+:\d+\)|node_modules|\/tmp\/|\/work\//);
  const body = ProblemSchema.parse(JSON.parse(text));
  expect(body.status).toBe(response.status);
  expect(body.type).toBe(`urn:forgeone:error:${body.code}`);
  return body;
}

describe('API server', () => {
  it('answers /v1/health over real HTTP without a token', async () => {
    kernel = await createKernel({ config: { mode: 'audit' } });
    const app = createApiServer({ kernel });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const response = await fetch(`${address}/v1/health`);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(await response.json()).toMatchObject({
        ok: true,
        kernel: kernel.id,
        mode: 'audit',
        store: null,
      });
    } finally {
      await app.close();
    }
  });

  it('serves boot, self-test, readiness and configuration to a viewer', async () => {
    served = await serve({ kernel: { boot: { mode: 'maintenance' } } });
    const viewer = served.client('viewer');
    expect(await viewer.call('getBoot')).toMatchObject({
      ok: true,
      boot: { mode: 'maintenance', root: null, selfTest: { ok: true } },
    });
    expect(await viewer.call('getSelfTest')).toMatchObject({ ok: true });
    // Maintenance takes no launch: not ready, 503 with the checks.
    const ready = await fetch(`${served.address}/v1/ready`, {
      headers: { authorization: `Bearer ${served.token.viewer}` },
    });
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      ok: false,
      checks: expect.arrayContaining([{ name: 'launches', ok: false, detail: expect.any(String) }]),
    });
    const config = await viewer.call('getConfig');
    expect(config.config).toMatchObject({ mode: expect.any(String), limits: expect.any(Object) });
  });

  it('answers unknown routes and methods with a 404 problem', async () => {
    served = await serve();
    for (const [method, path] of [
      ['POST', '/v1/nothing'],
      ['PUT', '/v1/health'],
      ['GET', '/v1/../../etc/passwd'],
    ] as const) {
      const response = await fetch(`${served.address}${path}`, {
        method,
        body: method === 'GET' ? null : '{}',
      });
      expect(response.status).toBe(404);
      expect((await problem(response)).code).toBe('FORGE_NOT_FOUND');
    }
  });

  it('refuses malformed JSON, wrong types, unknown fields and invalid ids with 400 problems, never a 500', async () => {
    served = await serve();
    const headers = { authorization: `Bearer ${served.token.operator}`, 'content-type': 'application/json' };
    const cases: [string, string, string | undefined][] = [
      ['POST', '/v1/containers', '{"module":'],
      ['POST', '/v1/containers', '{"module": 7, "policy": {"mode": "enforce", "allow": []}}'],
      [
        'POST',
        '/v1/containers',
        '{"module": "AAAA", "policy": {"mode": "enforce", "allow": []}, "extra": 1}',
      ],
      ['GET', '/v1/containers/not-an-id', undefined],
      ['GET', '/v1/containers/ctr_..%2F..%2Fetc', undefined],
      ['GET', '/v1/containers?limit=-4', undefined],
      ['GET', '/v1/containers?surprise=1', undefined],
    ];
    for (const [method, path, body] of cases) {
      const response = await fetch(`${served.address}${path}`, {
        method,
        headers,
        ...(body ? { body } : {}),
      });
      expect(response.status, `${method} ${path}`).toBe(400);
      expect((await problem(response)).code).toBe('FORGE_INVALID_INPUT');
    }
    expect(await served.kernel.runtime.list()).toEqual([]);
  });

  it('answers a thrown internal error with a 500 problem without its message, stack or path', async () => {
    served = await serve();
    // The store fails under the handler (closed): what the error says stays inside.
    const original = served.kernel.runtime.list.bind(served.kernel.runtime);
    served.kernel.runtime.list = async () => {
      throw new TypeError(`cannot read /work/secret/forgeone.db at ${import.meta.url}`);
    };
    try {
      const response = await fetch(`${served.address}/v1/containers`, {
        headers: { authorization: `Bearer ${served.token.viewer}` },
      });
      expect(response.status).toBe(500);
      const body = await problem(response);
      expect(body).toMatchObject({
        code: 'FORGE_INTERNAL',
        detail: 'internal error',
        instance: '/v1/containers',
      });
      expect(body.requestId).toBe(response.headers.get('x-request-id'));
    } finally {
      served.kernel.runtime.list = original;
    }
  });

  it('refuses a body over the route limit with 413', async () => {
    served = await serve();
    const response = await fetch(`${served.address}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${served.token.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'viewer', name: 'x'.repeat(100_000) }),
    });
    expect(response.status).toBe(413);
    expect((await problem(response)).code).toBe('FORGE_API_BODY_TOO_LARGE');
    expect(await served.tokens.list()).toHaveLength(3);
  });
});
