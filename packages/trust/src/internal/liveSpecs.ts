import type { SyscallEnforcerPort } from '@forgeone/common';
import type { LivePolicyState } from '../livePolicyState';

/** What a live policy registers for the documents of its launch specs (see LivePolicy.launchSpec). */
// Generic over the spec and hooks types so that this leaf imports neither createSyscallEnforcer
// (which asks it) nor the live policy (which registers here): no import cycle.
export interface LiveSpecOwner<Spec = unknown, Hooks = unknown> {
  /** The version whose document this is. */
  readonly version: number;
  /** Whether an enforcer built from it follows the live mode (the launch gave no mode of its own). */
  readonly followMode: boolean;
  /** The version in force now. */
  state(): LivePolicyState;
  /** Told of every later version; returns the unsubscribe. */
  subscribe(fn: (state: LivePolicyState) => void): () => void;
  /** The enforcer for a launch under this spec, swapped with every later version. */
  attach(
    spec: Spec,
    hooks: Hooks,
    build: (spec: Spec, hooks: Hooks) => SyscallEnforcerPort,
  ): SyscallEnforcerPort;
}

/**
 * Documents of live launch specs, by identity. Object identity is kept by every step a spec takes
 * on this thread (parsing, freezing, adding known syscalls, narrowing to a package's grant), and
 * lost when it is cloned into a worker: there the worker's lane makes the enforcer live.
 */
const owners = new WeakMap<object, LiveSpecOwner<never, never>>();

export function registerLiveDocument<Spec, Hooks>(document: object, owner: LiveSpecOwner<Spec, Hooks>): void {
  owners.set(document, owner as unknown as LiveSpecOwner<never, never>);
}

/** The live policy a spec's document belongs to, if it is one of a live policy's launch specs. */
export function liveOwnerOf<Spec, Hooks>(spec: Spec): LiveSpecOwner<Spec, Hooks> | undefined {
  const policy = (spec as { policy?: { kind?: unknown; document?: unknown } } | null)?.policy;
  if (policy?.kind !== 'document') return undefined;
  const document = policy.document;
  const owner = typeof document === 'object' && document !== null ? owners.get(document) : undefined;
  return owner as LiveSpecOwner<Spec, Hooks> | undefined;
}
