import type { SyscallEnforcerPort } from '@forgeone/common';
import type { EnforcerHooks, EnforcerSpec } from '../createSyscallEnforcer';
import type { LivePolicyState } from '../swappableEnforcer';

/** Builds an enforcer from a plain (not live) spec: createSyscallEnforcer's own path. */
export type PlainEnforcerBuilder = (spec: EnforcerSpec, hooks: EnforcerHooks) => SyscallEnforcerPort;

/** What a live policy registers for the documents of its launch specs (see LivePolicy.launchSpec). */
export interface LiveSpecOwner {
  /** The version whose document this is. */
  readonly version: number;
  /** Whether an enforcer built from it follows the live mode (the launch gave no mode of its own). */
  readonly followMode: boolean;
  /** The version in force now. */
  state(): LivePolicyState;
  /** Told of every later version; returns the unsubscribe. */
  subscribe(fn: (state: LivePolicyState) => void): () => void;
  /** The enforcer for a launch under this spec, swapped with every later version. */
  attach(spec: EnforcerSpec, hooks: EnforcerHooks, build: PlainEnforcerBuilder): SyscallEnforcerPort;
}

/**
 * Documents of live launch specs, by identity. Object identity is kept by every step a spec takes
 * on this thread (parsing, freezing, adding known syscalls, narrowing to a package's grant), and
 * lost when it is cloned into a worker: there the worker's lane makes the enforcer live.
 */
const owners = new WeakMap<object, LiveSpecOwner>();

export function registerLiveDocument(document: object, owner: LiveSpecOwner): void {
  owners.set(document, owner);
}

/** The live policy a spec's document belongs to, if it is one of a live policy's launch specs. */
export function liveOwnerOf(spec: EnforcerSpec): LiveSpecOwner | undefined {
  const policy = (spec as { policy?: { kind?: unknown; document?: unknown } } | null)?.policy;
  if (policy?.kind !== 'document') return undefined;
  const document = policy.document;
  return typeof document === 'object' && document !== null ? owners.get(document) : undefined;
}
