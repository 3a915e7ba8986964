import {
  createSyscallEnforcer,
  parseEnforcerSpec,
  type EnforcerHooks,
  type EnforcerSpec,
} from '@forgeone/trust';
import type { SyscallEnforcerPort } from '@forgeone/common';

// One schema for enforcer specs: the policy engine's. Execution only adds what it knows — the
// syscall names its world provides — so an allow-list or policy naming anything else is refused.
export { EnforcerSpecSchema } from '@forgeone/trust';
export type { EnforcerSpec, EnforcerHooks } from '@forgeone/trust';

const parsedSpecs = new WeakMap<object, EnforcerSpec>();

/**
 * trust's `parseEnforcerSpec` once per spec object: hosts launching many instances under the same spec
 * object validate it on the first launch only. The parse is frozen (all but a policy document,
 * which stays the caller's object), so the enforcer built from it can be prepared once as well.
 */
export function parsedEnforcerSpec(given: EnforcerSpec): EnforcerSpec {
  let parsed = parsedSpecs.get(given);
  if (parsed === undefined) {
    parsed = freezeParsedSpec(parseEnforcerSpec(given));
    parsedSpecs.set(given, parsed);
  }
  return parsed;
}

/** Freezes what the schema built (its objects and arrays), not the values it passed through. */
function freezeParsedSpec(spec: EnforcerSpec): EnforcerSpec {
  const { policy } = spec;
  if (policy.kind === 'allow-list') {
    for (const list of [policy.allow, policy.ask, policy.within, policy.knownSyscalls]) {
      if (list) Object.freeze(list);
    }
  } else if (policy.knownSyscalls) {
    Object.freeze(policy.knownSyscalls);
  }
  Object.freeze(policy);
  if (spec.within) {
    for (const bound of spec.within) Object.freeze(bound.syscalls);
    Object.freeze(spec.within);
  }
  if (spec.quarantine) Object.freeze(spec.quarantine);
  if (spec.syscalls) Object.freeze(spec.syscalls);
  return Object.freeze(spec);
}

const withKnownSpecs = new WeakMap<EnforcerSpec, { known: Iterable<string>; spec: EnforcerSpec }>();

/** `spec` with `knownSyscalls` filled in; kept per frozen spec and list, so it is built once. */
function withKnownSyscalls(spec: EnforcerSpec, known: Iterable<string> | undefined): EnforcerSpec {
  if (spec.policy.knownSyscalls !== undefined || known === undefined) return spec;
  const cached = withKnownSpecs.get(spec);
  if (cached !== undefined && cached.known === known) return cached.spec;
  const knownSyscalls = [...known];
  Object.freeze(knownSyscalls);
  const policy = Object.freeze({ ...spec.policy, knownSyscalls });
  const result: EnforcerSpec = { ...spec, policy };
  if (Object.isFrozen(spec)) withKnownSpecs.set(spec, { known, spec: Object.freeze(result) });
  return result;
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
  return createSyscallEnforcer(withKnownSyscalls(spec, knownSyscalls), hooks);
}
