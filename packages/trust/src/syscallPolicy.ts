import { ForgeError, type DecisionAction, type DecisionReason, type SyscallRequest } from '@forgeone/common';
import { z } from 'zod';
import { compileMatch, type CompiledCondition, type CompiledMatch } from './internal/compileConditions';
import { formatDocPath } from './internal/docPath';
import { EvalState, type EvaluationContext, type MarkerSlot } from './internal/evalState';
import { MatchSchema } from './policyDocument';
import { formatPolicyIssue, type PolicyIssue } from './policyIssue';
import { TrustAlgorithm } from './trustAlgorithm';

/**
 * A per-syscall guard the enforcer applies on top of the policy: calls to `syscall` must have
 * arguments matching `args`, an identity matching `identity`, and a trust score of at least
 * `minTrust`; a call that does not gets `action` (default deny). It only ever tightens a decision.
 */
export const SyscallPolicySchema = z.strictObject({
  /** Syscall name or glob (`wasi.path_*`). */
  syscall: z.union([z.string().min(1).max(128), z.array(z.string().min(1).max(128)).min(1).max(64)]),
  /** Allowed argument patterns (all must hold), as in policy rules. */
  args: MatchSchema.shape.args,
  /** The identity required, as in policy rules. */
  identity: MatchSchema.shape.identity,
  minTrust: z.number().min(0).max(1).optional(),
  /** What a call that breaks the policy gets. Default deny. */
  action: z.enum(['deny', 'quarantine', 'ask']).default('deny'),
  message: z.string().max(1024).optional(),
});
export type SyscallPolicy = z.output<typeof SyscallPolicySchema>;
export type SyscallPolicyInput = z.input<typeof SyscallPolicySchema>;

/** A violated syscall policy: the action to apply and why. */
export interface SyscallPolicyViolation {
  readonly action: DecisionAction;
  readonly reason: DecisionReason;
}

interface CompiledSyscallPolicy {
  readonly index: number;
  readonly action: DecisionAction;
  readonly selector: CompiledMatch['selector'];
  /** The requirements in the order they are checked: static conditions, then dynamic ones. */
  readonly conditions: readonly CompiledCondition[];
  readonly message: string | undefined;
}

const noMarkers: ReadonlyMap<string, MarkerSlot> = new Map();

/** Compiled syscall policies, checked in order; the first violated one answers. */
export class SyscallPolicies {
  readonly #policies: readonly CompiledSyscallPolicy[];
  readonly #trust: TrustAlgorithm;

  /** Compiles `input`; bad patterns or an unsafe regex are FORGE_ENFORCER_SPEC_INVALID. */
  constructor(input: readonly SyscallPolicyInput[], trust: TrustAlgorithm = new TrustAlgorithm()) {
    const issues: PolicyIssue[] = [];
    const report = {
      error: (path: readonly (string | number)[], code: PolicyIssue['code'], message: string) =>
        issues.push({ severity: 'error', code, path: formatDocPath(path), message }),
    };
    this.#policies = input.map((raw, index) => {
      const parsed = SyscallPolicySchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new ForgeError(
          'FORGE_ENFORCER_SPEC_INVALID',
          `invalid syscall policy at syscalls[${index}].${(issue?.path ?? []).map(String).join('.')}: ${issue?.message ?? 'invalid'}`,
          { details: { path: `syscalls[${index}]` } },
        );
      }
      const policy = parsed.data;
      const requirements = compileMatch(
        {
          ...(policy.args ? { args: policy.args } : {}),
          ...(policy.identity ? { identity: policy.identity } : {}),
          ...(policy.minTrust === undefined ? {} : { trust: { atLeast: policy.minTrust } }),
        },
        ['syscalls', index],
        report,
      );
      return {
        index,
        action: policy.action,
        selector: compileMatch({ syscall: policy.syscall }, ['syscalls', index], report).selector,
        conditions: [...requirements.staticConditions, ...requirements.dynamicConditions],
        message: policy.message,
      };
    });
    if (issues.length > 0) {
      throw new ForgeError('FORGE_ENFORCER_SPEC_INVALID', issues.map(formatPolicyIssue).join('; '), {
        details: { path: issues[0]!.path },
      });
    }
    this.#trust = trust;
  }

  get size(): number {
    return this.#policies.length;
  }

  /** The first policy `request` breaks, or undefined when it keeps them all. */
  check(request: SyscallRequest, context: EvaluationContext): SyscallPolicyViolation | undefined {
    let state: EvalState | undefined;
    for (const policy of this.#policies) {
      if (!policy.selector.matches(request.syscall)) continue;
      state ??= new EvalState(request, context, this.#trust, noMarkers);
      for (const condition of policy.conditions) {
        if (condition.test(state)) continue;
        return {
          action: policy.action,
          reason: {
            policy: 'syscall-policy',
            rule: `syscalls[${policy.index}]`,
            message:
              policy.message ??
              `${request.syscall} requires ${condition.description} (got ${condition.observed(state)})`,
          },
        };
      }
    }
    return undefined;
  }
}
