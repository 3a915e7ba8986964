import { ForgeError, decisionIdOf, type ContainerId } from '@forgeone/common';
import type { CallRange } from '@forgeone/core';
import { TraceDna, formatSummary, summarizeTrace, type TraceStore } from '@forgeone/observer';
import { type containerRoutes } from '../contract/containerRoutes';
import type { ApiContext, Handlers } from '../apiContext';
import { jsonSafe } from '../jsonSafe';
import { launchPolicyOf } from './launchPolicy';
import { installedPackageBytes } from '../installedPackages';
import { packageParts } from './packageHandlers';
import { fromWire, invokeResultToWire } from './typedValues';

/** Launch, list, get, invoke, pause, resume, stop, remove, and a container's trace, summary and DNA. */
export function containerHandlers(ctx: ApiContext): Handlers<typeof containerRoutes> {
  const { runtime } = ctx.kernel;
  const traces = (): TraceStore => {
    if (ctx.traces) return ctx.traces;
    throw new ForgeError('FORGE_API_NOT_AVAILABLE', 'this kernel keeps no durable traces (it has no store)');
  };
  return {
    listContainers: async ({ query }) => {
      const { limit, ...given } = query;
      const filter = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
      const all = await runtime.list(filter);
      return { containers: limit === undefined ? all : all.slice(0, limit) };
    },
    launchContainer: async ({ body }, call) => {
      const fromPackage = body.package;
      const parts = fromPackage ? packageParts(ctx) : undefined;
      if (!fromPackage && !ctx.developmentModules)
        throw new ForgeError(
          'FORGE_API_DEVELOPMENT_MODULE_REFUSED',
          'this daemon launches no unsigned development module: it booted on a trust root and development modules are not allowed',
        );
      const key = call.token?.id ?? 'anonymous';
      const running = ctx.launching.get(key) ?? 0;
      if (running >= ctx.launchesPerToken)
        throw new ForgeError(
          'FORGE_API_LAUNCH_LIMIT',
          `this token already has ${running} launches in progress (at most ${ctx.launchesPerToken}); wait for one to finish`,
        );
      ctx.launching.set(key, running + 1);
      try {
        const id = await runtime.launchContainer({
          // An installed package is verified again (expiry, signers, rollback floor) as it launches.
          ...(fromPackage && parts
            ? {
                package: await installedPackageBytes(parts.store, fromPackage.name, fromPackage.version),
                trustRoot: parts.trustRoot,
                versionStore: parts.store,
              }
            : { source: new Uint8Array(Buffer.from(body.module ?? '', 'base64')) }),
          ...(body.format ? { format: body.format } : {}),
          ...(body.name ? { name: body.name } : {}),
          ...(body.kind ? { kind: body.kind } : {}),
          ...(body.isolation ? { isolation: body.isolation } : {}),
          ...(body.limits ? { limits: definedOnly(body.limits) } : {}),
          policy: launchPolicyOf(body.policy),
          requestId: call.requestId,
        });
        call.caused({ containerId: id });
        return { id, container: await runtime.get(id), requestId: call.requestId };
      } finally {
        const left = (ctx.launching.get(key) ?? 1) - 1;
        if (left <= 0) ctx.launching.delete(key);
        else ctx.launching.set(key, left);
      }
    },
    getContainer: async ({ params }) => runtime.get(params.id as ContainerId),
    removeContainer: async ({ params }) => {
      await runtime.remove(params.id as ContainerId);
      return { ok: true };
    },
    invokeContainer: async ({ params, body }, call) => {
      const id = params.id as ContainerId;
      const result = await runtime.invoke(id, body.export, (body.args ?? []).map(fromWire), {
        requestId: call.requestId,
        ...(body.results ? { results: body.results } : {}),
      });
      const decisions = decisionRangeOf(id, result.calls);
      call.caused({ containerId: id, decisions });
      return { ...invokeResultToWire(result), requestId: call.requestId, decisions };
    },
    pauseContainer: async ({ params }) => runtime.pause(params.id as ContainerId),
    resumeContainer: async ({ params }) => runtime.resume(params.id as ContainerId),
    stopContainer: async ({ params, query }) =>
      runtime.stop(
        params.id as ContainerId,
        query.deadlineMs === undefined ? {} : { deadlineMs: query.deadlineMs },
      ),
    getContainerTrace: async ({ params, query }) => {
      await runtime.get(params.id as ContainerId);
      const page = await traces().page({
        containerId: params.id,
        ...(query.fromSeq === undefined ? {} : { fromSeq: query.fromSeq }),
        ...(query.limit === undefined ? {} : { limit: query.limit }),
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
        ...(query.syscall === undefined ? {} : { syscall: query.syscall }),
        ...(query.decision === undefined ? {} : { decision: query.decision }),
      });
      return {
        // Each call names its decision: GET /v1/decisions/{decisionId} has its audit record.
        events: page.events.map((e) => ({
          ...(jsonSafe(e) as Record<string, unknown>),
          decisionId: decisionIdOf(params.id, e.seq),
        })),
        ...(page.next === undefined ? {} : { next: page.next }),
      };
    },
    getContainerSummary: async ({ params, query }) => {
      await runtime.get(params.id as ContainerId);
      const summary = await summarizeTrace(traces().records(params.id), {
        format: 'json',
        ...(query.budget === undefined ? {} : { budget: query.budget }),
      });
      return { summary: jsonSafe(summary) as Record<string, unknown>, text: formatSummary(summary, 'text') };
    },
    getContainerDna: async ({ params }) => {
      await runtime.get(params.id as ContainerId);
      const dna = new TraceDna(params.id);
      for await (const record of traces().records(params.id))
        if (record.kind === 'call') dna.observe(record.event);
      return { dna: jsonSafe(dna.snapshot()) as Record<string, unknown> };
    },
  };
}

/** The decisions an invoke's syscalls got, as ids a client can look up. */
function decisionRangeOf(id: ContainerId, calls: CallRange | undefined) {
  if (calls === undefined || calls.toSeq < calls.fromSeq) return { count: 0 };
  return {
    count: calls.toSeq - calls.fromSeq + 1,
    fromSeq: calls.fromSeq,
    toSeq: calls.toSeq,
    first: decisionIdOf(id, calls.fromSeq),
    last: decisionIdOf(id, calls.toSeq),
  };
}

/** An object without its undefined fields (the kernel's options take a field or its absence). */
function definedOnly<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
