import type { ContainerId } from './ids';
import type { IdentityContext } from './identity';

/** A value decoded from guest arguments: what policies match on and traces record. */
export type SyscallArg = string | number | bigint | boolean | null;

/**
 * One call from a guest into the host, as the gate sees it after decoding its arguments.
 * `syscall` is `<namespace>.<function>`: `forge.log`, `wasi.fd_write`...
 */
export interface SyscallRequest {
  readonly containerId: ContainerId;
  readonly identity: IdentityContext;
  readonly syscall: string;
  /** Decoded arguments by name (paths, fds, sizes); whole buffers are not included. */
  readonly args: Readonly<Record<string, SyscallArg>>;
  /** Wall-clock time of the call, from the kernel's Clock. */
  readonly time: number;
  /** Scores of the caller at the time of the call, when the kernel tracks them. */
  readonly scores?: Readonly<{ trust?: number; anomaly?: number }>;
}

export const decisionActions = ['allow', 'deny', 'quarantine', 'ask'] as const;
/** What the policy decision point says about a call. */
export type DecisionAction = (typeof decisionActions)[number];

/** One reason behind a decision: the part of the policy that decided, and why. */
export interface DecisionReason {
  /** The policy (graph node) that produced this reason, or `default` for the closing policy. */
  readonly policy: string;
  /** The rule inside the policy, when one matched. */
  readonly rule?: string;
  /** Human-readable explanation, e.g. `forge.clock_now is not in the allow-list`. */
  readonly message: string;
  /** Scores that took part in the decision (trust, anomaly...). */
  readonly scores?: Readonly<Record<string, number>>;
}

/** The answer of a policy decision point, always with its reasons. */
export interface Decision {
  readonly action: DecisionAction;
  readonly reasons: readonly DecisionReason[];
}

/**
 * The policy decision point (PDP) the syscall gate asks. Synchronous on purpose: it sits on the
 * hot path of every guest call, so implementations compile policies ahead and cache decisions.
 * Waiting (for `ask`) is the enforcer's job, not the PDP's.
 */
export interface PolicyDecisionPoint {
  decide(request: SyscallRequest): Decision;
  /**
   * True when `decide` depends on `request.syscall` alone (not the arguments, time, identity or
   * history), as an allow-list's does. Enforcers may then let the gate reuse a decision.
   */
  readonly decidesBySyscallOnly?: boolean;
  /**
   * The same promise for one syscall, from a PDP whose rules read more for some syscalls than for
   * others. True promises, for as long as this PDP lives, that:
   * - every decision for `syscall` depends on nothing but the syscall name and the caller's
   *   identity (which the gate passes unchanged for every call of a container), not the arguments,
   *   time, scores or history;
   * - it is never `ask` or `quarantine`;
   * - the PDP needs to see none of those calls: no later decision, for any syscall, depends on
   *   whether it was asked about calls of `syscall` (how many, or which rule decided them).
   *
   * Enforcers may then let the gate reuse an allowed decision for that syscall. False promises
   * nothing. `decidesBySyscallOnly: true` already says this of every syscall.
   */
  decidesBySyscallOnlyFor?(syscall: string): boolean;
}

export const enforcementModes = ['enforce', 'audit', 'permissive'] as const;
/**
 * How decisions are applied: `enforce` blocks what is not allowed; `audit` decides and records but
 * lets every call run; `permissive` lets every call run and records only refusals.
 */
export type EnforcementMode = (typeof enforcementModes)[number];

/** What the enforcer tells the gate to do with one call. */
export interface Enforcement {
  /** What the policy decision point said, with its reasons. */
  readonly decision: Decision;
  /** True when the call runs. */
  readonly execute: boolean;
  /** The mode the decision was applied in. */
  readonly mode: EnforcementMode;
  /** Set when the caller must be quarantined (suspended) after this call: the reason. */
  readonly quarantine?: string;
  /**
   * Set by an enforcer to itself when it promises to return this same enforcement for every later
   * call of the same syscall by the same container, whatever the arguments and time, and needs to
   * see none of those calls. The gate then skips asking it again for that syscall. Being the
   * enforcer's identity, the promise does not leak through a wrapper that forwards an inner
   * enforcer's answer: the gate reuses an enforcement only when `reusableBy` is the enforcer it asked.
   */
  readonly reusableBy?: SyscallEnforcerPort;
}

/**
 * The enforcer the syscall gate (PEP) asks for every call: it consults the PDP, applies the mode and
 * the action (ask, quarantine), and keeps the audit trail. Synchronous, like the PDP, because the
 * guest is blocked in the call meanwhile.
 */
export interface SyscallEnforcerPort {
  enforce(request: SyscallRequest): Enforcement;
  /**
   * For an enforcer whose policy can change while it lives (a live policy swapped in): registers
   * `listener`, called when every promise it made (`Enforcement.reusableBy`) is withdrawn, so the
   * gate forgets the decisions it reuses and asks again at the next call. Returns the unsubscribe.
   */
  onRevoke?(listener: () => void): () => void;
}
