import type {
  Decision,
  DecisionAction,
  DecisionReason,
  IdentityContext,
  PolicyDecisionPoint,
  SyscallRequest,
} from '@forgeone/common';
import type { ArgUse, CompiledMatch } from './internal/compileConditions';
import type { CompiledEdge, CompiledPolicy, CompiledRule } from './internal/compiledPolicy';
import { EvalState, type EvaluationContext } from './internal/evalState';
import type { PolicyDocument } from './policyDocument';
import type { PolicyIssue } from './policyIssue';
import type { TrustAlgorithm } from './trustAlgorithm';

export type { EvaluationContext } from './internal/evalState';

/** A rule as decisions name it. */
export interface RuleRef {
  /** The node (policy) the rule belongs to. */
  readonly policy: string;
  readonly rule: string;
  /** `policy/rule`: what test cases and markers refer to. */
  readonly id: string;
  readonly action: DecisionAction;
  /** Effective weight (node weight + rule weight). */
  readonly weight: number;
}

/** A rule that matched the request, with the conditions that held. */
export interface RuleMatch extends RuleRef {
  readonly conditions: readonly string[];
  /** True for the one rule that decided. */
  readonly decided: boolean;
}

/** A rule that was considered and did not match: its first failing condition. */
export interface RuleMiss extends RuleRef {
  readonly failed: string;
  /** What the condition saw, e.g. `/etc/passwd`. */
  readonly observed: string;
}

/** An edge the evaluation followed. */
export interface TakenEdge {
  readonly from: string;
  readonly to: string;
  readonly when: string;
}

/** A decision of the policy graph, with everything that explains it. */
export interface ZtaDecision extends Decision {
  /** The rule that decided; undefined when no rule matched and the default policy denied. */
  readonly decidedBy: RuleRef | undefined;
  /** Nodes evaluated, in order (the closing `default` is implied when nothing matched). */
  readonly visited: readonly string[];
  readonly edges: readonly TakenEdge[];
  /** Every rule that matched, in evaluation order. */
  readonly matched: readonly RuleMatch[];
  /** Scores known or computed for this decision. */
  readonly scores: Readonly<{ trust?: number; anomaly?: number }>;
  /** True when the decision came from the decision cache. */
  readonly cached: boolean;
  /** `name@version` of the policy. */
  readonly policy: string;
  /** With `explain`: the rules that were considered and did not match. */
  readonly unmatched?: readonly RuleMiss[];
}

export interface EvaluateOptions {
  /** Also report the rules that did not match and why (slower; never cached). */
  readonly explain?: boolean;
}

/** Decision cache counters. */
export interface DecisionCacheStats {
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
}

interface Plan {
  readonly rules: readonly (readonly CompiledRule[])[];
  readonly edges: readonly (readonly CompiledEdge[])[];
  readonly args: readonly ArgUse[];
}

const MAX_CACHE = 16_384;
const MAX_PLANS = 4096;
const MAX_KEY_STRING = 512;

function passes(match: CompiledMatch, state: EvalState): boolean {
  for (const c of match.staticConditions) if (!c.test(state)) return false;
  for (const c of match.dynamicConditions) if (!c.test(state)) return false;
  return true;
}

function firstFailure(match: CompiledMatch, state: EvalState): { failed: string; observed: string } | undefined {
  for (const c of [...match.staticConditions, ...match.dynamicConditions]) {
    if (!c.test(state)) return { failed: c.description, observed: c.observed(state) };
  }
  return undefined;
}

function refOf(rule: CompiledRule): RuleRef {
  return { policy: rule.node, rule: rule.name, id: rule.id, action: rule.action, weight: rule.weight };
}

function overrideWhy(winner: CompiledRule, loser: CompiledRule): string {
  if (winner.weight !== loser.weight) return `weight ${winner.weight} > ${loser.weight}`;
  if (winner.action !== loser.action) return `${winner.action} is more restrictive than ${loser.action}`;
  return 'it comes first';
}

/**
 * A compiled ZTA policy graph: nodes are policies of rules, edges carry the flow between them
 * under conditions, and a closing `default` policy denies whatever no rule matched. Rules are
 * indexed by syscall name and compiled to closures; decisions that depend only on (identity,
 * syscall, argument class) are cached. Immutable: reloading builds a new graph (and cache).
 *
 * Conflict resolution: of every matching rule in the visited nodes, the highest weight decides;
 * at equal weight the most restrictive action (quarantine > deny > ask > allow); then the first
 * in evaluation order. No match: `default` denies.
 */
export class ZtaPolicyGraph implements PolicyDecisionPoint {
  readonly document: PolicyDocument;
  /** `metadata.name`. */
  readonly name: string;
  /** `metadata.version`, or the first 12 hex digits of the document digest. */
  readonly version: string;
  /** SHA-256 (hex) of the canonical document. */
  readonly digest: string;
  /** Static-check findings that did not stop the policy from loading. */
  readonly warnings: readonly PolicyIssue[];
  readonly trustAlgorithm: TrustAlgorithm;
  readonly file: string | undefined;
  readonly #compiled: CompiledPolicy;
  readonly #plans = new Map<string, Plan>();
  readonly #cache = new Map<string, ZtaDecision>();
  readonly #identityKeys = new WeakMap<IdentityContext, string>();
  #hits = 0;
  #misses = 0;

  /** @internal Built by `compilePolicy`; not for direct use. */
  constructor(compiled: CompiledPolicy) {
    this.#compiled = compiled;
    this.document = compiled.document;
    this.name = compiled.document.metadata.name;
    this.version = compiled.document.metadata.version ?? compiled.digest.slice(0, 12);
    this.digest = compiled.digest;
    this.warnings = compiled.warnings;
    this.trustAlgorithm = compiled.trust;
    this.file = compiled.file;
  }

  /** `name@version`. */
  get label(): string {
    return `${this.name}@${this.version}`;
  }

  /** Node names in document order; `entry` is where evaluation starts. */
  get nodes(): readonly string[] {
    return this.#compiled.nodes.map((n) => n.name);
  }

  get entry(): string {
    return this.#compiled.nodes[this.#compiled.entry]!.name;
  }

  /** Every rule id (`node/rule`). */
  ruleIds(): string[] {
    return this.#compiled.nodes.flatMap((n) => n.rules.map((r) => r.id));
  }

  /** The PolicyDecisionPoint view: the decision and its reasons, without extra context. */
  decide(request: SyscallRequest): Decision {
    return this.evaluate(request);
  }

  /** Decides `request` in `context` and explains the decision. */
  evaluate(request: SyscallRequest, context: EvaluationContext = {}, options: EvaluateOptions = {}): ZtaDecision {
    const plan = this.#planFor(request.syscall);
    const explain = options.explain === true;
    const key = explain ? undefined : this.#cacheKey(request, plan);
    if (key !== undefined) {
      const hit = this.#cache.get(key);
      if (hit) {
        this.#hits += 1;
        return hit;
      }
    }
    this.#misses += 1;
    const state = new EvalState(request, context, this.#compiled.trust, this.#compiled.markers);
    const decision = this.#run(plan, state, explain);
    if (key !== undefined && !state.dynamic) {
      if (this.#cache.size >= MAX_CACHE) this.#cache.clear();
      this.#cache.set(key, { ...decision, cached: true });
    }
    return decision;
  }

  /** Hits, misses and size of the decision cache. */
  cacheStats(): DecisionCacheStats {
    return { size: this.#cache.size, hits: this.#hits, misses: this.#misses };
  }

  #run(plan: Plan, state: EvalState, explain: boolean): ZtaDecision {
    const nodes = this.#compiled.nodes;
    const order = [this.#compiled.entry];
    const seen = new Set(order);
    const taken: CompiledEdge[] = [];
    const matched: CompiledRule[] = [];
    const misses: RuleMiss[] | undefined = explain ? [] : undefined;
    let best: CompiledRule | undefined;
    for (let i = 0; i < order.length; i += 1) {
      const node = order[i]!;
      for (const rule of plan.rules[node]!) {
        if (misses) {
          const failure = firstFailure(rule.match, state);
          if (failure) {
            misses.push({ ...refOf(rule), ...failure });
            continue;
          }
        } else if (!passes(rule.match, state)) continue;
        matched.push(rule);
        if (best === undefined || rule.rank > best.rank) best = rule;
      }
      for (const edge of plan.edges[node]!) {
        if (seen.has(edge.to)) continue;
        if (edge.match && !passes(edge.match, state)) continue;
        seen.add(edge.to);
        order.push(edge.to);
        taken.push(edge);
      }
    }

    const visited = order.map((n) => nodes[n]!.name);
    const scores = this.#scoresOf(state, best);
    const reasons: DecisionReason[] = [];
    if (best) {
      const decided = best;
      reasons.push({
        policy: decided.node,
        rule: decided.name,
        message: decided.reason,
        ...(decided.match.usesScores ? { scores } : {}),
      });
      for (const rule of matched) {
        if (rule === decided) continue;
        reasons.push({
          policy: rule.node,
          rule: rule.name,
          message: `would ${rule.action} (${rule.id}), overridden by ${decided.id}: ${overrideWhy(decided, rule)}`,
        });
      }
    } else {
      reasons.push({
        policy: 'default',
        message: `no rule in ${visited.join(', ')} matched ${state.request.syscall}; the default policy denies`,
      });
    }
    if (taken.length > 0) {
      reasons.push({
        policy: this.name,
        message: `evaluated ${visited[0]}${taken.map((e) => ` -> ${nodes[e.to]!.name} (when ${e.text})`).join('')}`,
      });
    }
    return {
      action: best?.action ?? 'deny',
      reasons,
      decidedBy: best && refOf(best),
      visited,
      edges: taken.map((e) => ({ from: nodes[e.from]!.name, to: nodes[e.to]!.name, when: e.text })),
      matched: matched.map((rule) => ({
        ...refOf(rule),
        conditions: rule.match.descriptions,
        decided: rule === best,
      })),
      scores,
      cached: false,
      policy: this.label,
      ...(misses ? { unmatched: misses } : {}),
    };
  }

  #scoresOf(state: EvalState, best: CompiledRule | undefined): { trust?: number; anomaly?: number } {
    // Scores are part of the explanation only when a condition consulted them.
    if (!state.dynamic) return {};
    const anomaly = state.anomaly();
    // The trust score is computed (from signals) only when a rule needs it or the decider used it.
    const given = state.context.scores?.trust ?? state.request.scores?.trust;
    const trust = given ?? (best?.match.usesScores ? state.trust() : undefined);
    return {
      ...(trust === undefined ? {} : { trust }),
      ...(anomaly === undefined ? {} : { anomaly }),
    };
  }

  /** The rules and edges that can apply to one syscall name, per node; built once per name. */
  #planFor(syscall: string): Plan {
    const known = this.#plans.get(syscall);
    if (known) return known;
    const args = new Map<string, { numericOnly: boolean; thresholds: Set<number> }>();
    const use = (match: CompiledMatch | undefined) => {
      for (const arg of match?.args ?? []) {
        const entry = args.get(arg.name) ?? { numericOnly: true, thresholds: new Set<number>() };
        entry.numericOnly &&= arg.numericOnly;
        for (const t of arg.thresholds) entry.thresholds.add(t);
        args.set(arg.name, entry);
      }
    };
    const rules = this.#compiled.nodes.map((node) =>
      node.rules.filter((rule) => rule.match.selector.matches(syscall)),
    );
    const edges = this.#compiled.nodes.map((node) =>
      node.edges.filter((edge) => !edge.match || edge.match.selector.matches(syscall)),
    );
    rules.flat().forEach((rule) => use(rule.match));
    edges.flat().forEach((edge) => use(edge.match));
    const plan: Plan = {
      rules,
      edges,
      args: [...args].map(([name, a]) => ({
        name,
        numericOnly: a.numericOnly,
        thresholds: [...a.thresholds].sort((x, y) => x - y),
      })),
    };
    if (this.#plans.size >= MAX_PLANS) this.#plans.clear();
    this.#plans.set(syscall, plan);
    return plan;
  }

  /**
   * (identity, syscall, argument class): the arguments some rule for this syscall looks at; a
   * number only compared with thresholds keys by its side of each threshold, so `bytes: 10` and
   * `bytes: 20` share an entry under `atMost: 4096`. Undefined: not cacheable.
   */
  #cacheKey(request: SyscallRequest, plan: Plan): string | undefined {
    let key = this.#identityKey(request.identity);
    key += `\u0000${request.syscall}`;
    for (const arg of plan.args) {
      const value = request.args[arg.name];
      if (value === undefined) key += '\u0000-';
      else if (typeof value === 'string') {
        if (value.length > MAX_KEY_STRING) return undefined;
        key += `\u0000s${value}`;
      } else if ((typeof value === 'number' || typeof value === 'bigint') && arg.numericOnly) {
        key += '\u0000c';
        for (const t of arg.thresholds) key += value < t ? '<' : value > t ? '>' : '=';
      } else key += `\u0000${typeof value}${String(value)}`;
    }
    return key;
  }

  #identityKey(identity: IdentityContext): string {
    let key = this.#identityKeys.get(identity);
    if (key === undefined) {
      key = JSON.stringify([
        identity.subject,
        identity.tenant,
        identity.roles,
        identity.attributes,
        identity.assurance,
        identity.signer ?? null,
      ]);
      this.#identityKeys.set(identity, key);
    }
    return key;
  }
}
