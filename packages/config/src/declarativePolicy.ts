import { z } from 'zod';
import { ForgeError } from '@forgeone/common';
import { hasRole, touches, type ChangePolicy } from './changePolicy';
import type { ConfigSchema } from './configSchema';
import { atPath } from './internal/leafMap';

const path = z.string().min(1).max(256);
const name = z.string().min(1).max(128).optional();
const scalar = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]);

/**
 * The closed set of rules a configuration file may declare under `changePolicies:`.
 * - `{ path, requireRole }`: changing the path (or anything under it) needs the role.
 * - `{ path, leaveValue, requireRole }`: moving the path away from that value needs the role.
 * - `{ path, frozen: true }`: the path cannot change while the kernel runs.
 * - `{ path, min }` / `{ path, max }`: a number bound, tighter than the schema's.
 * - `{ path, maxPath }`: the number at `path` may not exceed the number at `maxPath`.
 * The value rules (min, max, maxPath) also hold for the initial configuration.
 */
export const ChangePolicyRuleSchema = z.union([
  z.object({ name, path, leaveValue: scalar, requireRole: z.string().min(1).max(64) }).strict(),
  z.object({ name, path, requireRole: z.string().min(1).max(64) }).strict(),
  z.object({ name, path, frozen: z.literal(true) }).strict(),
  z.object({ name, path, min: z.number() }).strict(),
  z.object({ name, path, max: z.number() }).strict(),
  z.object({ name, path, maxPath: path }).strict(),
]);
export type ChangePolicyRule = z.output<typeof ChangePolicyRuleSchema>;

/** The `changePolicies` list of a file. */
export const ChangePolicyRulesSchema = z.array(ChangePolicyRuleSchema).max(256);

function ruleName(rule: ChangePolicyRule, index: number): string {
  if (rule.name !== undefined) return rule.name;
  if ('leaveValue' in rule)
    return `changePolicies[${index}]: ${rule.path} leaves ${String(rule.leaveValue)} only with role ${rule.requireRole}`;
  if ('requireRole' in rule)
    return `changePolicies[${index}]: ${rule.path} changes only with role ${rule.requireRole}`;
  if ('frozen' in rule) return `changePolicies[${index}]: ${rule.path} is frozen`;
  if ('min' in rule) return `changePolicies[${index}]: ${rule.path} >= ${rule.min}`;
  if ('max' in rule) return `changePolicies[${index}]: ${rule.path} <= ${rule.max}`;
  return `changePolicies[${index}]: ${rule.path} <= ${rule.maxPath}`;
}

function checkPath(schema: ConfigSchema, where: string, p: string, numeric: boolean): void {
  const info = schema.paths.get(p);
  if (info === undefined || (numeric && info.kind !== 'number')) {
    throw new ForgeError(
      'FORGE_CONFIG_POLICY_INVALID',
      `${where}: ${JSON.stringify(p)} ${info === undefined ? 'names no setting' : 'is not a number setting'}`,
      { details: { path: p, rule: where } },
    );
  }
}

/** Turns declared rules into change policies, refusing a rule that names an unknown path. */
export function compileChangePolicyRules(
  schema: ConfigSchema,
  rules: readonly ChangePolicyRule[],
): ChangePolicy[] {
  return rules.map((rule, index) => {
    const ruleLabel = ruleName(rule, index);
    const numeric = 'min' in rule || 'max' in rule || 'maxPath' in rule;
    checkPath(schema, `changePolicies[${index}]`, rule.path, numeric);
    if ('maxPath' in rule) checkPath(schema, `changePolicies[${index}]`, rule.maxPath, true);
    const policy: ChangePolicy = {
      name: ruleLabel,
      check(change) {
        if ('requireRole' in rule) {
          if (change.kind === 'initial' || !touches(change, rule.path)) return true;
          if ('leaveValue' in rule && atPath(change.before, rule.path) !== rule.leaveValue) return true;
          return (
            hasRole(change.actor, rule.requireRole) ||
            `actor ${change.actor.id} lacks role ${rule.requireRole}`
          );
        }
        if ('frozen' in rule)
          return (
            change.kind === 'initial' ||
            !touches(change, rule.path) ||
            `${rule.path} cannot change while running`
          );
        const value = atPath(change.after, rule.path);
        if (typeof value !== 'number') return true;
        if ('min' in rule) return value >= rule.min || `${rule.path} is ${value}, below ${rule.min}`;
        if ('max' in rule) return value <= rule.max || `${rule.path} is ${value}, above ${rule.max}`;
        const bound = atPath(change.after, rule.maxPath);
        return (
          typeof bound !== 'number' ||
          value <= bound ||
          `${rule.path} is ${value}, above ${rule.maxPath} (${bound})`
        );
      },
    };
    return policy;
  });
}
