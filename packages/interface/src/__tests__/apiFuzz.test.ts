import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemSchema, apiRoutes, openApiPath, type RouteSpec } from '../index';
import { SERVICE_LAUNCH, serve, type Served } from './support/apiKernel';

let served: Served;
let containerId = '';
beforeAll(async () => {
  served = await serve({
    // A live policy, so that the policy routes answer (a kernel without one answers them 501).
    kernel: { policy: { allow: ['forge.clock_now'] } },
    server: { rateLimits: { perToken: 1e6, perAddress: 1e6, failedAuth: 1e6 } },
  });
  containerId = (await served.client('operator').call('launchContainer', { body: SERVICE_LAUNCH })).id;
});
afterAll(async () => served?.close());

// The event stream answers a stream, not a document: its refusals are fuzzed, its success is not read.
const routes = Object.values(apiRoutes as Record<string, RouteSpec>);

const idLike = fc.oneof(
  fc.constant(Object.assign(() => containerId, { toString: () => 'the container' })),
  fc.constant(() => 'ctr_00000000000000000000000000'),
  fc.string({ maxLength: 40 }).map((s) => () => s),
  fc
    .constantFrom('..%2F..%2Fetc%2Fpasswd', '%00', 'ctr_' + 'a'.repeat(300), 'runner', 'boss')
    .map((s) => () => s),
);
const queryValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer().map(String),
  fc.constantFrom('-1', '1e9', 'running'),
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constant('{"module":'),
  fc.constant(JSON.stringify({ ...SERVICE_LAUNCH, extra: true })),
  fc.constant(
    JSON.stringify({
      export: 'add',
      args: [
        { type: 'i32', value: 1 },
        { type: 'i32', value: 2 },
      ],
    }),
  ),
  fc.constant(JSON.stringify({ role: 'viewer' })),
);
const request = fc.record({
  operation: fc.constantFrom(...routes.map((r) => r.operationId)),
  id: idLike,
  query: fc.dictionary(
    fc.constantFrom('state', 'limit', 'fromSeq', 'cursor', 'budget', 'deadlineMs', 'types', 'surprise'),
    queryValue,
    { maxKeys: 3 },
  ),
  body,
  who: fc.constantFrom('none', 'bad', 'viewer', 'operator', 'admin'),
});

describe('API under random requests built from its route table', () => {
  it('answers every request with a documented status and a schema-valid body, and stays up', async () => {
    const doc = (await (await fetch(`${served.address}/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    await fc.assert(
      fc.asyncProperty(request, async ({ operation, id, query, body, who }) => {
        const route = routes.find((r) => r.operationId === operation)!;
        const path = route.path.replace(/:[A-Za-z]+/g, () => encodeURIComponent(id()).replaceAll('%25', '%'));
        const qs = new URLSearchParams(query).toString();
        const headers: Record<string, string> = {};
        if (who === 'bad') headers['authorization'] = 'Bearer fo1_0000000000000000_' + 'A'.repeat(43);
        else if (who !== 'none') headers['authorization'] = `Bearer ${served.token[who]}`;
        if (body !== undefined && route.method !== 'GET') headers['content-type'] = 'application/json';
        const abort = new AbortController();
        const response = await fetch(`${served.address}${path}${qs ? `?${qs}` : ''}`, {
          method: route.method,
          headers,
          ...(body !== undefined && route.method !== 'GET' ? { body } : {}),
          signal: abort.signal,
        });
        const status = response.status;
        expect(status, `${route.method} ${path}`).toBeLessThan(500);
        const documented = Object.keys(
          doc.paths[openApiPath(route.path)]?.[route.method.toLowerCase()]?.responses ?? {},
        );
        const ok = status === (route.status ?? 200) || (status === 503 && route.operationId === 'getReady');
        if (ok && route.produces) {
          abort.abort();
          return;
        }
        const text = await response.text();
        if (ok) {
          expect(documented).toContain(String(status));
          if (route.reply && status !== 503)
            expect(route.reply.safeParse(JSON.parse(text)).success, text).toBe(true);
        } else {
          expect(documented.includes(String(status)) || documented.includes('4XX')).toBe(true);
          expect(response.headers.get('content-type'), `${status} ${text}`).toContain(
            'application/problem+json',
          );
          const problem = ProblemSchema.parse(JSON.parse(text));
          expect(problem.status).toBe(status);
          expect(text).not.toMatch(/node_modules|\/tmp\/|\/work\/|\n\s+at /);
        }
      }),
      { numRuns: 150 },
    );
    expect((await fetch(`${served.address}/v1/health`)).status).toBe(200);
  });
});
