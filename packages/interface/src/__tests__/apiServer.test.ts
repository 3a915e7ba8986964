import { afterEach, describe, expect, it } from 'vitest';
import { createApiServer, createKernel, type Kernel } from '../index';

let kernel: Kernel | undefined;
afterEach(async () => kernel?.shutdown());

describe('API server', () => {
  it('answers /v1/health over real HTTP', async () => {
    kernel = await createKernel({ config: { mode: 'audit' } });
    const app = createApiServer({ kernel });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const response = await fetch(`${address}/v1/health`);
      expect(response.status).toBe(200);
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

  it('runs the self-test', async () => {
    kernel = await createKernel();
    const app = createApiServer({ kernel });
    const response = await app.inject({ method: 'GET', url: '/v1/selftest' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ ok: true });
  });

  it('answers /v1/boot with the boot context (null for a kernel composed without boot)', async () => {
    kernel = await createKernel({ boot: { mode: 'maintenance' } });
    const response = await createApiServer({ kernel }).inject({ method: 'GET', url: '/v1/boot' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      ok: true,
      boot: { mode: 'maintenance', root: null, revocation: { status: 'unknown' }, selfTest: { ok: true } },
    });
    await kernel.shutdown();
    kernel = await createKernel();
    const unbooted = await createApiServer({ kernel }).inject({ method: 'GET', url: '/v1/boot' });
    expect(unbooted.json()).toEqual({ ok: true, boot: null });
  });

  it('answers unknown routes and methods with a coded 404', async () => {
    kernel = await createKernel();
    const app = createApiServer({ kernel });
    const response = await app.inject({ method: 'POST', url: '/v1/nothing', payload: { a: 1 } });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ ok: false, code: 'FORGE_NOT_FOUND' });
  });

  it('refuses a malformed JSON body with a coded 4xx, never a 500', async () => {
    kernel = await createKernel();
    const app = createApiServer({ kernel });
    app.post('/v1/echo', async (request) => request.body);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ ok: false, code: 'FORGE_INVALID_INPUT' });
  });
});
