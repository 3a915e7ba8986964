import { basename, isAbsolute } from 'node:path';
import { ForgeError } from '@forgeone/common';
import { worldSyscallNames } from '@forgeone/execution';
import {
  compilePolicy,
  toEvaluationContext,
  toSyscallRequest,
  type LivePolicy,
  type LivePolicyInput,
  type PolicyVersion,
  type ZtaPolicyGraph,
} from '@forgeone/trust';
import type { policyRoutes } from '../contract/policyRoutes';
import type { ApiCall, ApiContext, Handlers } from '../apiContext';
import { jsonSafe } from '../jsonSafe';

type Json = Record<string, unknown>;

/** The live policy's versions: list, read, upload, activate, explain. */
export function policyHandlers(ctx: ApiContext): Handlers<typeof policyRoutes> {
  const live = (): LivePolicy => {
    const policies = ctx.kernel.policies;
    if (policies) return policies;
    throw new ForgeError(
      'FORGE_API_NOT_AVAILABLE',
      'this kernel runs without a live policy (start forgeoned with --policy-dir, or compose the kernel with a policy)',
    );
  };
  const actor = (call: ApiCall) => `api:${call.token?.name ?? 'anonymous'}`;
  const info = (policies: LivePolicy, entry: PolicyVersion) => {
    const listed = policies.versions().find((v) => v.version === entry.version);
    return wire(listed ?? { ...entry, active: entry.version === policies.version, wentLive: true });
  };
  const directoryRefusal = (what: string) =>
    new ForgeError(
      'FORGE_API_POLICY_DIRECTORY',
      `${what}: this daemon's live policy comes from its policy directory, the source of its versions (an upload goes live there at once; roll back by removing the newer policy files)`,
    );
  // The live version's compiled graph, for explain: compiled once per document.
  let compiled: { digest: string; graph: ZtaPolicyGraph } | undefined;
  const graphOf = (policies: LivePolicy): ZtaPolicyGraph => {
    const digest = policies.current.digest;
    if (compiled?.digest !== digest)
      compiled = {
        digest,
        graph: compilePolicy(policies.document, { knownSyscalls: worldSyscallNames() }),
      };
    return compiled.graph;
  };
  return {
    listPolicies: async () => {
      const policies = live();
      return {
        active: policies.version,
        mode: policies.mode,
        source: ctx.policyDirectory ? 'directory' : 'api',
        versions: policies.versions().map(wire),
      };
    },
    getPolicy: async ({ params }) => {
      const policies = live();
      const entry = policies.versions().find((v) => v.version === params.version);
      if (entry === undefined)
        throw new ForgeError(
          'FORGE_POLICY_VERSION_NOT_FOUND',
          `policy version ${params.version} is not kept; list them with GET /v1/policies`,
          { details: { version: params.version } },
        );
      return { version: wire(entry), document: jsonSafe(policies.documentOf(params.version)) as Json };
    },
    uploadPolicy: async ({ body }, call) => {
      const policies = live();
      const meta = { actor: actor(call), ...(body.reason === undefined ? {} : { reason: body.reason }) };
      const input: LivePolicyInput = {
        document: body.document,
        source: body.source ?? actor(call),
        ...(body.tests === undefined ? {} : { tests: body.tests, testsSource: 'tests' }),
      };
      const directory = ctx.policyDirectory;
      if (directory) {
        if (body.activate === false) throw directoryRefusal('activate: false cannot be honoured');
        // Refused here (compiled, cases run) before anything is written to the directory.
        policies.check(input);
        const entry = await directory.add(
          {
            document: textOf(body.document),
            ...(body.tests === undefined ? {} : { tests: textOf(body.tests) }),
          },
          meta,
        );
        call.status(201);
        call.caused({ policyVersion: entry.version });
        return { version: info(policies, entry), activated: entry.version === policies.version };
      }
      const entry = body.activate === true ? policies.swap(input, meta) : policies.store(input, meta);
      call.caused({ policyVersion: entry.version });
      return { version: info(policies, entry), activated: entry.version === policies.version };
    },
    activatePolicy: async ({ params, body }, call) => {
      const policies = live();
      if (ctx.policyDirectory) throw directoryRefusal(`activate version ${params.version}`);
      const entry = policies.activate(params.version, {
        actor: actor(call),
        ...(body?.reason === undefined ? {} : { reason: body.reason }),
      });
      call.caused({ policyVersion: entry.version });
      return { version: info(policies, entry) };
    },
    explainPolicy: async ({ body }) => {
      const policies = live();
      const request = toSyscallRequest(body.request);
      const context = toEvaluationContext(body.context ?? {}, request.containerId);
      const decision = graphOf(policies).evaluate(request, context, { explain: true });
      return {
        version: policies.version,
        digest: policies.current.digest,
        mode: policies.mode,
        action: decision.action,
        decidedBy: decision.decidedBy?.id ?? null,
        reasons: decision.reasons.map((r) => jsonSafe(r) as Json),
        decision: jsonSafe(decision) as Json,
      };
    },
  };
}

/** A version as the wire has it: absent strings are null. */
function wire<V extends PolicyVersion & { active: boolean; wentLive: boolean }>(v: V) {
  return {
    version: v.version,
    kind: v.kind,
    digest: v.digest,
    mode: v.mode,
    // A file's name, not where it lives on the daemon's disk.
    source: v.source === undefined ? null : isAbsolute(v.source) ? basename(v.source) : v.source,
    actor: v.actor ?? null,
    reason: v.reason ?? null,
    at: v.at,
    testsPassed: v.testsPassed,
    ...(v.from === undefined ? {} : { from: v.from }),
    active: v.active,
    wentLive: v.wentLive,
  };
}

/** A document as text for a file (JSON is YAML too). */
function textOf(value: string | Record<string, unknown>): string {
  return typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`;
}
