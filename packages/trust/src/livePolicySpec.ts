import type { EnforcerSpec } from './createSyscallEnforcer';
import { liveOwnerOf } from './internal/liveSpecs';
import type { LivePolicyState } from './livePolicyState';

/** What a launch spec says of the live policy it came from (see LivePolicy.launchSpec). */
export interface LivePolicyLink {
  /** The version the spec was made under (a later one may be in force by now). */
  readonly version: number;
  /** The guest follows the live mode (its launch gave none). */
  readonly followMode: boolean;
  /** The version in force now. */
  state(): LivePolicyState;
  /** Told of every later version; returns the unsubscribe. */
  subscribe(fn: (state: LivePolicyState) => void): () => void;
}

/**
 * Whether `spec` is one of a live policy's launch specs on this thread, and under which version:
 * what an isolation worker's lane needs to keep a worker's guest on the version in force.
 */
export function livePolicyOfSpec(spec: EnforcerSpec): LivePolicyLink | undefined {
  const owner = liveOwnerOf<EnforcerSpec, unknown>(spec);
  return (
    owner && {
      version: owner.version,
      followMode: owner.followMode,
      state: () => owner.state(),
      subscribe: (fn) => owner.subscribe(fn),
    }
  );
}
