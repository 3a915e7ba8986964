import type {
  Enforcement,
  EnforcementMode,
  PolicyDecisionPoint,
  SyscallEnforcerPort,
  SyscallRequest,
} from '@forgeone/common';

export interface SyscallEnforcerOptions {
  readonly pdp: PolicyDecisionPoint;
  /** Default `enforce`. */
  readonly mode?: EnforcementMode;
}

/**
 * Applies a PDP's decisions according to the enforcement mode: in `enforce` only allowed calls run;
 * `audit` and `permissive` let every call run (the decision is still recorded).
 */
export class SyscallEnforcer implements SyscallEnforcerPort {
  readonly #pdp: PolicyDecisionPoint;
  readonly mode: EnforcementMode;

  constructor(options: SyscallEnforcerOptions) {
    this.#pdp = options.pdp;
    this.mode = options.mode ?? 'enforce';
  }

  enforce(request: SyscallRequest): Enforcement {
    const decision = this.#pdp.decide(request);
    return { decision, execute: decision.action === 'allow' || this.mode !== 'enforce', mode: this.mode };
  }
}
