import type { ArgCondition, MatchCondition, PolicyDocument } from './policyDocument';
import { PATTERN_ANALYSIS_BUDGET_MS } from './internal/regexSafety';
import { MAX_POLICY_BYTES, MAX_POLICY_NESTING } from './policySource';

/**
 * The limits a policy is held to, so that reading and checking the largest one accepted stays
 * under a second (see bench/policyLoad.bench.ts). Beyond them it is refused with
 * FORGE_POLICY_TOO_LARGE (FORGE_POLICY_TOO_DEEP for nesting) before any pattern is analysed.
 */
export const policyLimits = {
  /** Bytes of YAML or JSON text. */
  bytes: MAX_POLICY_BYTES,
  /** Levels of nesting (collections in collections). */
  nesting: MAX_POLICY_NESTING,
  /** Rules over all nodes. */
  rules: 2_000,
  /**
   * Distinct `regex` and `glob` conditions: each is proven free of catastrophic backtracking
   * (ReDoS) when the policy loads, which costs milliseconds per pattern.
   */
  patterns: 16,
  /**
   * Milliseconds all of a policy's patterns may take to analyse together (after the checker's
   * one-time start-up); a policy whose patterns take longer is refused with FORGE_POLICY_TOO_LARGE.
   */
  patternAnalysisMs: PATTERN_ANALYSIS_BUDGET_MS,
  /** Characters of one `regex` condition (the schema's bound). */
  regexLength: 256,
} as const;

/** Why a schema-valid document is over a limit, or undefined. */
export function policyOverLimit(doc: PolicyDocument): string | undefined {
  const rules = doc.spec.nodes.reduce((sum, node) => sum + node.rules.length, 0);
  if (rules > policyLimits.rules) {
    return `the policy has ${rules} rules; the limit is ${policyLimits.rules} (split it, or merge rules with syscall lists and oneOf)`;
  }
  const patterns = new Set<string>();
  const matches: (MatchCondition | undefined)[] = [
    ...doc.spec.nodes.flatMap((node) => node.rules.map((rule) => rule.match)),
    ...doc.spec.edges.map((edge) => edge.when),
  ];
  for (const match of matches) {
    for (const condition of [
      ...Object.values(match?.args ?? {}),
      ...Object.values(match?.identity?.attributes ?? {}),
    ]) {
      collectPatterns(condition, patterns);
    }
  }
  if (patterns.size > policyLimits.patterns) {
    return `the policy has ${patterns.size} distinct regex and glob conditions; the limit is ${policyLimits.patterns}, since each is proven safe from catastrophic backtracking on load (use prefix, under, equals, oneOf or contains)`;
  }
  return undefined;
}

function collectPatterns(condition: ArgCondition | undefined, into: Set<string>): void {
  // `not` chains are bounded by the nesting limit, so this recursion is too.
  for (let c = condition; c !== null && typeof c === 'object'; c = c.not) {
    if (c.glob !== undefined) into.add(`glob:${c.glob}`);
    if (c.regex !== undefined) into.add(`regex:${c.regex}`);
  }
}
