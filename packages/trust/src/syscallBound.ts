import type { Decision, Enforcement, SyscallEnforcerPort, SyscallRequest } from '@forgeone/common';
import { z } from 'zod';
import { compileSelector } from './internal/compileConditions';

/**
 * The syscalls something above every policy grants — a package's manifest — as names and globs
 * (`forge.log`, `wasi.*`). A policy, allow-list or decision point decides only inside it: a call
 * outside is denied, and never runs, in every mode.
 */
export const SyscallBoundSchema = z.strictObject({
  /** Who grants it, for messages: `package acme/report@1.0.0's manifest`. */
  owner: z.string().min(1).max(256),
  /** Syscall names and globs it grants; an empty list grants nothing. */
  syscalls: z.array(z.string().max(256)).max(4096),
});
export type SyscallBound = z.input<typeof SyscallBoundSchema>;

/** Bounds compiled once: the first that does not grant a syscall names its owner. */
export interface CompiledBounds {
  /** The denial for a call outside a bound, or undefined when every bound grants it. */
  outside(request: SyscallRequest): Decision | undefined;
}

/** Compiles bounds; every one must grant a call (their intersection). */
export function compileBounds(bounds: readonly SyscallBound[]): CompiledBounds | undefined {
  if (bounds.length === 0) return undefined;
  const compiled = bounds.map((bound) => ({
    owner: bound.owner,
    granted: bound.syscalls.length === 0 ? '(nothing)' : bound.syscalls.join(', '),
    matches: bound.syscalls.length === 0 ? () => false : compileSelector(bound.syscalls).matches,
  }));
  return {
    outside(request) {
      for (const bound of compiled) {
        if (bound.matches(request.syscall)) continue;
        return {
          action: 'deny',
          reasons: [
            {
              policy: 'manifest',
              message: `${request.syscall} is outside ${bound.owner} (it grants ${bound.granted}); no policy can widen it`,
            },
          ],
        };
      }
      return undefined;
    },
  };
}

/**
 * An enforcer that is not ours (a caller's object) under bounds: a call outside them is denied
 * and not executed, whatever the inner enforcer's mode; every other call is the inner's to decide.
 */
export function boundedEnforcer(
  inner: SyscallEnforcerPort & { readonly mode?: Enforcement['mode'] },
  bounds: readonly SyscallBound[],
): SyscallEnforcerPort {
  const compiled = compileBounds(bounds);
  if (compiled === undefined) return inner;
  const bounded: SyscallEnforcerPort = {
    enforce(request) {
      const denied = compiled.outside(request);
      if (denied !== undefined) return { decision: denied, execute: false, mode: inner.mode ?? 'enforce' };
      const enforcement = inner.enforce(request);
      // The bound reads only the syscall name, so the inner's promise of reuse still holds here.
      if (enforcement.reusableBy !== inner) return enforcement;
      return { ...enforcement, reusableBy: bounded };
    },
  };
  return bounded;
}
