import { z } from 'zod';
import { decisionActions } from '@forgeone/common';
import { defineRoute } from '../route';
import { InvokeBodySchema, InvokeReplySchema, LaunchBodySchema } from './containerSchemas';
import {
  ContainerIdParams,
  ContainerInfoSchema,
  ContainerStateSchema,
  JsonObject,
  OkSchema,
  queryInt,
} from './shared';

/** A launch carries a module (base64): up to 16 MiB of module, which is more than any other body. */
export const LAUNCH_BODY_LIMIT = 24 * 1024 * 1024;

const list = defineRoute({
  method: 'GET',
  path: '/v1/containers',
  operationId: 'listContainers',
  summary: 'Containers of the registry, oldest first, filtered',
  tag: 'containers',
  access: 'viewer',
  query: z.strictObject({
    state: ContainerStateSchema.optional(),
    kind: z.enum(['command', 'service']).optional(),
    name: z.string().max(128).optional(),
    subject: z.string().max(256).optional(),
    limit: queryInt(1, 1000).optional(),
  }),
  reply: z.object({ containers: z.array(ContainerInfoSchema) }),
});

const launch = defineRoute({
  method: 'POST',
  path: '/v1/containers',
  operationId: 'launchContainer',
  summary: 'Launches a development module (only where the daemon allows unsigned modules)',
  tag: 'containers',
  access: 'operator',
  body: LaunchBodySchema,
  status: 201,
  bodyLimit: LAUNCH_BODY_LIMIT,
  reply: z.object({ id: z.string(), container: ContainerInfoSchema, requestId: z.string() }),
});

const get = defineRoute({
  method: 'GET',
  path: '/v1/containers/:id',
  operationId: 'getContainer',
  summary: "A container's registry entry",
  tag: 'containers',
  access: 'viewer',
  params: ContainerIdParams,
  reply: ContainerInfoSchema,
});

const remove = defineRoute({
  method: 'DELETE',
  path: '/v1/containers/:id',
  operationId: 'removeContainer',
  summary: 'Removes a stopped or failed container from the registry',
  tag: 'containers',
  access: 'operator',
  params: ContainerIdParams,
  reply: OkSchema,
});

const invoke = defineRoute({
  method: 'POST',
  path: '/v1/containers/:id/invoke',
  operationId: 'invokeContainer',
  summary: "Calls a service's export",
  tag: 'containers',
  access: 'operator',
  params: ContainerIdParams,
  body: InvokeBodySchema,
  bodyLimit: 4 * 1024 * 1024,
  reply: InvokeReplySchema,
});

const action = (name: 'pause' | 'resume' | 'stop', summary: string) =>
  defineRoute({
    method: 'POST',
    path: `/v1/containers/:id/${name}`,
    operationId: `${name}Container`,
    summary,
    tag: 'containers',
    access: 'operator',
    params: ContainerIdParams,
    reply: ContainerInfoSchema,
  });

const stop = defineRoute({
  ...action('stop', 'Stops a container (the call in flight gets deadlineMs to finish)'),
  query: z.strictObject({ deadlineMs: queryInt(0, 600_000).optional() }),
});

const trace = defineRoute({
  method: 'GET',
  path: '/v1/containers/:id/trace',
  operationId: 'getContainerTrace',
  summary: "A page of a container's durable trace (follow `next`)",
  tag: 'containers',
  access: 'viewer',
  params: ContainerIdParams,
  query: z.strictObject({
    fromSeq: queryInt(1, Number.MAX_SAFE_INTEGER).optional(),
    limit: queryInt(1, 10_000).optional(),
    cursor: z.string().max(256).optional(),
    syscall: z.string().max(128).optional(),
    decision: z.enum(decisionActions).optional(),
  }),
  reply: z.object({ events: z.array(JsonObject), next: z.string().optional() }),
});

const summary = defineRoute({
  method: 'GET',
  path: '/v1/containers/:id/summary',
  operationId: 'getContainerSummary',
  summary: "A summary of a container's trace for people and language models, within a token budget",
  tag: 'containers',
  access: 'viewer',
  params: ContainerIdParams,
  query: z.strictObject({ budget: queryInt(256, 100_000).optional() }),
  reply: z.object({ summary: JsonObject, text: z.string() }),
});

const dna = defineRoute({
  method: 'GET',
  path: '/v1/containers/:id/dna',
  operationId: 'getContainerDna',
  summary: "A container's execution DNA, from its durable trace",
  tag: 'containers',
  access: 'viewer',
  params: ContainerIdParams,
  reply: z.object({ dna: JsonObject }),
});

export const containerRoutes = {
  listContainers: list,
  launchContainer: launch,
  getContainer: get,
  removeContainer: remove,
  invokeContainer: invoke,
  pauseContainer: action('pause', 'Pauses a running container (the next call waits)'),
  resumeContainer: action('resume', 'Resumes a paused container'),
  stopContainer: stop,
  getContainerTrace: trace,
  getContainerSummary: summary,
  getContainerDna: dna,
} as const;
