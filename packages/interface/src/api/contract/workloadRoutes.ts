import { z } from 'zod';
import { policyNames, priorities } from '@forgeone/core';
import { defineRoute } from '../route';
import { LAUNCH_BODY_LIMIT } from './containerRoutes';
import { LaunchBodySchema } from './containerSchemas';
import { PackageRefSchema } from './packageSchemas';
import { OkSchema } from './shared';

/** A workload's id: its name among the scheduler's workloads (what `dependsOn` names). */
export const WorkloadIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'not a workload id (letters, digits, . _ -; at most 64)');

/** One workload: what runs (an installed package, or a development module) and how it is scheduled. */
export const WorkloadSpecSchema = z
  .strictObject({
    id: WorkloadIdSchema,
    priority: z.enum(priorities).optional(),
    tenant: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
      .optional()
      .describe('whose work it is (fair-share); default `default`'),
    dependsOn: z.array(WorkloadIdSchema).max(64).optional(),
    package: PackageRefSchema.optional(),
    module: LaunchBodySchema.shape.module,
    format: LaunchBodySchema.shape.format,
    isolation: LaunchBodySchema.shape.isolation,
    policy: LaunchBodySchema.shape.policy,
    limits: LaunchBodySchema.shape.limits,
  })
  .refine((w) => (w.module === undefined) !== (w.package === undefined), {
    message: 'give exactly one of module (a development module) and package (an installed package)',
  })
  .meta({ id: 'WorkloadSpec' });
export type WorkloadSpec = z.output<typeof WorkloadSpecSchema>;

export const WorkloadStateSchema = z.enum([
  'blocked',
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
]);

export const WorkloadInfoSchema = z
  .object({
    id: z.string(),
    state: WorkloadStateSchema,
    priority: z.enum(priorities),
    tenant: z.string(),
    waitingOn: z.array(z.string()).describe('dependencies not yet succeeded'),
    startOrder: z.number().int().nullable(),
    exitCode: z.number().int().nullable().optional(),
    reason: z.string().optional(),
    containerId: z
      .string()
      .optional()
      .describe('the id of the run that executed it (a one-shot run, not a registry entry)'),
  })
  .meta({ id: 'WorkloadInfo' });

const submit = defineRoute({
  method: 'POST',
  path: '/v1/workloads',
  operationId: 'submitWorkloads',
  summary: 'Submits workloads (a graph: dependsOn names others of the batch or earlier ones), all or none',
  tag: 'workloads',
  access: 'operator',
  body: z.strictObject({ workloads: z.array(WorkloadSpecSchema).min(1).max(256) }),
  bodyLimit: LAUNCH_BODY_LIMIT,
  status: 201,
  reply: z.object({ ids: z.array(z.string()), requestId: z.string() }),
});

const list = defineRoute({
  method: 'GET',
  path: '/v1/workloads',
  operationId: 'listWorkloads',
  summary: 'The queue (blocked, queued, running) and the recently finished, in submission order',
  tag: 'workloads',
  access: 'viewer',
  query: z.strictObject({ state: WorkloadStateSchema.optional() }),
  reply: z.object({
    scheduler: z.object({
      policy: z.enum(policyNames).or(z.string()),
      concurrency: z.number().int(),
      maxQueueDepth: z.number().int(),
      blocked: z.number().int(),
      queued: z.number().int(),
      running: z.number().int(),
      started: z.number().int(),
      finished: z.object({ succeeded: z.number(), failed: z.number(), cancelled: z.number() }),
      closed: z.boolean(),
    }),
    workloads: z.array(WorkloadInfoSchema),
  }),
});

const cancel = defineRoute({
  method: 'DELETE',
  path: '/v1/workloads/:id',
  operationId: 'cancelWorkload',
  summary: 'Cancels a workload not yet finished, and everything that depends on it',
  tag: 'workloads',
  access: 'operator',
  params: z.strictObject({ id: WorkloadIdSchema }),
  reply: OkSchema,
});

export const workloadRoutes = {
  submitWorkloads: submit,
  listWorkloads: list,
  cancelWorkload: cancel,
} as const;
