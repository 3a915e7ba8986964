import type {
  DecisionReason,
  Enforcement,
  EnforcementMode,
  SyscallEnforcerPort,
  SyscallRequest,
} from '@forgeone/common';
import type { EnforcerHooks, EnforcerSpec } from './createSyscallEnforcer';
import type { LivePolicyState } from './livePolicyState';

export type { LivePolicyState } from './livePolicyState';

/** Builds an enforcer from a plain (not live) spec: createSyscallEnforcer's own path. */
export type PlainEnforcerBuilder = (spec: EnforcerSpec, hooks: EnforcerHooks) => SyscallEnforcerPort;

/** The reason every decision under a live policy carries: which version decided it. */
export const LIVE_POLICY_REASON = 'live-policy';

/** The version (and mode) a decision's reasons say decided it, when a live policy did. */
export function livePolicyVersionOf(
  reasons: readonly DecisionReason[] | undefined,
): { version: number; mode: EnforcementMode | undefined } | undefined {
  if (reasons === undefined) return undefined;
  for (let i = reasons.length - 1; i >= 0; i--) {
    const reason = reasons[i]!;
    if (reason.policy !== LIVE_POLICY_REASON || reason.rule === undefined) continue;
    const match = /^v(\d+)(?::(enforce|audit|permissive))?$/.exec(reason.rule);
    if (match) return { version: Number(match[1]), mode: match[2] as EnforcementMode | undefined };
  }
  return undefined;
}

/**
 * An enforcer whose policy is swapped while it lives: one per guest, built from its launch spec
 * (mode, bounds, thresholds, per-syscall policies) with the live version's document. `swap`
 * builds the next enforcer first (a failure leaves the old one in force), then withdraws every
 * decision the gate reuses (`onRevoke`), so each syscall's next call is decided by the new
 * version. Every decision carries a reason naming the version (and mode) that made it, which the
 * trace and the audit log keep.
 */
export class SwappableEnforcer implements SyscallEnforcerPort {
  readonly #base: EnforcerSpec;
  readonly #hooks: EnforcerHooks;
  readonly #build: PlainEnforcerBuilder;
  readonly #followMode: boolean;
  readonly #listeners = new Set<() => void>();
  #inner: SyscallEnforcerPort;
  #state: LivePolicyState;
  #reason: DecisionReason;
  /** The inner enforcer's reusable answers, stamped with this enforcer (built once per syscall). */
  #stamped = new WeakMap<Enforcement, Enforcement>();

  constructor(
    base: EnforcerSpec,
    state: LivePolicyState,
    hooks: EnforcerHooks,
    build: PlainEnforcerBuilder,
    followMode: boolean,
  ) {
    this.#base = base;
    this.#build = build;
    this.#followMode = followMode;
    this.#hooks = hooks;
    this.#inner = this.#enforcerFor(state);
    this.#state = state;
    this.#reason = reasonOf(state, this.#modeOf(state));
  }

  /** The version deciding this guest's next calls. */
  get version(): number {
    return this.#state.version;
  }

  /** The mode this guest's calls are enforced in now. */
  get mode(): EnforcementMode {
    return this.#modeOf(this.#state);
  }

  /** Puts `state` in force for the next calls; throws (and keeps the old version) if it cannot be built. */
  swap(state: LivePolicyState): void {
    if (state.version === this.#state.version) return;
    const inner = this.#enforcerFor(state);
    this.#inner = inner;
    this.#state = state;
    this.#reason = reasonOf(state, this.#modeOf(state));
    this.#stamped = new WeakMap();
    for (const listener of [...this.#listeners]) listener();
  }

  enforce(request: SyscallRequest): Enforcement {
    const inner = this.#inner;
    const enforcement = inner.enforce(request);
    const reusable = enforcement.reusableBy === inner;
    if (reusable) {
      const stamped = this.#stamped.get(enforcement);
      if (stamped !== undefined) return stamped;
    }
    const { decision } = enforcement;
    const result: Enforcement = {
      decision: { action: decision.action, reasons: [...decision.reasons, this.#reason] },
      execute: enforcement.execute,
      mode: enforcement.mode,
      ...(enforcement.quarantine === undefined ? {} : { quarantine: enforcement.quarantine }),
      // The inner enforcer's promise holds until the next swap, which withdraws it (onRevoke).
      ...(reusable ? { reusableBy: this } : {}),
    };
    if (reusable) this.#stamped.set(enforcement, result);
    return result;
  }

  onRevoke(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #modeOf(state: LivePolicyState): EnforcementMode {
    return this.#followMode ? state.mode : this.#base.mode;
  }

  #enforcerFor(state: LivePolicyState): SyscallEnforcerPort {
    const base = this.#base;
    const policy = base.policy;
    const knownSyscalls = policy.knownSyscalls;
    const spec: EnforcerSpec = {
      ...base,
      mode: this.#modeOf(state),
      policy: {
        kind: 'document',
        document: state.document,
        source: `live policy v${state.version}`,
        ...(knownSyscalls === undefined ? {} : { knownSyscalls }),
      },
    };
    const audit = this.#hooks.audit;
    const version = state.version;
    return this.#build(spec, {
      ...this.#hooks,
      // Entries the enforcer itself writes (a worker's forwarded audit) name the version too.
      ...(audit ? { audit: (entry) => audit({ ...entry, policyVersion: version }) } : {}),
    });
  }
}

function reasonOf(state: LivePolicyState, mode: EnforcementMode): DecisionReason {
  return {
    policy: LIVE_POLICY_REASON,
    rule: `v${state.version}:${mode}`,
    message: `decided under live policy version ${state.version} (sha256 ${state.digest.slice(0, 12)}, mode ${mode})`,
  };
}
