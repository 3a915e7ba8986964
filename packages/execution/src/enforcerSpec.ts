import {
  createSyscallEnforcer,
  parseEnforcerSpec as parseTrustEnforcerSpec,
  type EnforcerHooks,
  type EnforcerSpec,
} from '@forgeone/trust';
import type { SyscallEnforcerPort } from '@forgeone/common';

// One schema for enforcer specs: the policy engine's. Execution only adds what it knows — the
// syscall names its world provides — so an allow-list or policy naming anything else is refused.
export { EnforcerSpecSchema } from '@forgeone/trust';
export type { EnforcerSpec, EnforcerHooks } from '@forgeone/trust';

/** Parses a spec from outside (caller, worker message) once. */
export function parseEnforcerSpec(input: unknown): EnforcerSpec {
  return parseTrustEnforcerSpec(input);
}

/**
 * Builds a container's enforcer from its JSON spec (rebuilt inside isolation workers from the same
 * spec), checking every syscall it names against `knownSyscalls` when the spec does not list them.
 */
export function createEnforcerFromSpec(
  spec: EnforcerSpec,
  hooks: EnforcerHooks,
  knownSyscalls?: Iterable<string>,
): SyscallEnforcerPort {
  const known = spec.policy.knownSyscalls ?? (knownSyscalls ? [...knownSyscalls] : undefined);
  return createSyscallEnforcer(
    known === undefined ? spec : { ...spec, policy: { ...spec.policy, knownSyscalls: known } },
    hooks,
  );
}
