import {
  systemClock,
  type Clock,
  type Decision,
  type DecisionAction,
  type DecisionReason,
  type Enforcement,
  type EnforcementMode,
  type PolicyDecisionPoint,
  type SyscallEnforcerPort,
  type SyscallRequest,
} from '@forgeone/common';
import { auditEntryOf, type AuditEntryInput } from './auditEntry';
import { ContainerProfiles, type ContainerProfile } from './internal/containerProfiles';
import { severity } from './internal/compiledPolicy';
import { signalsTrust, type EvaluationContext } from './internal/evalState';
import { LiveContext, signalsOf } from './internal/liveContext';
import { compileBounds, type CompiledBounds, type SyscallBound } from './syscallBound';
import { SyscallPolicies, type SyscallPolicyInput } from './syscallPolicy';
import { TrustAlgorithm } from './trustAlgorithm';

/**
 * A PDP that can also take the caller's context (DNA, rule hits, trust signals): the policy graph.
 * Its `decidesBySyscallOnlyFor(syscall)` covers `evaluate` too: true also promises that deciding
 * `syscall` reads nothing of the context, and that no evaluation reads anything of it that calls of
 * `syscall` change (their count, the total and refused counts, the hits of the rules deciding
 * them), since the enforcer stops counting the calls whose decision the gate reuses.
 */
export interface ContextualDecisionPoint extends PolicyDecisionPoint {
  evaluate(
    request: SyscallRequest,
    context: EvaluationContext,
  ): Decision & { readonly decidedBy?: { readonly id: string } | undefined };
}

/** Scores past which a call quarantines its container, whatever the policy says. */
export interface QuarantineThresholds {
  /** Quarantine when the anomaly score is above this. */
  readonly maxAnomaly?: number | undefined;
  /** Quarantine when the trust score is below this. */
  readonly minTrust?: number | undefined;
}

export interface SyscallEnforcerOptions {
  readonly pdp: PolicyDecisionPoint;
  /**
   * What the PDP may decide at all (a package's manifest): a call outside any bound is denied and
   * never runs, in every mode — audit and permissive trial a policy, not the manifest — and is
   * recorded as a refusal.
   */
  readonly within?: readonly SyscallBound[];
  /** Default `enforce`. */
  readonly mode?: EnforcementMode;
  /** Times how long an operator took to answer. Default: the system clock. */
  readonly clock?: Clock;
  /**
   * Receives one entry per decision (every decision in enforce and audit mode, only refusals in
   * permissive mode). Synchronous: forward it to an AuditLog's `enqueue`. If it throws, the call is
   * refused in enforce mode (no unrecorded call runs).
   */
  readonly audit?: (entry: AuditEntryInput) => void;
  /**
   * Answers `ask` decisions synchronously (the guest is blocked meanwhile). Without one, `ask` is
   * denied with a reason saying no approver is available.
   */
  readonly approver?: (request: SyscallRequest, decision: Decision) => 'allow' | 'deny';
  /** Per-syscall requirements applied on top of the policy (they only tighten decisions). */
  readonly syscallPolicies?: readonly SyscallPolicyInput[];
  readonly quarantine?: QuarantineThresholds;
  /** Computes trust scores when requests carry none. Default weights when omitted. */
  readonly trust?: TrustAlgorithm;
  /** More context per call (the observer's DNA and baseline, an anomaly score...). */
  readonly context?: (request: SyscallRequest) => EvaluationContext | undefined;
}

function isContextual(pdp: PolicyDecisionPoint): pdp is ContextualDecisionPoint {
  return typeof (pdp as Partial<ContextualDecisionPoint>).evaluate === 'function';
}

function withReason(action: DecisionAction, reason: DecisionReason, decision: Decision): Decision {
  return { action, reasons: [reason, ...decision.reasons] };
}

/**
 * Applies a PDP's decisions: per-syscall policies and quarantine thresholds on top, then the mode.
 *
 * - `enforce`: only allowed calls run; `ask` goes to the approver; `quarantine` stops the container.
 * - `audit`: every call runs; every decision is recorded (with what would have happened).
 * - `permissive`: every call runs; only refusals are recorded.
 *
 * In every mode, a call outside the `within` bounds (the package's manifest) is denied and does not run.
 */
export class SyscallEnforcer implements SyscallEnforcerPort {
  readonly #pdp: PolicyDecisionPoint;
  readonly #within: CompiledBounds | undefined;
  readonly #contextual: ContextualDecisionPoint | undefined;
  readonly mode: EnforcementMode;
  readonly #clock: Clock;
  readonly #audit: SyscallEnforcerOptions['audit'];
  readonly #approver: SyscallEnforcerOptions['approver'];
  readonly #syscallPolicies: SyscallPolicies | undefined;
  readonly #thresholds: QuarantineThresholds;
  readonly #trust: TrustAlgorithm;
  readonly #context: SyscallEnforcerOptions['context'];
  readonly #profiles = new ContainerProfiles();
  // Whether an allowed decision for a syscall may be reused by the gate (see
  // Enforcement.reusableBy); undefined when none may.
  readonly #reusableFor: ((syscall: string) => boolean) | undefined;

  constructor(options: SyscallEnforcerOptions) {
    this.#pdp = options.pdp;
    this.#within = compileBounds(options.within ?? []);
    this.#contextual = isContextual(options.pdp) ? options.pdp : undefined;
    this.mode = options.mode ?? 'enforce';
    this.#clock = options.clock ?? systemClock;
    this.#audit = options.audit;
    this.#approver = options.approver;
    this.#trust = options.trust ?? new TrustAlgorithm();
    this.#syscallPolicies =
      options.syscallPolicies && options.syscallPolicies.length > 0
        ? new SyscallPolicies(options.syscallPolicies, this.#trust)
        : undefined;
    this.#thresholds = options.quarantine ?? {};
    this.#context = options.context;
    // Reuse is sound only when nothing but the syscall name (and the container's identity)
    // decides, and no per-call record is owed: a PDP that says so (of every syscall, or of the one
    // called), no audit hook, no per-syscall requirements (they read arguments and trust), no
    // thresholds (they read scores) and no caller context. A contextual PDP's blanket flag says
    // nothing of its context, so only its per-syscall promise counts.
    const pdp = options.pdp;
    const owesNothingPerCall =
      this.#audit === undefined &&
      this.#syscallPolicies === undefined &&
      this.#thresholds.maxAnomaly === undefined &&
      this.#thresholds.minTrust === undefined &&
      this.#context === undefined;
    this.#reusableFor = !owesNothingPerCall
      ? undefined
      : pdp.decidesBySyscallOnly === true && !isContextual(pdp)
        ? () => true
        : typeof pdp.decidesBySyscallOnlyFor === 'function'
          ? (syscall) => pdp.decidesBySyscallOnlyFor?.(syscall) === true
          : undefined;
  }

  enforce(request: SyscallRequest): Enforcement {
    const profile = this.#profiles.get(request.containerId);
    const outside = this.#within?.outside(request);
    if (outside !== undefined) return this.#refuseOutside(request, outside, profile);
    const context = this.#contextFor(request, profile);
    const evaluated = this.#contextual
      ? this.#contextual.evaluate(request, context)
      : this.#pdp.decide(request);
    let decision: Decision = evaluated;
    const decidedBy =
      'decidedBy' in evaluated
        ? (evaluated as { decidedBy?: { id: string } }).decidedBy?.id
        : evaluated.reasons[0]?.rule !== undefined
          ? `${evaluated.reasons[0].policy}/${evaluated.reasons[0].rule}`
          : undefined;

    const violation = this.#syscallPolicies?.check(request, context);
    if (violation && severity[violation.action] > severity[decision.action]) {
      decision = withReason(violation.action, violation.reason, decision);
    }
    const breach = this.#thresholdBreach(request, context);
    if (breach && decision.action !== 'quarantine') {
      decision = withReason('quarantine', breach, decision);
    }

    const action = decision.action;
    let execute = action === 'allow' || this.mode !== 'enforce';
    let quarantine: string | undefined;
    let approval: AuditEntryInput['approval'];
    if (this.mode === 'enforce' && action === 'quarantine') {
      quarantine = decision.reasons[0]?.message ?? 'quarantined by policy';
    } else if (this.mode === 'enforce' && action === 'ask') {
      const asked = this.#ask(request, decision);
      decision = asked.decision;
      execute = asked.verdict === 'allow';
      if (asked.waitedMs !== undefined) approval = { verdict: asked.verdict, waitedMs: asked.waitedMs };
    }

    if (this.#audit && (this.mode !== 'permissive' || action !== 'allow')) {
      try {
        this.#audit(
          auditEntryOf(request, decision, {
            mode: this.mode,
            action,
            executed: execute,
            ...(quarantine === undefined ? {} : { quarantine }),
            ...(approval === undefined ? {} : { approval }),
          }),
        );
      } catch (error) {
        // No call runs unrecorded when enforcing: a failing audit trail refuses it.
        if (this.mode === 'enforce' && execute) {
          execute = false;
          decision = withReason(
            'deny',
            {
              policy: 'audit',
              message: `the audit trail failed, so the call is refused: ${(error as Error).message}`,
            },
            decision,
          );
        }
      }
    }

    this.#profiles.record(profile, request.syscall, request.time, action !== 'allow', decidedBy);
    if (quarantine !== undefined) profile.quarantines += 1;
    if (
      action === 'allow' &&
      execute &&
      quarantine === undefined &&
      this.#reusableFor?.(request.syscall) === true
    ) {
      return { decision, execute, mode: this.mode, reusableBy: this };
    }
    return quarantine === undefined
      ? { decision, execute, mode: this.mode }
      : { decision, execute, mode: this.mode, quarantine };
  }

  /** A call outside the bounds: denied and not run whatever the mode, recorded like any refusal. */
  #refuseOutside(request: SyscallRequest, decision: Decision, profile: ContainerProfile): Enforcement {
    if (this.#audit) {
      try {
        this.#audit(auditEntryOf(request, decision, { mode: this.mode, action: 'deny', executed: false }));
      } catch {
        // Nothing runs, so a failing audit trail changes nothing here.
      }
    }
    this.#profiles.record(profile, request.syscall, request.time, true, undefined);
    return { decision, execute: false, mode: this.mode };
  }

  /** Forgets what the enforcer remembers about a container (call counts, rule hits). */
  forget(containerId: string): void {
    this.#profiles.forget(containerId);
  }

  #contextFor(request: SyscallRequest, profile: ContainerProfile): EvaluationContext {
    const live = (profile.context ??= new LiveContext(profile));
    live.request = request;
    const extra = this.#context?.(request);
    if (!extra) return live;
    // Rare path: the caller adds context (the observer's DNA, a baseline, an anomaly score).
    const dna = extra.dna ?? profile.dna;
    return {
      ruleHits: profile.ruleHits,
      ...extra,
      dna,
      signals: { ...signalsOf(request, dna, profile, extra.scores?.anomaly), ...extra.signals },
    };
  }

  #thresholdBreach(request: SyscallRequest, context: EvaluationContext): DecisionReason | undefined {
    const { maxAnomaly, minTrust } = this.#thresholds;
    if (maxAnomaly !== undefined) {
      const anomaly = context.scores?.anomaly ?? request.scores?.anomaly;
      if (anomaly !== undefined && anomaly > maxAnomaly) {
        return {
          policy: 'enforcer',
          rule: 'quarantine-threshold',
          message: `anomaly score ${anomaly.toFixed(3)} is above the quarantine threshold ${maxAnomaly}`,
          scores: { anomaly },
        };
      }
    }
    if (minTrust !== undefined) {
      const trust = context.scores?.trust ?? request.scores?.trust ?? signalsTrust(context, this.#trust);
      if (trust !== undefined && trust < minTrust) {
        return {
          policy: 'enforcer',
          rule: 'quarantine-threshold',
          message: `trust score ${trust.toFixed(3)} is below the quarantine threshold ${minTrust}`,
          scores: { trust },
        };
      }
    }
    return undefined;
  }

  #ask(
    request: SyscallRequest,
    decision: Decision,
  ): { decision: Decision; verdict: 'allow' | 'deny'; waitedMs?: number } {
    if (!this.#approver) {
      return {
        verdict: 'deny',
        decision: withReason(
          'deny',
          {
            policy: 'enforcer',
            message: `${request.syscall} needs an operator's approval, but no approver is available; denied`,
          },
          decision,
        ),
      };
    }
    const started = this.#clock.now();
    let verdict: 'allow' | 'deny';
    let why: string;
    try {
      verdict = this.#approver(request, decision) === 'allow' ? 'allow' : 'deny';
      why = verdict === 'allow' ? 'approved by the operator' : 'refused by the operator';
    } catch (error) {
      verdict = 'deny';
      why = `the approval failed, so the call is denied: ${(error as Error).message}`;
    }
    return {
      verdict,
      waitedMs: Math.max(0, this.#clock.now() - started),
      decision: withReason(verdict, { policy: 'operator', message: why }, decision),
    };
  }
}
