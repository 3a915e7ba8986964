import type { TrustRoot } from '@forgeone/crypto';
import type { BootContext } from './bootContext';

// The verified root each boot context was made with. A side table, not a field: a boot context is
// plain data that is printed and served (`forgeone boot --json`, GET /v1/boot), and a root holds
// key material objects that are no part of that record.
const roots = new WeakMap<BootContext, TrustRoot>();

/** Records the root `context` was booted on (boot's own step). */
export function rememberBootTrustRoot(context: BootContext, root: TrustRoot): void {
  roots.set(context, root);
}

/**
 * The verified trust root a kernel booted on (what packages must verify against), or undefined
 * for a development kernel booted without one.
 */
export function bootTrustRoot(context: BootContext | undefined): TrustRoot | undefined {
  return context === undefined ? undefined : roots.get(context);
}
