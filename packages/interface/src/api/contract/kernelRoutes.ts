import { z } from 'zod';
import { defineRoute } from '../route';
import { JsonObject } from './shared';

const health = defineRoute({
  method: 'GET',
  path: '/v1/health',
  operationId: 'getHealth',
  summary: 'Liveness: the kernel answers (no token needed)',
  tag: 'kernel',
  access: 'public',
  reply: z.object({
    ok: z.literal(true),
    kernel: z.string(),
    mode: z.string(),
    store: z.string().nullable(),
    uptimeMs: z.number(),
  }),
});

const ready = defineRoute({
  method: 'GET',
  path: '/v1/ready',
  operationId: 'getReady',
  summary: 'Readiness: booted, store answering, launches accepted',
  tag: 'kernel',
  access: 'viewer',
  reply: z.object({
    ok: z.boolean(),
    checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string().optional() })),
  }),
});

const boot = defineRoute({
  method: 'GET',
  path: '/v1/boot',
  operationId: 'getBoot',
  summary: 'What the kernel booted with (mode, trust root, revocation, self-test); null when it did not boot',
  tag: 'kernel',
  access: 'viewer',
  reply: z.object({ ok: z.literal(true), boot: JsonObject.nullable() }),
});

const selftest = defineRoute({
  method: 'GET',
  path: '/v1/selftest',
  operationId: 'getSelfTest',
  summary: 'Runs the self-test (known-answer tests); 503 when it fails',
  tag: 'kernel',
  access: 'viewer',
  reply: z.looseObject({ ok: z.boolean() }),
});

const config = defineRoute({
  method: 'GET',
  path: '/v1/config',
  operationId: 'getConfig',
  summary: 'The effective configuration, secrets redacted',
  tag: 'kernel',
  access: 'viewer',
  reply: z.object({ ok: z.literal(true), config: JsonObject }),
});

const openapi = defineRoute({
  method: 'GET',
  path: '/v1/openapi.json',
  operationId: 'getOpenApi',
  summary: 'This OpenAPI 3.1 document',
  tag: 'kernel',
  access: 'public',
  reply: JsonObject,
});

const events = defineRoute({
  method: 'GET',
  path: '/v1/events',
  operationId: 'getEvents',
  summary: 'Server-Sent Events of kernel events; Last-Event-ID resumes from the recent ones kept',
  tag: 'kernel',
  access: 'viewer',
  query: z.strictObject({
    types: z
      .string()
      .max(512)
      .regex(/^[a-z.,]+$/)
      .optional()
      .describe('comma-separated event types (default: all but syscall.decided)'),
  }),
  produces: 'text/event-stream',
});

const metrics = defineRoute({
  method: 'GET',
  path: '/metrics',
  operationId: 'getMetrics',
  summary: 'Prometheus metrics (text format)',
  tag: 'kernel',
  access: 'viewer',
  produces: 'text/plain; version=0.0.4; charset=utf-8',
});

export const kernelRoutes = {
  getHealth: health,
  getReady: ready,
  getBoot: boot,
  getSelfTest: selftest,
  getConfig: config,
  getOpenApi: openapi,
  getEvents: events,
  getMetrics: metrics,
} as const;
