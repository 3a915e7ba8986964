import { z } from 'zod';
import type { LeafChange } from './internal/leafMap';

/** Who makes a change, with the roles change policies look at. */
export interface ConfigActor {
  readonly id: string;
  readonly roles: readonly string[];
}

/** Who changes the configuration and why: required on every change, kept in history. */
export interface ChangeMeta {
  readonly actor: ConfigActor;
  readonly reason: string;
}

/** Validates change metadata from outside (an actor id, its roles, a reason). */
export const ChangeMetaSchema = z
  .object({
    actor: z
      .object({
        id: z.string().min(1).max(256),
        roles: z.array(z.string().min(1).max(64)).max(64),
      })
      .strict(),
    reason: z.string().min(1).max(1000),
  })
  .strict();

/** How a version came to be. */
export type ChangeKind = 'initial' | 'set' | 'replace' | 'rollback';

/** A proposed change, as policies see it: before and after are whole, validated configurations. */
export interface ConfigChange<T = Record<string, unknown>> {
  readonly kind: ChangeKind;
  /** The version the change would become. */
  readonly version: number;
  readonly actor: ConfigActor;
  readonly reason: string;
  /** Every changed leaf (secrets stay references). */
  readonly changes: readonly LeafChange[];
  readonly before: T;
  readonly after: T;
}

/**
 * A rule every change must pass. `check` returns (or resolves to) true/undefined to let the change
 * through, or a string saying why it is refused (false: refused without a reason). A rule that
 * throws refuses the change too: policies fail closed.
 */
export interface ChangePolicy<T = Record<string, unknown>> {
  readonly name: string;
  check(
    change: ConfigChange<T>,
  ): boolean | string | undefined | void | Promise<boolean | string | undefined | void>;
}

/** Whether a change touches `path` or anything under it. */
export function touches(change: { readonly changes: readonly LeafChange[] }, path: string): boolean {
  const below = `${path}.`;
  return change.changes.some(
    (c) => c.path === path || c.path.startsWith(below) || path.startsWith(`${c.path}.`),
  );
}

/** Whether the actor holds `role`. */
export function hasRole(actor: ConfigActor, role: string): boolean {
  return actor.roles.includes(role);
}
