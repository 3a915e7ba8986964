import { afterEach, describe, expect, it } from 'vitest';
import { apiRoutes, createApiServer, createKernel, openApiPath, type Kernel, type RouteSpec } from '../index';

let kernel: Kernel | undefined;
afterEach(async () => kernel?.shutdown());

type Operation = {
  operationId: string;
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  'x-forgeone-role': string;
  security?: unknown[];
};

describe('OpenAPI document', () => {
  it('lists exactly the routes fastify registered, with their parameters, bodies and roles', async () => {
    kernel = await createKernel();
    const app = createApiServer({ kernel });
    const registered: { method: string; url: string; schema: Record<string, unknown> | undefined }[] = [];
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat())
        if (method !== 'HEAD') registered.push({ method, url: route.url, schema: route.schema as never });
    });
    await app.ready();
    const response = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json() as { openapi: string; paths: Record<string, Record<string, Operation>> };
    expect(doc.openapi).toBe('3.1.0');

    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const served = registered.map((r) => `${r.method} ${openApiPath(r.url)}`);
    expect(new Set(served)).toEqual(new Set(documented));
    expect(served).toHaveLength(documented.length);

    for (const r of registered) {
      const op = doc.paths[openApiPath(r.url)]![r.method.toLowerCase()]!;
      const declared: RouteSpec = Object.values(apiRoutes).find(
        (d) => d.path === r.url && d.method === r.method,
      )!;
      expect(op.operationId).toBe(declared.operationId);
      expect(op['x-forgeone-role']).toBe(declared.access);
      // Path parameters: the same names in the URL, the fastify schema and the document.
      const inPath = [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
      const documentedPath = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      expect(documentedPath).toEqual(inPath);
      expect(Boolean(r.schema?.['params'])).toBe(inPath.length > 0);
      expect(Boolean(op.requestBody)).toBe(Boolean(r.schema?.['body']));
      expect(Boolean((op.parameters ?? []).some((p) => p.in === 'query'))).toBe(
        Boolean(r.schema?.['querystring']),
      );
      // Every authenticated route documents 401, 403 and 429; public ones drop the security requirement.
      if (declared.access === 'public') expect(op.security).toEqual([]);
      else expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
      expect(Object.keys(op.responses)).toContain(String(declared.status ?? 200));
    }
    await app.close();
  });

  it('resolves every $ref to a component', async () => {
    kernel = await createKernel();
    const app = createApiServer({ kernel });
    const text = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).body;
    const doc = JSON.parse(text) as { components: { schemas: Record<string, unknown> } };
    const refs = [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(doc.components.schemas, ref).toHaveProperty(ref);
    expect(text).not.toContain('$defs');
    await app.close();
  });
});
