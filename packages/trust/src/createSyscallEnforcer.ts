import {
  enforcementModes,
  ForgeError,
  type Clock,
  type Decision,
  type PolicyDecisionPoint,
  type SyscallEnforcerPort,
  type SyscallRequest,
} from '@forgeone/common';
import { z } from 'zod';
import { AllowListPdp } from './allowListPdp';
import type { AuditEntryInput } from './auditEntry';
import { compilePolicy } from './compilePolicy';
import { describeZodIssues } from './internal/zodIssue';
import { formatDocPath } from './internal/docPath';
import { liveOwnerOf } from './internal/liveSpecs';
import type { EvaluationContext } from './internal/evalState';
import { parseSourceText, readSourceFile } from './policySource';
import { SyscallBoundSchema, type SyscallBound } from './syscallBound';
import { SyscallEnforcer } from './syscallEnforcer';
import type { SyscallPolicyInput } from './syscallPolicy';

const Unit = z.number().min(0).max(1);
const Names = z.array(z.string().max(256)).max(4096);

/**
 * How an enforcer is built, as plain JSON: an isolation worker rebuilds the enforcer from this
 * (functions and compiled graphs do not cross threads).
 */
export const EnforcerSpecSchema = z.strictObject({
  mode: z.enum(enforcementModes),
  policy: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('allow-list'),
      /** Syscalls allowed (`forge.log`, `wasi.*`); everything else is denied. */
      allow: Names,
      /** Syscalls that need an operator's approval for each call. */
      ask: Names.optional(),
      /** When set, a call must also match this list; the same as a `within` bound (below). */
      within: Names.optional(),
      /** Every syscall that exists: unknown entries are refused. */
      knownSyscalls: Names.optional(),
    }),
    z.strictObject({
      kind: z.literal('document'),
      /** The parsed policy document (or its YAML/JSON text). */
      document: z.unknown(),
      /** Where the document came from, for messages. */
      source: z.string().max(4096).optional(),
      knownSyscalls: Names.optional(),
    }),
  ]),
  /**
   * Bounds over whatever the policy says (a package's manifest), for every policy kind: a call
   * outside any of them is denied and does not run, in every mode.
   */
  within: z.array(SyscallBoundSchema).max(16).optional(),
  /** Quarantine thresholds on the caller's scores. */
  quarantine: z.strictObject({ maxAnomaly: Unit.optional(), minTrust: Unit.optional() }).optional(),
  /** Per-syscall policies (see SyscallPolicySchema), applied on top of the policy. */
  syscalls: z.array(z.unknown()).max(1024).optional(),
});
export type EnforcerSpec = z.input<typeof EnforcerSpecSchema>;

/** What the enforcer calls back into; nothing here needs to cross threads. */
export interface EnforcerHooks {
  readonly clock: Clock;
  /** A synchronous sink for audit entries (forward them to AuditLog.enqueue, across threads if need be). */
  readonly audit?: (entry: AuditEntryInput) => void;
  /** Answers `ask` synchronously; under worker isolation it blocks the guest until the operator answers. */
  readonly approver?: (request: SyscallRequest, decision: Decision) => 'allow' | 'deny';
  /** More context per call (the observer's DNA and baseline, an anomaly score). */
  readonly context?: (request: SyscallRequest) => EvaluationContext | undefined;
}

/** Parses an enforcer spec from outside (a worker message, a config file) once. */
export function parseEnforcerSpec(input: unknown): z.output<typeof EnforcerSpecSchema> {
  const parsed = EnforcerSpecSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const first = describeZodIssues(parsed.error)[0];
  const path = formatDocPath(first?.steps ?? []);
  throw new ForgeError(
    'FORGE_ENFORCER_SPEC_INVALID',
    `invalid enforcer spec at ${path}: ${first?.message ?? 'invalid'}`,
    {
      details: { path },
    },
  );
}

/** Allow-list, with `ask` entries asking (even when also allowed); `within` is a bound (see boundsOf). */
function allowListDecisionPoint(
  policy: Extract<z.output<typeof EnforcerSpecSchema>['policy'], { kind: 'allow-list' }>,
): PolicyDecisionPoint {
  const options = policy.knownSyscalls ? { knownSyscalls: policy.knownSyscalls } : {};
  const allow = new AllowListPdp(policy.allow, options);
  const ask = policy.ask && policy.ask.length > 0 ? new AllowListPdp(policy.ask, options) : undefined;
  if (!ask) return allow;
  return {
    decide(request) {
      // Asking is more restrictive than allowing: an entry in both lists asks.
      if (ask.decide(request).action !== 'allow') return allow.decide(request);
      return {
        action: 'ask',
        reasons: [
          {
            policy: 'allow-list',
            rule: request.syscall,
            message: `${request.syscall} needs an operator's approval`,
          },
        ],
      };
    },
  };
}

/** Every bound of a spec: its `within` list and an allow-list's own `within`. */
function boundsOf(parsed: z.output<typeof EnforcerSpecSchema>): SyscallBound[] {
  const bounds = [...(parsed.within ?? [])];
  if (parsed.policy.kind === 'allow-list' && parsed.policy.within !== undefined) {
    bounds.push({ owner: 'the capabilities the package requested', syscalls: parsed.policy.within });
  }
  return bounds;
}

type ParsedEnforcerSpec = z.output<typeof EnforcerSpecSchema>;

/** A spec's parse and, for an allow-list, its decision point (which depends on the spec alone). */
interface PreparedSpec {
  readonly parsed: ParsedEnforcerSpec;
  readonly pdp: PolicyDecisionPoint | undefined;
}

const preparedSpecs = new WeakMap<object, PreparedSpec>();

/** True for a spec whose own objects and lists are frozen: it cannot change after it was prepared. */
function isFrozenSpec(spec: EnforcerSpec): boolean {
  if (!Object.isFrozen(spec) || !Object.isFrozen(spec.policy)) return false;
  const { policy } = spec;
  const lists =
    policy.kind === 'allow-list'
      ? [policy.allow, policy.ask, policy.within, policy.knownSyscalls]
      : [policy.knownSyscalls];
  return (
    lists.every((list) => list === undefined || Object.isFrozen(list)) &&
    (spec.within === undefined || Object.isFrozen(spec.within)) &&
    (spec.quarantine === undefined || Object.isFrozen(spec.quarantine)) &&
    (spec.syscalls === undefined || Object.isFrozen(spec.syscalls))
  );
}

/**
 * Parses a spec and builds its allow-list decision point. A frozen spec is prepared once (hosts
 * launch many containers under one spec object); any other is parsed again on every call.
 */
function prepareSpec(spec: EnforcerSpec): PreparedSpec {
  const cacheable = typeof spec === 'object' && spec !== null && isFrozenSpec(spec);
  const cached = cacheable ? preparedSpecs.get(spec) : undefined;
  if (cached !== undefined) return cached;
  const parsed = parseEnforcerSpec(spec);
  const prepared: PreparedSpec = {
    parsed,
    pdp: parsed.policy.kind === 'allow-list' ? allowListDecisionPoint(parsed.policy) : undefined,
  };
  if (cacheable) preparedSpecs.set(spec, prepared);
  return prepared;
}

/**
 * Builds the enforcer a spec describes: the policy (an allow-list or a compiled policy document)
 * inside the spec's bounds, the mode, quarantine thresholds and per-syscall policies, wired to the hooks. A bad spec is
 * FORGE_ENFORCER_SPEC_INVALID; a bad policy document is refused with its own FORGE_POLICY_* code.
 */
export function createSyscallEnforcer(spec: EnforcerSpec, hooks: EnforcerHooks): SyscallEnforcerPort {
  // A live policy's launch spec: an enforcer that follows every later version (LivePolicy).
  const live = liveOwnerOf<EnforcerSpec, EnforcerHooks>(spec);
  if (live !== undefined) return live.attach(spec, hooks, plainEnforcer);
  return plainEnforcer(spec, hooks);
}

function plainEnforcer(spec: EnforcerSpec, hooks: EnforcerHooks): SyscallEnforcerPort {
  const { parsed, pdp: allowList } = prepareSpec(spec);
  const policy = parsed.policy;
  let pdp: PolicyDecisionPoint;
  if (policy.kind === 'allow-list') {
    pdp = allowList ?? allowListDecisionPoint(policy);
  } else {
    // Compiled per enforcer: a policy graph keeps per-enforcer caches and statistics.
    const document =
      typeof policy.document === 'string'
        ? parseSourceText(policy.document, policy.source).value
        : policy.document;
    pdp = compilePolicy(document, {
      ...(policy.source === undefined ? {} : { file: policy.source }),
      ...(policy.knownSyscalls === undefined ? {} : { knownSyscalls: policy.knownSyscalls }),
    });
  }
  const within = boundsOf(parsed);
  return new SyscallEnforcer({
    pdp,
    ...(within.length > 0 ? { within } : {}),
    mode: parsed.mode,
    clock: hooks.clock,
    ...(hooks.audit ? { audit: hooks.audit } : {}),
    ...(hooks.approver ? { approver: hooks.approver } : {}),
    ...(hooks.context ? { context: hooks.context } : {}),
    ...(parsed.quarantine ? { quarantine: parsed.quarantine } : {}),
    // Each entry is validated by SyscallPolicies (FORGE_ENFORCER_SPEC_INVALID with its index).
    ...(parsed.syscalls ? { syscallPolicies: parsed.syscalls as SyscallPolicyInput[] } : {}),
  });
}

/**
 * The spec for running under a policy file: reads and parses it (YAML or JSON) into the plain
 * document the spec carries. The policy is compiled once here so a bad one is refused (with lines)
 * before anything runs; createSyscallEnforcer compiles it again in whichever thread builds the
 * enforcer.
 */
export async function enforcerSpecFromPolicyFile(
  path: string,
  mode: z.output<typeof EnforcerSpecSchema>['mode'],
  extra: Pick<EnforcerSpec, 'quarantine' | 'syscalls'> & { knownSyscalls?: readonly string[] } = {},
): Promise<EnforcerSpec> {
  const source = await readSourceFile(path);
  // Refuse a bad policy here, before a worker is started for it.
  compilePolicy(source.value, {
    file: path,
    locate: source.locate,
    ...(extra.knownSyscalls ? { knownSyscalls: extra.knownSyscalls } : {}),
  });
  return {
    mode,
    policy: {
      kind: 'document',
      document: source.value,
      source: path,
      ...(extra.knownSyscalls ? { knownSyscalls: [...extra.knownSyscalls] } : {}),
    },
    ...(extra.quarantine ? { quarantine: extra.quarantine } : {}),
    ...(extra.syscalls ? { syscalls: extra.syscalls } : {}),
  };
}
