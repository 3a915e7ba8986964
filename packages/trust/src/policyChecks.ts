import { assuranceLevels } from '@forgeone/common';
import picomatch from 'picomatch';
import { grantOf, missingCapability } from './capabilityCatalog';
import { compileSelector, compileValueTest, type SyscallSelector } from './internal/compileConditions';
import { severity } from './internal/compiledPolicy';
import type { DocPathStep } from './internal/docPath';
import type {
  ArgCondition,
  ArgConditionObject,
  IdentityCondition,
  MatchCondition,
  PolicyDocument,
  PolicyRule,
  ScoreCondition,
} from './policyDocument';
import type { PolicyWarningCode } from './policyIssue';

/** A static-check finding before it is located in the source. */
export interface PolicyFinding {
  readonly path: readonly DocPathStep[];
  readonly code: PolicyWarningCode;
  readonly message: string;
}

export interface PolicyCheckOptions {
  /** Every syscall that exists; the syscall-set checks need it. */
  readonly knownSyscalls?: Iterable<string>;
  /** Capabilities the package requests; allow rules beyond them are reported. */
  readonly capabilities?: readonly string[];
}

interface RuleInfo {
  readonly rule: PolicyRule;
  readonly node: number;
  readonly index: number;
  readonly id: string;
  readonly rank: number;
  readonly selector: SyscallSelector;
  readonly path: readonly DocPathStep[];
}

const ignore = { error: () => undefined };

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function asObject(condition: ArgCondition): ArgConditionObject {
  return condition === null || typeof condition !== 'object' ? { equals: condition } : condition;
}

/** The literal values a condition allows, when it lists them (equals / oneOf). */
function candidates(c: ArgConditionObject): readonly (string | number | boolean | null)[] | undefined {
  if (c.equals !== undefined) return [c.equals];
  return c.oneOf;
}

const isInside = (child: string, dir: string) => dir === '/' || child === dir || child.startsWith(`${dir}/`);
const trimDir = (dir: string) => (dir.length > 1 ? dir.replace(/\/+$/, '') : dir);

/** True when every value satisfying `b` satisfies `a` (conservative: false when unsure). */
function argImplies(bRaw: ArgCondition, aRaw: ArgCondition): boolean {
  if (deepEqual(bRaw, aRaw)) return true;
  const b = asObject(bRaw);
  const a = asObject(aRaw);
  const values = candidates(b);
  if (values) {
    const test = compileValueTest(b, [], ignore);
    const target = compileValueTest(a, [], ignore);
    return values.filter((v) => test.test(v)).every((v) => target.test(v));
  }
  const keys = Object.keys(a) as (keyof ArgConditionObject)[];
  return keys.every((key) => {
    switch (key) {
      case 'under': {
        const dir = trimDir(a.under!);
        return (
          (b.under !== undefined && isInside(trimDir(b.under), dir)) ||
          (b.prefix !== undefined && b.prefix.startsWith(dir === '/' ? '/' : `${dir}/`))
        );
      }
      case 'prefix':
        return (
          (b.prefix !== undefined && b.prefix.startsWith(a.prefix!)) ||
          (b.under !== undefined && trimDir(b.under).startsWith(a.prefix!))
        );
      case 'atLeast':
        return b.atLeast !== undefined && b.atLeast >= a.atLeast!;
      case 'atMost':
        return b.atMost !== undefined && b.atMost <= a.atMost!;
      case 'exists':
        if (a.exists === false) return b.exists === false;
        return Object.keys(b).some((k) => k !== 'not' && !(k === 'exists' && b.exists === false));
      default:
        return deepEqual(b[key], a[key]);
    }
  });
}

function rolesOf(identity: IdentityCondition | undefined): { all: string[]; any?: string[]; none: string[] } {
  const roles = identity?.roles;
  if (roles === undefined) return { all: [], none: [] };
  if (Array.isArray(roles)) return { all: roles, none: [] };
  return { all: roles.all ?? [], ...(roles.any ? { any: roles.any } : {}), none: roles.none ?? [] };
}

function identityImplies(b: IdentityCondition | undefined, a: IdentityCondition | undefined): boolean {
  if (a === undefined) return true;
  if (b === undefined) return false;
  if (a.subject !== undefined) {
    const ok =
      a.subject === b.subject ||
      (b.subject !== undefined && !b.subject.includes('*') && picomatch(a.subject, { dot: true })(b.subject));
    if (!ok) return false;
  }
  if (a.tenant !== undefined && a.tenant !== b.tenant) return false;
  const ra = rolesOf(a);
  const rb = rolesOf(b);
  if (!ra.all.every((r) => rb.all.includes(r))) return false;
  if (
    ra.any &&
    !(
      ra.any.some((r) => rb.all.includes(r)) ||
      (rb.any !== undefined && rb.any.every((r) => ra.any!.includes(r)))
    )
  ) {
    return false;
  }
  if (!ra.none.every((r) => rb.none.includes(r))) return false;
  for (const [name, condition] of Object.entries(a.attributes ?? {})) {
    const other = b.attributes?.[name];
    if (other === undefined || !argImplies(other, condition)) return false;
  }
  if (a.capabilities && !a.capabilities.every((c) => b.capabilities?.includes(c))) return false;
  if (a.assurance) {
    if (!b.assurance) return false;
    if (assuranceLevels.indexOf(a.assurance.atLeast) > assuranceLevels.indexOf(b.assurance.atLeast))
      return false;
  }
  if (a.signed !== undefined && a.signed !== b.signed && !(a.signed && b.signer !== undefined)) return false;
  if (a.signer !== undefined && a.signer !== b.signer) return false;
  return true;
}

function scoreImplies(b: ScoreCondition | undefined, a: ScoreCondition | undefined): boolean {
  if (a === undefined) return true;
  if (b === undefined) return false;
  const lowOk = a.atLeast === undefined || (b.atLeast !== undefined && b.atLeast >= a.atLeast);
  const highOk = a.below === undefined || (b.below !== undefined && b.below <= a.below);
  return lowOk && highOk;
}

/** True when every call matching `b` also matches `a` (conservative). */
function matchImplies(
  b: MatchCondition,
  a: MatchCondition,
  setOf: ((s: SyscallSelector) => Set<string>) | undefined,
): boolean {
  const sa = compileSelector(a.syscall);
  const sb = compileSelector(b.syscall);
  if (!sa.any) {
    if (setOf) {
      const inA = setOf(sa);
      if (![...setOf(sb)].every((name) => inA.has(name))) return false;
    } else if (
      sb.any ||
      !sb.patterns.every((p) => sa.patterns.includes(p) || (!p.includes('*') && sa.matches(p)))
    ) {
      return false;
    }
  }
  for (const [name, condition] of Object.entries(a.args ?? {})) {
    const other = b.args?.[name];
    if (other === undefined || !argImplies(other, condition)) return false;
  }
  if (!identityImplies(b.identity, a.identity)) return false;
  if (a.time !== undefined && !deepEqual(a.time, b.time)) return false;
  if (!scoreImplies(b.trust, a.trust) || !scoreImplies(b.anomaly, a.anomaly)) return false;
  if (a.dna) {
    const bAll = b.dna?.markers ?? [];
    if (a.dna.markers && !a.dna.markers.every((m) => bAll.includes(m))) return false;
    if (a.dna.anyMarkers) {
      const anyA = a.dna.anyMarkers;
      const ok =
        anyA.some((m) => bAll.includes(m)) || (b.dna?.anyMarkers?.every((m) => anyA.includes(m)) ?? false);
      if (!ok) return false;
    }
  }
  return true;
}

/** Why an argument condition can never hold, if it cannot. */
function argContradiction(name: string, raw: ArgCondition): string | undefined {
  const c = asObject(raw);
  if (c.atLeast !== undefined && c.atMost !== undefined && c.atLeast > c.atMost) {
    return `${name} must be >= ${c.atLeast} and <= ${c.atMost}`;
  }
  if (c.exists === false && Object.keys(c).some((k) => k !== 'exists' && k !== 'not')) {
    return `${name} must be absent and also have a value`;
  }
  if (c.under !== undefined && c.prefix !== undefined) {
    const dir = trimDir(c.under);
    const compatible = c.prefix.startsWith(dir) || `${dir}/`.startsWith(c.prefix);
    if (!compatible) return `${name} must be under ${dir} and start with ${c.prefix}`;
  }
  const values = candidates(c);
  if (values && !values.some((v) => compileValueTest(c, [], ignore).test(v))) {
    return `no listed value of ${name} satisfies its other conditions`;
  }
  return undefined;
}

/** Why a rule's conditions can never all hold together, if they cannot. */
function contradiction(match: MatchCondition): string | undefined {
  for (const [name, condition] of Object.entries(match.args ?? {})) {
    const why = argContradiction(name, condition);
    if (why) return why;
  }
  const roles = rolesOf(match.identity);
  const clash = roles.all.find((r) => roles.none.includes(r));
  if (clash) return `role ${clash} is both required and excluded`;
  if (roles.any && roles.any.every((r) => roles.none.includes(r)))
    return 'every role in roles.any is excluded by roles.none';
  for (const [label, score] of [
    ['trust', match.trust],
    ['anomaly', match.anomaly],
  ] as const) {
    if (score?.atLeast !== undefined && score.below !== undefined && score.atLeast >= score.below) {
      return `${label} must be >= ${score.atLeast} and < ${score.below}`;
    }
  }
  const time = match.time;
  if (time?.from !== undefined && time.from === time.to)
    return `the time window ${time.from}-${time.to} is empty`;
  if (time?.notBefore && time.notAfter && Date.parse(time.notBefore) > Date.parse(time.notAfter)) {
    return 'notBefore is after notAfter';
  }
  for (const [name, attr] of Object.entries(match.identity?.attributes ?? {})) {
    const why = argContradiction(`attribute ${name}`, attr);
    if (why) return why;
  }
  return undefined;
}

function sample(names: Iterable<string>, max = 6): string {
  const list = [...names].sort();
  return list.length === 0
    ? 'none'
    : `${list.slice(0, max).join(', ')}${list.length > max ? `, ... (${list.length})` : ''}`;
}

/** Pairs of rules compared in depth at most, whatever the index leaves: keeps checks near-linear. */
const MAX_SHADOW_COMPARISONS = 200_000;

/**
 * The rules that could shadow a rule, found without comparing every pair: by a syscall the rule
 * matches (a shadower matches all of them) and, for the usual single condition on one argument
 * (a value, `prefix` or `under`), by the values that could cover the rule's. The rest are listed
 * for every rule; the in-depth comparisons are capped (a warning-only check may miss a shadow in
 * a pathological policy, never report a false one).
 */
class ShadowIndex {
  readonly #bySyscall = new Map<string, RuleInfo[]>();
  readonly #all: RuleInfo[] = [];
  readonly #keyed = new Map<string, RuleInfo[]>();
  readonly #unkeyed = new Set<RuleInfo>();
  readonly #setOf: ((s: SyscallSelector) => Set<string>) | undefined;
  #budget = MAX_SHADOW_COMPARISONS;
  readonly #pools = new Map<readonly RuleInfo[], { members: Set<RuleInfo>; unkeyed: RuleInfo[] }>();

  constructor(rules: readonly RuleInfo[], setOf: ((s: SyscallSelector) => Set<string>) | undefined) {
    this.#setOf = setOf;
    for (const info of rules) {
      this.#all.push(info);
      if (setOf) for (const name of setOf(info.selector)) push(this.#bySyscall, name, info);
      const key = singleArgKey(info.rule.match);
      if (key === undefined) this.#unkeyed.add(info);
      else push(this.#keyed, key, info);
    }
  }

  /** False once the comparisons are spent. */
  spend(): boolean {
    this.#budget -= 1;
    return this.#budget >= 0;
  }

  /** Rules that might cover `info`, in document order (rank decides among them, not order). */
  candidates(info: RuleInfo): readonly RuleInfo[] {
    const own = this.#setOf?.(info.selector);
    const first = own === undefined ? undefined : own.values().next().value;
    const pool = first === undefined ? this.#all : (this.#bySyscall.get(first) ?? []);
    if (pool.length < 64) return pool;
    const found = new Set<RuleInfo>();
    const add = (list: readonly RuleInfo[] | undefined) => list?.forEach((r) => found.add(r));
    for (const [name, raw] of Object.entries(info.rule.match.args ?? {})) {
      const c = asObject(raw);
      for (const value of [c.equals, c.prefix, c.under, ...(c.oneOf ?? [])]) {
        if (value === undefined) continue;
        add(this.#keyed.get(`${name}\0=\0${JSON.stringify(value)}`));
        if (typeof value !== 'string') continue;
        for (let end = value.length; end > 0; end -= 1) {
          const head = value.slice(0, end);
          add(this.#keyed.get(`${name}\0prefix\0${JSON.stringify(head)}`));
          if (end === value.length || value[end] === '/')
            add(this.#keyed.get(`${name}\0under\0${JSON.stringify(head || '/')}`));
        }
      }
    }
    let split = this.#pools.get(pool);
    if (split === undefined) {
      split = { members: new Set(pool), unkeyed: pool.filter((r) => this.#unkeyed.has(r)) };
      this.#pools.set(pool, split);
    }
    const { members, unkeyed } = split;
    return [...unkeyed, ...[...found].filter((r) => members.has(r))];
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The index key of a rule whose only argument condition is one value, prefix or under. */
function singleArgKey(match: MatchCondition): string | undefined {
  const entries = Object.entries(match.args ?? {});
  if (entries.length !== 1) return undefined;
  const [name, raw] = entries[0]!;
  const c = asObject(raw);
  const keys = Object.keys(c);
  if (keys.length !== 1) return undefined;
  if (c.equals !== undefined) return `${name}\0=\0${JSON.stringify(c.equals)}`;
  if (c.prefix !== undefined) return `${name}\0prefix\0${JSON.stringify(c.prefix)}`;
  if (c.under !== undefined) return `${name}\0under\0${JSON.stringify(trimDir(c.under))}`;
  return undefined;
}

/**
 * Static checks of a valid policy document: unreachable nodes and rules, rules that can never
 * match or never decide (shadowed), and allow rules wider than any capability a package can
 * request. Findings are warnings; the references, cycles and regexes are checked at load.
 */
export function checkPolicyDocument(doc: PolicyDocument, options: PolicyCheckOptions = {}): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  const { nodes, edges } = doc.spec;
  const index = new Map(nodes.map((n, i) => [n.name, i]));
  const entry = doc.spec.entry === undefined ? 0 : (index.get(doc.spec.entry) ?? 0);
  const out = nodes.map(() => [] as { to: number; when: MatchCondition | undefined }[]);
  for (const edge of edges) {
    const from = index.get(edge.from);
    const to = index.get(edge.to);
    if (from !== undefined && to !== undefined) out[from]!.push({ to, when: edge.when });
  }

  // Structural reachability, and a topological order of what is reachable (the graph is acyclic).
  const reachable = new Set([entry]);
  for (const queue = [entry]; queue.length > 0;) {
    for (const { to } of out[queue.shift()!]!) {
      if (reachable.has(to)) continue;
      reachable.add(to);
      queue.push(to);
    }
  }
  nodes.forEach((node, i) => {
    if (!reachable.has(i)) {
      findings.push({
        path: ['spec', 'nodes', i],
        code: 'unreachable-node',
        message: `node "${node.name}" cannot be reached from the entry "${nodes[entry]!.name}" (no edges lead to it); its ${node.rules.length} rule(s) never apply`,
      });
    }
  });

  const known = options.knownSyscalls === undefined ? undefined : [...new Set(options.knownSyscalls)];
  const sets = new Map<string, Set<string>>();
  const setOf = known
    ? (selector: SyscallSelector) => {
        const key = selector.patterns.join('|');
        let set = sets.get(key);
        if (!set) sets.set(key, (set = new Set(known.filter((name) => selector.matches(name)))));
        return set;
      }
    : undefined;

  const rules: RuleInfo[] = nodes.flatMap((node, i) =>
    node.rules.map((rule, j) => {
      const weight = node.weight + rule.weight;
      return {
        rule,
        node: i,
        index: j,
        id: `${node.name}/${rule.id}`,
        rank: weight * 4 + severity[rule.action],
        selector: compileSelector(rule.match.syscall),
        path: ['spec', 'nodes', i, 'rules', j] as const,
      };
    }),
  );

  // Which syscalls can arrive at each node, through edge conditions on the syscall name.
  let arrive: Set<string>[] | undefined;
  if (setOf && known) {
    arrive = nodes.map(() => new Set<string>());
    arrive[entry] = new Set(known);
    const indegree = nodes.map(() => 0);
    for (const from of reachable) for (const { to } of out[from]!) indegree[to]! += 1;
    const ready = [entry];
    while (ready.length > 0) {
      const from = ready.shift()!;
      for (const { to, when } of out[from]!) {
        const allowed = setOf(compileSelector(when?.syscall));
        for (const name of arrive[from]!) if (allowed.has(name)) arrive[to]!.add(name);
        indegree[to]! -= 1;
        if (indegree[to] === 0) ready.push(to);
      }
    }
    nodes.forEach((node, i) => {
      if (reachable.has(i) && i !== entry && arrive![i]!.size === 0) {
        findings.push({
          path: ['spec', 'nodes', i],
          code: 'unreachable-node',
          message: `no syscall can reach node "${node.name}": the conditions on the edges into it match none`,
        });
      }
    });
  }

  const live = rules.filter((r) => reachable.has(r.node) && (!arrive || arrive[r.node]!.size > 0));
  const contradictions = new Map(live.map((info) => [info, contradiction(info.rule.match)]));
  const shadowers = new ShadowIndex(
    live.filter((info) => contradictions.get(info) === undefined),
    setOf,
  );
  for (const info of live) {
    const why = contradictions.get(info);
    if (why) {
      findings.push({
        path: info.path,
        code: 'never-matches',
        message: `rule "${info.id}" can never match: ${why}`,
      });
      continue;
    }
    if (arrive && setOf && !info.selector.any) {
      const arriving = arrive[info.node]!;
      const own = setOf(info.selector);
      if (own.size > 0 && ![...own].some((name) => arriving.has(name))) {
        findings.push({
          path: info.path,
          code: 'unreachable-rule',
          message: `rule "${info.id}" matches ${sample(own)}, but only ${sample(arriving)} can reach node "${nodes[info.node]!.name}"`,
        });
        continue;
      }
    }
    const shadow = shadowers
      .candidates(info)
      .find(
        (other) =>
          other !== info &&
          (other.node === info.node || other.node === entry) &&
          (other.rank > info.rank ||
            (other.rank === info.rank &&
              (other.node === info.node ? other.index < info.index : other.node === entry))) &&
          shadowers.spend() &&
          matchImplies(info.rule.match, other.rule.match, setOf),
      );
    if (shadow) {
      const same = shadow.rule.action === info.rule.action;
      findings.push({
        path: info.path,
        code: 'shadowed-rule',
        message: `rule "${info.id}" never decides: "${shadow.id}" matches every call it matches and takes precedence${same ? ` with the same action (${info.rule.action}); the rule is redundant` : ` (${shadow.rule.action} over ${info.rule.action}); remove it, narrow "${shadow.id}", or raise its weight`}`,
      });
    }
  }

  if (setOf && arrive) {
    for (const info of live) {
      if (info.rule.action !== 'allow') continue;
      const allowed = [...setOf(info.selector)].filter((name) => arrive[info.node]!.has(name));
      const ungranted = allowed.filter((name) => grantOf(name).by === 'none');
      if (ungranted.length > 0) {
        findings.push({
          path: info.path,
          code: 'wider-than-capability',
          message: `allow rule "${info.id}" allows ${sample(ungranted)}, which no capability a package can request grants; narrow its syscall pattern`,
        });
      }
      const requested = options.capabilities;
      if (requested) {
        const beyond = allowed
          .map((name) => [name, missingCapability(name, info.rule.match, requested)] as const)
          .filter(([, missing]) => missing !== undefined && !missing.startsWith('('));
        if (beyond.length > 0) {
          findings.push({
            path: info.path,
            code: 'beyond-capabilities',
            message: `allow rule "${info.id}" allows more than the requested capabilities grant: ${beyond
              .slice(0, 4)
              .map(([name, missing]) => `${name} needs ${missing}`)
              .join('; ')}${beyond.length > 4 ? `; and ${beyond.length - 4} more` : ''}`,
          });
        }
      }
    }
  }
  return findings;
}
