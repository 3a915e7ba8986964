import { z } from 'zod';
import * as trust from '@forgeone/trust';
import { AllowListPdp, SyscallEnforcer } from '@forgeone/trust';
import {
  ForgeError,
  enforcementModes,
  parseWith,
  type Clock,
  type Decision,
  type JsonValue,
  type PolicyDecisionPoint,
  type SyscallEnforcerPort,
  type SyscallRequest,
} from '@forgeone/common';

/**
 * How a container's enforcer is built, as plain JSON: it crosses into isolation workers, so the
 * enforcer is rebuilt there from this rather than shared.
 */
export const EnforcerSpecSchema = z.strictObject({
  mode: z.enum(enforcementModes),
  policy: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('allow-list'),
      /** Syscalls allowed (`forge.log`, `wasi.*`); everything else is denied. */
      allow: z.array(z.string().max(256)).max(4096),
      /** Syscalls that need an operator's approval for each call (the approver hook; none: deny). */
      ask: z.array(z.string().max(256)).max(4096).optional(),
      /** When set, a call must also be in this list: the capabilities a package requested. */
      within: z.array(z.string().max(256)).max(4096).optional(),
    }),
    z.strictObject({
      kind: z.literal('document'),
      document: z.unknown(),
      source: z.string().max(4096).optional(),
    }),
  ]),
  quarantine: z.unknown().optional(),
});
export type EnforcerSpec = z.infer<typeof EnforcerSpecSchema>;

/** What the enforcer may call back into: the kernel's clock, the audit trail, the operator. */
export interface EnforcerHooks {
  readonly clock: Clock;
  /** Receives one audit entry per decision (forwarded to the main thread under worker isolation). */
  readonly audit?: (entry: JsonValue) => void;
  /** Answers an `ask` decision; blocks the guest meanwhile (Atomics.wait under worker isolation). */
  readonly approver?: (request: SyscallRequest, decision: Decision) => 'allow' | 'deny';
}

type CreateSyscallEnforcer = (spec: EnforcerSpec, hooks: EnforcerHooks) => SyscallEnforcerPort;

/** Parses a spec from outside (caller, worker message) once. */
export function parseEnforcerSpec(input: unknown): EnforcerSpec {
  return parseWith(EnforcerSpecSchema, input, 'enforcer spec', 'FORGE_INVALID_INPUT');
}

/**
 * Builds an enforcer from its spec. Policy documents go to `createSyscallEnforcer` of
 * @forgeone/trust (the full policy engine) when that build provides it; allow-lists are built here
 * (AllowListPdp + SyscallEnforcer), with `ask` answered by the approver hook. The single seam to
 * switch when the policy engine takes allow-lists over too.
 */
export function createEnforcerFromSpec(
  spec: EnforcerSpec,
  hooks: EnforcerHooks,
  knownSyscalls?: Iterable<string>,
): SyscallEnforcerPort {
  if (spec.policy.kind === 'document') {
    const create = (trust as unknown as Record<string, unknown>).createSyscallEnforcer;
    if (typeof create !== 'function') {
      throw new ForgeError(
        'FORGE_UNSUPPORTED',
        'policy documents need the policy engine of @forgeone/trust (createSyscallEnforcer), which this build lacks; use an allow-list',
      );
    }
    return (create as CreateSyscallEnforcer)(spec, hooks);
  }
  const known = knownSyscalls === undefined ? {} : { knownSyscalls: [...knownSyscalls] };
  const allow = new AllowListPdp(spec.policy.allow, known);
  const ask =
    spec.policy.ask && spec.policy.ask.length > 0 ? new AllowListPdp(spec.policy.ask, known) : undefined;
  const within = spec.policy.within ? new AllowListPdp(spec.policy.within) : undefined;
  const { audit, approver } = hooks;
  return new SyscallEnforcer({
    pdp: composedPdp(allow, ask, within),
    mode: spec.mode,
    ...(audit ? { audit: (entry: unknown) => audit(entry as JsonValue) } : {}),
    ...(approver ? { approver } : {}),
  });
}

function composedPdp(
  allow: AllowListPdp,
  ask: AllowListPdp | undefined,
  within: AllowListPdp | undefined,
): PolicyDecisionPoint {
  if (ask === undefined && within === undefined) return allow;
  const cache = new Map<string, Decision>();
  const decideName = (request: SyscallRequest): Decision => {
    if (within && within.decide(request).action !== 'allow') {
      return {
        action: 'deny',
        reasons: [
          {
            policy: 'package',
            message: `${request.syscall} is not among the capabilities the package requested`,
          },
        ],
      };
    }
    const allowed = allow.decide(request);
    if (allowed.action === 'allow' || ask === undefined) return allowed;
    const asked = ask.decide(request);
    if (asked.action !== 'allow') return allowed;
    return {
      action: 'ask',
      reasons: [
        {
          policy: 'allow-list',
          rule: asked.reasons[0]?.rule ?? request.syscall,
          message: `${request.syscall} needs an operator's approval`,
        },
      ],
    };
  };
  return {
    decide(request) {
      let decision = cache.get(request.syscall);
      if (decision === undefined) {
        decision = decideName(request);
        cache.set(request.syscall, decision);
      }
      return decision;
    },
  };
}
