import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JsonValue } from '@forgeone/common';
import type { AuditLog, LivePolicyMeta, PolicyVersion } from '@forgeone/trust';
import type { TraceStore } from '@forgeone/observer';
import type { SelfTestReport } from '@forgeone/diagnostics';
import type { TrustRoot } from '@forgeone/crypto';
import type { Kernel } from '../createKernel';
import type { ApiRoutes } from './apiRoutes';
import type { EventStreams } from './sse';
import type { ApiMetrics } from './metrics';
import type { RouteInput, RouteReply, RouteSpec } from './route';
import type { TokenInfo, TokenStore } from './tokenStore';
import type { WorkloadQueue } from './workloadQueue';

/** What every handler can reach: the kernel and the server's own parts. */
export interface ApiContext {
  readonly kernel: Kernel;
  readonly tokens: TokenStore;
  /** Where API changes are attributed (the kernel's audit chain); undefined without a store. */
  readonly audit: AuditLog | undefined;
  readonly traces: TraceStore | undefined;
  readonly streams: EventStreams;
  readonly metrics: ApiMetrics;
  readonly selfTest: () => Promise<SelfTestReport>;
  readonly openApi: () => Record<string, unknown>;
  readonly startedAt: number;
  /** The verified root the kernel booted on: packages are checked against it (undefined: no uploads). */
  readonly trustRoot: TrustRoot | undefined;
  /** Whether unsigned development modules may be launched. */
  readonly developmentModules: boolean;
  /** Most launches in progress at once per token. */
  readonly launchesPerToken: number;
  readonly launching: Map<string, number>;
  /** The queue of `/v1/workloads` (core's Scheduler over the kernel's runtime). */
  readonly workloads: WorkloadQueue;
  /** Where the live policy's versions come from, when not the API (a daemon's policy directory). */
  readonly policyDirectory: PolicyDirectorySource | undefined;
}

/**
 * A policy directory as the source of the live policy's versions (forgeoned `--policy-dir`): an
 * upload is written there as the next version's file and put in force from it, so the directory
 * and the kernel never disagree, and the version outlives a restart.
 */
export interface PolicyDirectorySource {
  /** Writes the (already checked) document, and its test cases, as the directory's next version and reloads it. */
  add(
    version: { readonly document: string; readonly tests?: string },
    meta: LivePolicyMeta,
  ): Promise<PolicyVersion>;
}

/** One request as a handler sees it. */
export interface ApiCall {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly requestId: string;
  /** The token that authenticated it (undefined on public routes). */
  readonly token: TokenInfo | undefined;
  /** Answers with this status instead of the route's success status (e.g. 503 of a failed self-test). */
  status(code: number): void;
  /** Names what this request caused (a container, a range of decisions): its audit record keeps it. */
  caused(facts: { readonly [name: string]: JsonValue }): void;
}

export type Handler<S extends RouteSpec> = (input: RouteInput<S>, call: ApiCall) => Promise<RouteReply<S>>;

/** A handler for every route of `R`. */
export type Handlers<R extends Partial<ApiRoutes>> = {
  readonly [K in keyof R]: R[K] extends RouteSpec ? Handler<R[K]> : never;
};
