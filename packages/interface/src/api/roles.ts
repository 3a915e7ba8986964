import { z } from 'zod';

/** The roles a token can have, weakest first: each can do what the ones before it can. */
export const apiRoles = ['viewer', 'operator', 'admin'] as const;
export const ApiRoleSchema = z.enum(apiRoles);
/** viewer reads; operator runs, pauses, stops, approves; admin changes policies, tokens and configuration. */
export type ApiRole = z.infer<typeof ApiRoleSchema>;

/** Who may call a route: anyone (`public`, e.g. liveness) or a token of at least this role. */
export type RouteAccess = 'public' | ApiRole;

/** Whether a token of `role` may call a route open to `access`. */
export function roleAllows(role: ApiRole, access: RouteAccess): boolean {
  return access === 'public' || apiRoles.indexOf(role) >= apiRoles.indexOf(access);
}
