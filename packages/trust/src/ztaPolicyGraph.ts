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
import { EvalState, markerSlots, type EvaluationContext, type MarkerSlot } from './internal/evalState';
import { historyReadsOf, type HistoryReads } from './internal/historyReads';
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

/** The last decision built for one outcome, with the scores it carries. */
interface LastDecision {
  readonly trust: number | undefined;
  readonly anomaly: number | undefined;
  readonly decision: ZtaDecision;
}

/** An outcome whose decision depends on nothing but its scores (see ZtaPolicyGraph#run). */
interface DecisionSlot {
  lastDecision: LastDecision | undefined;
}

/** A compiled rule with the explanation objects it contributes, built once. */
interface RuleView extends DecisionSlot {
  readonly rule: CompiledRule;
  readonly ref: RuleRef;
  readonly asDecider: RuleMatch;
  readonly asOther: RuleMatch;
  /** `[asDecider]`: the matched list when this rule is the only match (the common case). */
  readonly single: readonly RuleMatch[];
  /** The reason when it decides (undefined when it carries per-call scores). */
  readonly reason: DecisionReason | undefined;
}

/** Rules of one node for one syscall; indexed by directory when many rules name an `under`. */
interface NodePlan {
  readonly rules: readonly RuleView[];
  readonly index:
    | {
        readonly arg: string;
        readonly buckets: ReadonlyMap<string, readonly RuleView[]>;
        /** Lengths of the bucket directories. */
        readonly lengths: ReadonlySet<number>;
        readonly rest: readonly RuleView[];
      }
    | undefined;
  readonly edges: readonly CompiledEdge[];
}

/** The rules and edges that can apply to one syscall name; the slot is for when none matches. */
interface Plan extends DecisionSlot {
  readonly syscall: string;
  readonly nodes: readonly NodePlan[];
  readonly args: readonly ArgUse[];
  /** See ZtaPolicyGraph.decidesBySyscallOnlyFor. */
  readonly bySyscallOnly: boolean;
  /**
   * Every evaluation consults a time, score or DNA condition (an entry rule has nothing else), so
   * no decision is ever cached: the cache key is not worth building.
   */
  readonly alwaysDynamic: boolean;
}

const MAX_CACHE = 16_384;
const MAX_PLANS = 4096;
const MAX_KEY_STRING = 512;
/** Below this many rules a node is scanned; above, rules with an `under` condition are indexed. */
const INDEX_THRESHOLD = 8;
const NO_EDGES: readonly TakenEdge[] = Object.freeze([]);
const NO_SCORES = Object.freeze({});

function firstFailure(
  match: CompiledMatch,
  state: EvalState,
): { failed: string; observed: string } | undefined {
  for (const c of [...match.staticConditions, ...match.dynamicConditions]) {
    if (!c.test(state)) return { failed: c.description, observed: c.observed(state) };
  }
  return undefined;
}

function overrideWhy(winner: CompiledRule, loser: CompiledRule): string {
  if (winner.weight !== loser.weight) return `weight ${winner.weight} > ${loser.weight}`;
  if (winner.action !== loser.action) return `${winner.action} is more restrictive than ${loser.action}`;
  return 'it comes first';
}

function viewOf(rule: CompiledRule): RuleView {
  const ref: RuleRef = Object.freeze({
    policy: rule.node,
    rule: rule.name,
    id: rule.id,
    action: rule.action,
    weight: rule.weight,
  });
  const asDecider = Object.freeze({ ...ref, conditions: rule.match.descriptions, decided: true });
  return {
    rule,
    ref,
    asDecider,
    single: Object.freeze([asDecider]),
    asOther: Object.freeze({ ...ref, conditions: rule.match.descriptions, decided: false }),
    reason: rule.match.usesScores
      ? undefined
      : Object.freeze({ policy: rule.node, rule: rule.name, message: rule.reason }),
    lastDecision: undefined,
  };
}

/** Indexes a node's rules by the directory of their `under` condition on the most used argument. */
function indexOf(rules: readonly RuleView[]): NodePlan['index'] {
  if (rules.length < INDEX_THRESHOLD) return undefined;
  const counts = new Map<string, number>();
  for (const view of rules) {
    const under = view.rule.match.under;
    if (under) counts.set(under.arg, (counts.get(under.arg) ?? 0) + 1);
  }
  const [arg, count] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  if (count < INDEX_THRESHOLD / 2) return undefined;
  const buckets = new Map<string, RuleView[]>();
  const rest: RuleView[] = [];
  for (const view of rules) {
    const under = view.rule.match.under;
    if (under?.arg === arg) {
      const bucket = buckets.get(under.dir);
      if (bucket) bucket.push(view);
      else buckets.set(under.dir, [view]);
    } else rest.push(view);
  }
  return { arg, buckets, lengths: new Set([...buckets.keys()].map((dir) => dir.length)), rest };
}

/**
 * The rules of a node that can match a request: with an index, only those whose directory is the
 * value itself or one of its ancestors (exactly the directories an `under` could accept).
 */
function candidates(plan: NodePlan, request: SyscallRequest): readonly RuleView[] {
  const index = plan.index;
  if (!index) return plan.rules;
  const value = request.args[index.arg];
  if (typeof value !== 'string') return index.rest;
  let first = index.buckets.get(value);
  let more: RuleView[] | undefined;
  for (let end = value.length; ;) {
    const slash = value.lastIndexOf('/', end - 1);
    if (slash < 0) break;
    // Only directories of a length some bucket has are looked up (no substring otherwise).
    if (index.lengths.has(slash === 0 ? 1 : slash)) {
      const bucket = index.buckets.get(slash === 0 ? '/' : value.slice(0, slash));
      if (bucket) {
        if (!first) first = bucket;
        else (more ??= [...first]).push(...bucket);
      }
    }
    if (slash === 0) break;
    end = slash;
  }
  if (!first) return index.rest;
  if (!more && index.rest.length === 0) return first;
  // Document order is the last tie-breaker, so candidates are evaluated in it.
  return [...index.rest, ...(more ?? first)].sort((a, b) => a.rule.order - b.rule.order);
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
  /** The plan last used: a gate asks about the same syscall many times in a row. */
  #lastPlan: Plan | undefined;
  /** Decisions per identity object (the gate passes one per container), then per (syscall, argument class). */
  #cache = new WeakMap<IdentityContext, Map<string, ZtaDecision>>();
  #cacheSize = 0;
  readonly #views: readonly (readonly RuleView[])[];
  readonly #entryOnly: readonly string[];
  readonly #label: string;
  readonly #history: HistoryReads;
  readonly #markers: ReadonlyMap<string, MarkerSlot>;
  /** Visit marks per node, stamped per evaluation (no allocation; evaluation is synchronous). */
  readonly #seen: Uint32Array;
  #stamp = 0;
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
    this.#views = compiled.nodes.map((node) => node.rules.map(viewOf));
    this.#entryOnly = Object.freeze([compiled.nodes[compiled.entry]!.name]);
    this.#label = `${this.name}@${this.version}`;
    this.#history = historyReadsOf(compiled.document);
    this.#markers = markerSlots(compiled.markers);
    this.#seen = new Uint32Array(compiled.nodes.length);
  }

  /** `name@version`. */
  get label(): string {
    return this.#label;
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

  /**
   * True when every rule and edge that can apply to `syscall` (its pattern matches, in any node)
   * reads nothing but the caller's identity and no such rule asks or quarantines, and no condition
   * of the policy counts calls of `syscall`: no trust condition anywhere (the trust score weighs
   * the share of refused calls among all calls), no marker on refusals, deviation or new syscalls,
   * no `calls` marker over `syscall`, no `ruleHits` marker over a rule that can decide it. Then
   * `decide` and `evaluate` give one decision per (identity, syscall) whatever the arguments,
   * time, scores and context, and calls of `syscall` change nothing another decision reads
   * (PolicyDecisionPoint.decidesBySyscallOnlyFor). Computed once per syscall name.
   */
  decidesBySyscallOnlyFor(syscall: string): boolean {
    return this.#planFor(syscall).bySyscallOnly;
  }

  /** Decides `request` in `context` and explains the decision. */
  evaluate(
    request: SyscallRequest,
    context: EvaluationContext = {},
    options: EvaluateOptions = {},
  ): ZtaDecision {
    const plan = this.#planFor(request.syscall);
    const explain = options.explain === true;
    const key =
      explain || plan.alwaysDynamic || !this.#compiled.cache ? undefined : this.#cacheKey(request, plan);
    let forIdentity: Map<string, ZtaDecision> | undefined;
    if (key !== undefined) {
      forIdentity = this.#cache.get(request.identity);
      const hit = forIdentity?.get(key);
      if (hit) {
        this.#hits += 1;
        return hit;
      }
    }
    this.#misses += 1;
    const state = new EvalState(request, context, this.#compiled.trust, this.#markers);
    const decision = this.#run(plan, state, explain);
    if (key !== undefined && !state.dynamic) {
      if (this.#cacheSize >= MAX_CACHE) {
        this.#cache = new WeakMap();
        this.#cacheSize = 0;
        forIdentity = undefined;
      }
      if (!forIdentity) this.#cache.set(request.identity, (forIdentity = new Map()));
      forIdentity.set(key, { ...decision, cached: true });
      this.#cacheSize += 1;
    }
    return decision;
  }

  /** Hits, misses and size of the decision cache. */
  cacheStats(): DecisionCacheStats {
    return { size: this.#cacheSize, hits: this.#hits, misses: this.#misses };
  }

  #run(plan: Plan, state: EvalState, explain: boolean): ZtaDecision {
    const stamp = (this.#stamp = (this.#stamp + 1) >>> 0 || 1);
    const seen = this.#seen;
    const order = [this.#compiled.entry];
    seen[this.#compiled.entry] = stamp;
    let taken: CompiledEdge[] | undefined;
    const matched: RuleView[] = [];
    const misses: RuleMiss[] | undefined = explain ? [] : undefined;
    let best: RuleView | undefined;
    for (let i = 0; i < order.length; i += 1) {
      const nodePlan = plan.nodes[order[i]!]!;
      const views = explain ? nodePlan.rules : candidates(nodePlan, state.request);
      for (const view of views) {
        if (misses) {
          const failure = firstFailure(view.rule.match, state);
          if (failure) {
            misses.push({ ...view.ref, ...failure });
            continue;
          }
        } else if (!view.rule.match.test(state)) continue;
        matched.push(view);
        if (best === undefined || view.rule.rank > best.rule.rank) best = view;
      }
      for (const edge of nodePlan.edges) {
        if (seen[edge.to] === stamp) continue;
        if (edge.match && !edge.match.test(state)) continue;
        seen[edge.to] = stamp;
        order.push(edge.to);
        (taken ??= []).push(edge);
      }
    }

    // Scores are part of the explanation only when a condition consulted them; the trust score is
    // computed (from signals) only when a rule needs it or the decider used it.
    const dynamic = state.dynamic;
    const anomaly = dynamic ? state.anomaly() : undefined;
    const trust = dynamic
      ? (state.context.scores?.trust ??
        state.request.scores?.trust ??
        (best?.rule.match.usesScores ? state.trust() : undefined))
      : undefined;
    // A dynamic decision is never cached, yet in the common outcome (no edge taken, nothing but the
    // decider matched) it is a function of the deciding rule, or of the syscall when none matched,
    // and of the scores. The last one built for that outcome is returned again while its scores are
    // the same (a computed trust score changes only with the caller's refusals, anomaly score or
    // quarantines): a gate asking on every call then gets no new decision to keep in its trace.
    const slot: DecisionSlot | undefined =
      dynamic && !explain && taken === undefined && matched.length === (best === undefined ? 0 : 1)
        ? (best ?? plan)
        : undefined;
    const last = slot?.lastDecision;
    if (last !== undefined && last.trust === trust && last.anomaly === anomaly) return last.decision;
    const scores = !dynamic
      ? NO_SCORES
      : trust === undefined
        ? anomaly === undefined
          ? {}
          : { anomaly }
        : anomaly === undefined
          ? { trust }
          : { trust, anomaly };
    const decision = this.#decision(state, order, taken, matched, best, scores);
    if (misses) decision.unmatched = misses;
    if (slot !== undefined) slot.lastDecision = { trust, anomaly, decision };
    return decision;
  }

  /** The decision of one evaluation: the nodes reached, the edges taken, the rules that matched. */
  #decision(
    state: EvalState,
    order: readonly number[],
    taken: readonly CompiledEdge[] | undefined,
    matched: readonly RuleView[],
    best: RuleView | undefined,
    scores: ZtaDecision['scores'],
  ): { -readonly [K in keyof ZtaDecision]: ZtaDecision[K] } {
    const nodes = this.#compiled.nodes;
    const reasons: DecisionReason[] = [];
    let visited: readonly string[];
    if (taken) visited = order.map((n) => nodes[n]!.name);
    else visited = this.#entryOnly;
    if (best) {
      const decided = best.rule;
      reasons.push(
        best.reason ?? { policy: decided.node, rule: decided.name, message: decided.reason, scores },
      );
      for (const view of matched) {
        if (view === best) continue;
        reasons.push({
          policy: view.rule.node,
          rule: view.rule.name,
          message: `would ${view.rule.action} (${view.rule.id}), overridden by ${decided.id}: ${overrideWhy(decided, view.rule)}`,
        });
      }
    } else {
      reasons.push({
        policy: 'default',
        message: `no rule in ${visited.join(', ')} matched ${state.request.syscall}; the default policy denies`,
      });
    }
    if (taken) {
      reasons.push({
        policy: this.name,
        message: `evaluated ${visited[0]}${taken.map((e) => ` -> ${nodes[e.to]!.name} (when ${e.text})`).join('')}`,
      });
    }
    return {
      action: best?.rule.action ?? 'deny',
      reasons,
      decidedBy: best?.ref,
      visited,
      edges: taken
        ? taken.map((e) => ({ from: nodes[e.from]!.name, to: nodes[e.to]!.name, when: e.text }))
        : NO_EDGES,
      matched:
        best && matched.length === 1 && matched[0] === best
          ? best.single
          : matched.map((v) => (v === best ? v.asDecider : v.asOther)),
      scores,
      cached: false,
      policy: this.#label,
    };
  }

  /** The rules and edges that can apply to one syscall name, per node; built once per name. */
  #planFor(syscall: string): Plan {
    const lastPlan = this.#lastPlan;
    if (lastPlan?.syscall === syscall) return lastPlan;
    const known = this.#plans.get(syscall);
    if (known) return (this.#lastPlan = known);
    const args = new Map<string, { numericOnly: boolean; thresholds: Set<number> }>();
    const use = (match: CompiledMatch | undefined) => {
      for (const arg of match?.args ?? []) {
        const entry = args.get(arg.name) ?? { numericOnly: true, thresholds: new Set<number>() };
        entry.numericOnly &&= arg.numericOnly;
        for (const t of arg.thresholds) entry.thresholds.add(t);
        args.set(arg.name, entry);
      }
    };
    const nodes = this.#compiled.nodes.map((node, n): NodePlan => {
      const rules = this.#views[n]!.filter((view) => view.rule.match.selector.matches(syscall));
      const edges = node.edges.filter((edge) => !edge.match || edge.match.selector.matches(syscall));
      rules.forEach((view) => use(view.rule.match));
      edges.forEach((edge) => use(edge.match));
      return { rules, index: indexOf(rules), edges };
    });
    const entry = nodes[this.#compiled.entry]!;
    const plan: Plan = {
      syscall,
      nodes,
      bySyscallOnly: this.#bySyscallOnly(syscall, nodes),
      // Without an index every entry rule is tested, and one with only dynamic conditions always
      // consults one.
      alwaysDynamic:
        entry.index === undefined &&
        entry.rules.some(
          ({ rule }) => rule.match.staticConditions.length === 0 && rule.match.dynamicConditions.length > 0,
        ),
      args: [...args].map(([name, a]) => ({
        name,
        numericOnly: a.numericOnly,
        thresholds: [...a.thresholds].sort((x, y) => x - y),
      })),
      lastDecision: undefined,
    };
    if (this.#plans.size >= MAX_PLANS) this.#plans.clear();
    this.#plans.set(syscall, plan);
    return (this.#lastPlan = plan);
  }

  /** See decidesBySyscallOnlyFor; `nodes` are the syscall's rules and edges per node. */
  #bySyscallOnly(syscall: string, nodes: readonly NodePlan[]): boolean {
    const history = this.#history;
    if (history.everyCall || history.calls.some((selector) => selector.matches(syscall))) return false;
    return nodes.every(
      (node) =>
        node.rules.every(
          ({ rule }) =>
            rule.match.readsOnlyIdentity &&
            (rule.action === 'allow' || rule.action === 'deny') &&
            !history.ruleHits.has(rule.id),
        ) && node.edges.every((edge) => edge.match === undefined || edge.match.readsOnlyIdentity),
    );
  }

  /**
   * (syscall, argument class) under the identity's own map: the arguments some rule for this syscall looks at; a
   * number only compared with thresholds keys by its side of each threshold, so `bytes: 10` and
   * `bytes: 20` share an entry under `atMost: 4096`. Undefined: not cacheable.
   */
  #cacheKey(request: SyscallRequest, plan: Plan): string | undefined {
    let key = request.syscall;
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
}
