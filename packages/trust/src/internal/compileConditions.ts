import {
  assuranceLevels,
  isCanonicalGuestPath,
  type IdentityContext,
  type SyscallArg,
} from '@forgeone/common';
import picomatch from 'picomatch';
import type {
  ArgCondition,
  IdentityCondition,
  MatchCondition,
  PolicyMarker,
  ScoreCondition,
  TimeCondition,
} from '../policyDocument';
import { weekDays } from '../policyDocument';
import { compareDna } from '../dnaDeviation';
import type { DocPathStep } from './docPath';
import type { EvalState, MarkerTest } from './evalState';
import { globRegexSource } from './globRegex';
import { regexProblem } from './regexSafety';

/** Where compile problems go: a path inside the document, a code and a message. */
export interface CompileReporter {
  error(
    path: readonly DocPathStep[],
    code: 'FORGE_POLICY_INVALID' | 'FORGE_POLICY_UNSAFE_REGEX' | 'FORGE_POLICY_TOO_LARGE',
    message: string,
  ): void;
}

/** One compiled condition: a closure plus what users read about it. */
export interface CompiledCondition {
  /** e.g. `path under /data`, `trust >= 0.6`. */
  readonly description: string;
  /** Depends on more than identity, syscall and arguments (time, scores, DNA): never cached. */
  readonly dynamic: boolean;
  test(state: EvalState): boolean;
  /** What the condition saw, for explanations (`/etc/passwd`, `0.42`, `unknown`). */
  observed(state: EvalState): string;
}

/** How an argument takes part in the decision cache key. */
export interface ArgUse {
  readonly name: string;
  /** Only compared with thresholds: the key holds the value's side of each threshold. */
  readonly numericOnly: boolean;
  readonly thresholds: readonly number[];
}

/** A syscall name matcher for one rule or edge. */
export interface SyscallSelector {
  readonly any: boolean;
  readonly patterns: readonly string[];
  matches(syscall: string): boolean;
}

export interface CompiledMatch {
  readonly selector: SyscallSelector;
  /** Identity and argument conditions, checked first (cheap, cacheable). */
  readonly staticConditions: readonly CompiledCondition[];
  /** Time, score and DNA conditions. */
  readonly dynamicConditions: readonly CompiledCondition[];
  readonly args: readonly ArgUse[];
  /** Every condition described, the syscall first. */
  readonly descriptions: readonly string[];
  readonly usesScores: boolean;
  /**
   * True when no condition reads more than the caller's identity: for one container and syscall the
   * match then always holds or never does. Listed fields only; any other field counts as more.
   */
  readonly readsOnlyIdentity: boolean;
  /** All conditions (static first) as one closure: the hot path. */
  readonly test: (state: EvalState) => boolean;
  /** A top-level `under` condition, by which rules can be indexed: every match is inside `dir`. */
  readonly under: { readonly arg: string; readonly dir: string } | undefined;
}

interface ValueTest {
  readonly text: string;
  readonly numericOnly: boolean;
  readonly thresholds: readonly number[];
  test(value: SyscallArg | undefined): boolean;
}

const GLOB_OPTIONS = { dot: true } as const;
/** Syscall names whose glob answer a selector keeps (the names a kernel has are far fewer). */
const MAX_GLOBBED = 4096;

/** Identity condition fields: each reads the identity and nothing else. */
const IDENTITY_FIELDS: ReadonlySet<string> = new Set([
  'subject',
  'tenant',
  'roles',
  'attributes',
  'capabilities',
  'assurance',
  'signed',
  'signer',
]);

/** True when `match` reads nothing but the syscall name and identity fields known to read only it. */
function readsOnlyIdentity(match: MatchCondition): boolean {
  return Object.entries(match).every(
    ([field, value]) =>
      value === undefined ||
      field === 'syscall' ||
      (field === 'identity' &&
        Object.entries(value as IdentityCondition).every(
          ([key, condition]) => condition === undefined || IDENTITY_FIELDS.has(key),
        )),
  );
}

/** Compiles a syscall pattern list; `*` or nothing matches every syscall. */
export function compileSelector(patterns: string | readonly string[] | undefined): SyscallSelector {
  const list = patterns === undefined ? [] : typeof patterns === 'string' ? [patterns] : [...patterns];
  if (list.length === 0 || list.includes('*')) return { any: true, patterns: ['*'], matches: () => true };
  const exact = new Set(list.filter((p) => !p.includes('*')));
  const globs = list.filter((p) => p.includes('*')).map((p) => picomatch(p, GLOB_OPTIONS));
  if (globs.length === 0) return { any: false, patterns: list, matches: (syscall) => exact.has(syscall) };
  // A `calls` marker matches every syscall its caller made on each decision: glob answers are kept.
  const globbed = new Map<string, boolean>();
  return {
    any: false,
    patterns: list,
    matches: (syscall) => {
      if (exact.has(syscall)) return true;
      let hit = globbed.get(syscall);
      if (hit === undefined) {
        hit = globs.some((m) => m(syscall));
        if (globbed.size >= MAX_GLOBBED) globbed.clear();
        globbed.set(syscall, hit);
      }
      return hit;
    },
  };
}

function show(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value).length - 2 === value.length ? value : JSON.stringify(value);
  if (typeof value === 'bigint') return value.toString();
  return String(value);
}

function isNumeric(value: unknown): value is number | bigint {
  return typeof value === 'number' || typeof value === 'bigint';
}

function sameValue(actual: SyscallArg | undefined, expected: string | number | boolean | null): boolean {
  if (typeof actual === 'bigint' && typeof expected === 'number') {
    return Number.isInteger(expected) && actual === BigInt(expected);
  }
  return actual === expected;
}

/** A glob or regex compiled to a RegExp, refused when its matching time could blow up. */
function safeRegExp(
  source: string,
  flags: string,
  path: readonly DocPathStep[],
  report: CompileReporter,
  what: string,
): RegExp | undefined {
  let regex: RegExp;
  try {
    regex = new RegExp(source, flags);
  } catch (error) {
    report.error(
      path,
      'FORGE_POLICY_INVALID',
      `${what} is not a valid regular expression: ${(error as Error).message}`,
    );
    return undefined;
  }
  const problem = regexProblem(source, flags);
  if (problem?.code === 'FORGE_POLICY_UNSAFE_REGEX') {
    report.error(
      path,
      problem.code,
      `${what} could blow up: ${problem.message}; use prefix, under, glob or contains, or make the pattern unambiguous`,
    );
    return undefined;
  }
  if (problem !== undefined) {
    report.error(
      path,
      problem.code,
      `${what} was not analysed: ${problem.message}; use fewer or simpler patterns (prefix, under, equals, oneOf and contains need no analysis)`,
    );
    return undefined;
  }
  return regex;
}

const never = (): boolean => false;

/** Compiles one argument (or attribute) condition into a value test. */
export function compileValueTest(
  condition: ArgCondition,
  path: readonly DocPathStep[],
  report: CompileReporter,
): ValueTest {
  if (condition === null || typeof condition !== 'object') {
    return {
      text: `= ${show(condition)}`,
      numericOnly: false,
      thresholds: [],
      test: (v) => sameValue(v, condition),
    };
  }
  const parts: ValueTest[] = [];
  const add = (
    text: string,
    test: (v: SyscallArg | undefined) => boolean,
    numeric = false,
    thresholds: number[] = [],
  ) => parts.push({ text, test, numericOnly: numeric, thresholds });
  const c = condition;
  if (c.equals !== undefined) {
    const expected = c.equals;
    add(`= ${show(expected)}`, (v) => sameValue(v, expected));
  }
  if (c.oneOf !== undefined) {
    const values = c.oneOf;
    const strings = new Set(values.filter((v): v is string => typeof v === 'string'));
    const others = values.filter((v) => typeof v !== 'string');
    add(`in [${values.map(show).join(', ')}]`, (v) =>
      typeof v === 'string' ? strings.has(v) : others.some((o) => sameValue(v, o)),
    );
  }
  if (c.prefix !== undefined) {
    const prefix = c.prefix;
    add(`starts with ${show(prefix)}`, (v) => typeof v === 'string' && v.startsWith(prefix));
  }
  if (c.under !== undefined) {
    const dir = normalizeDir(c.under);
    const inside = dir === '/' ? '/' : `${dir}/`;
    // Compared as text, so only a canonical path (no `..`, `.` or `//`) is under anything.
    add(
      `under ${dir}`,
      (v) => typeof v === 'string' && (v === dir || v.startsWith(inside)) && isCanonicalGuestPath(v),
    );
  }
  if (c.glob !== undefined) {
    const glob = c.glob;
    const translated = globRegexSource(glob);
    let safe: RegExp | undefined;
    if ('problem' in translated) {
      report.error(
        [...path, 'glob'],
        'FORGE_POLICY_INVALID',
        `glob ${show(glob)} is invalid: ${translated.problem}`,
      );
    } else {
      safe = safeRegExp(`^(?:${translated.source})$`, 'u', [...path, 'glob'], report, `glob ${show(glob)}`);
    }
    add(`matches ${glob}`, safe ? (v) => typeof v === 'string' && safe.test(v) : never);
  }
  if (c.regex !== undefined) {
    const source = `^(?:${c.regex})$`;
    const regex = safeRegExp(source, 'u', [...path, 'regex'], report, `regex ${show(c.regex)}`);
    add(`matches /${c.regex}/`, regex ? (v) => typeof v === 'string' && regex.test(v) : never);
  }
  if (c.contains !== undefined) {
    const part = c.contains;
    add(`contains ${show(part)}`, (v) => typeof v === 'string' && v.includes(part));
  }
  if (c.atLeast !== undefined) {
    const min = c.atLeast;
    add(`>= ${min}`, (v) => isNumeric(v) && v >= min, true, [min]);
  }
  if (c.atMost !== undefined) {
    const max = c.atMost;
    add(`<= ${max}`, (v) => isNumeric(v) && v <= max, true, [max]);
  }
  if (c.exists !== undefined) {
    const wanted = c.exists;
    add(wanted ? 'is present' : 'is absent', (v) => (v !== undefined) === wanted);
  }
  if (c.not !== undefined) {
    const inner = compileValueTest(c.not, [...path, 'not'], report);
    add(`not (${inner.text})`, (v) => !inner.test(v), inner.numericOnly, [...inner.thresholds]);
  }
  const tests = parts.map((p) => p.test);
  return {
    text: parts.map((p) => p.text).join(' and '),
    numericOnly: parts.every((p) => p.numericOnly),
    thresholds: parts.flatMap((p) => p.thresholds),
    test: tests.length === 1 ? tests[0]! : (v) => tests.every((t) => t(v)),
  };
}

/** The identity's capabilities: its `capabilities` attribute, comma- or space-separated. */
export function identityCapabilities(identity: IdentityContext): readonly string[] {
  const raw = identity.attributes['capabilities'];
  return raw === undefined ? [] : raw.split(/[\s,]+/).filter(Boolean);
}

function staticCondition(
  description: string,
  test: (state: EvalState) => boolean,
  observed: (state: EvalState) => string,
): CompiledCondition {
  return { description, dynamic: false, test, observed };
}

function dynamicCondition(
  description: string,
  test: (state: EvalState) => boolean,
  observed: (state: EvalState) => string,
): CompiledCondition {
  return {
    description,
    dynamic: true,
    test(state) {
      state.dynamic = true;
      return test(state);
    },
    observed,
  };
}

function compileIdentity(
  condition: IdentityCondition,
  path: readonly DocPathStep[],
  report: CompileReporter,
): CompiledCondition[] {
  const out: CompiledCondition[] = [];
  const id = (s: EvalState) => s.request.identity;
  if (condition.subject !== undefined) {
    const pattern = condition.subject;
    const matches = pattern.includes('*') ? picomatch(pattern, GLOB_OPTIONS) : (s: string) => s === pattern;
    out.push(
      staticCondition(
        `subject ${pattern}`,
        (s) => matches(id(s).subject),
        (s) => id(s).subject,
      ),
    );
  }
  if (condition.tenant !== undefined) {
    const tenant = condition.tenant;
    out.push(
      staticCondition(
        `tenant ${tenant}`,
        (s) => id(s).tenant === tenant,
        (s) => id(s).tenant,
      ),
    );
  }
  if (condition.roles !== undefined) {
    const roles = Array.isArray(condition.roles) ? { all: condition.roles } : condition.roles;
    const roleList = (s: EvalState) => `[${id(s).roles.join(', ')}]`;
    if (roles.all && roles.all.length > 0) {
      const all = roles.all;
      out.push(
        staticCondition(
          `roles include ${all.join(', ')}`,
          (s) => all.every((r) => id(s).roles.includes(r)),
          roleList,
        ),
      );
    }
    if (roles.any) {
      const any = roles.any;
      out.push(
        staticCondition(
          `a role among ${any.join(', ')}`,
          (s) => any.some((r) => id(s).roles.includes(r)),
          roleList,
        ),
      );
    }
    if (roles.none && roles.none.length > 0) {
      const none = roles.none;
      out.push(
        staticCondition(
          `no role among ${none.join(', ')}`,
          (s) => !none.some((r) => id(s).roles.includes(r)),
          roleList,
        ),
      );
    }
  }
  for (const [name, attr] of Object.entries(condition.attributes ?? {})) {
    const value = compileValueTest(attr, [...path, 'attributes', name], report);
    out.push(
      staticCondition(
        `attribute ${name} ${value.text}`,
        (s) => value.test(id(s).attributes[name]),
        (s) => show(id(s).attributes[name] ?? 'absent'),
      ),
    );
  }
  if (condition.capabilities !== undefined && condition.capabilities.length > 0) {
    const wanted = condition.capabilities;
    out.push(
      staticCondition(
        `capabilities include ${wanted.join(', ')}`,
        (s) => {
          const held = identityCapabilities(id(s));
          return wanted.every((c) => held.includes(c));
        },
        (s) => `[${identityCapabilities(id(s)).join(', ')}]`,
      ),
    );
  }
  if (condition.assurance !== undefined) {
    const min = assuranceLevels.indexOf(condition.assurance.atLeast);
    out.push(
      staticCondition(
        `assurance >= ${condition.assurance.atLeast}`,
        (s) => assuranceLevels.indexOf(id(s).assurance) >= min,
        (s) => id(s).assurance,
      ),
    );
  }
  if (condition.signed !== undefined) {
    const signed = condition.signed;
    out.push(
      staticCondition(
        signed ? 'signed package' : 'unsigned',
        (s) => (id(s).signer !== undefined) === signed,
        (s) => id(s).signer ?? 'unsigned',
      ),
    );
  }
  if (condition.signer !== undefined) {
    const signer = condition.signer;
    out.push(
      staticCondition(
        `signer ${signer}`,
        (s) => id(s).signer === signer,
        (s) => id(s).signer ?? 'unsigned',
      ),
    );
  }
  return out;
}

const DAY_MS = 86_400_000;
const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function compileTime(condition: TimeCondition): CompiledCondition {
  const offsetMs = condition.utcOffset
    ? (condition.utcOffset.startsWith('-') ? -1 : 1) * minutesOf(condition.utcOffset.slice(1)) * 60_000
    : 0;
  // 1970-01-01 was a Thursday: index 3 in mon..sun.
  const days = condition.days ? new Set(condition.days.map((d) => weekDays.indexOf(d))) : undefined;
  const from = condition.from === undefined ? undefined : minutesOf(condition.from);
  const to = condition.to === undefined ? undefined : minutesOf(condition.to);
  const notBefore = condition.notBefore === undefined ? undefined : Date.parse(condition.notBefore);
  const notAfter = condition.notAfter === undefined ? undefined : Date.parse(condition.notAfter);
  const parts: string[] = [];
  if (condition.days) parts.push(condition.days.join(','));
  if (condition.from) parts.push(`${condition.from}-${condition.to}`);
  if (condition.utcOffset) parts.push(`UTC${condition.utcOffset}`);
  if (condition.notBefore) parts.push(`from ${condition.notBefore}`);
  if (condition.notAfter) parts.push(`until ${condition.notAfter}`);
  return dynamicCondition(
    `time ${parts.join(' ')}`,
    (s) => {
      const t = s.request.time;
      if (notBefore !== undefined && t < notBefore) return false;
      if (notAfter !== undefined && t > notAfter) return false;
      const local = t + offsetMs;
      const day = Math.floor(local / DAY_MS);
      if (days && !days.has((((day + 3) % 7) + 7) % 7)) return false;
      if (from !== undefined && to !== undefined) {
        const minute = Math.floor((((local % DAY_MS) + DAY_MS) % DAY_MS) / 60_000);
        return from <= to ? minute >= from && minute < to : minute >= from || minute < to;
      }
      return true;
    },
    (s) => new Date(s.request.time).toISOString(),
  );
}

function compileScore(name: 'trust' | 'anomaly', condition: ScoreCondition): CompiledCondition {
  const read = (s: EvalState) => (name === 'trust' ? s.trust() : s.anomaly());
  const parts: string[] = [];
  if (condition.atLeast !== undefined) parts.push(`>= ${condition.atLeast}`);
  if (condition.below !== undefined) parts.push(`< ${condition.below}`);
  const { atLeast, below } = condition;
  return dynamicCondition(
    `${name} ${parts.join(' and ')}`,
    (s) => {
      const value = read(s);
      if (value === undefined) return false;
      return (atLeast === undefined || value >= atLeast) && (below === undefined || value < below);
    },
    (s) => {
      const value = read(s);
      return value === undefined ? 'unknown' : value.toFixed(3);
    },
  );
}

function heldMarkers(names: readonly string[], state: EvalState): string {
  const held = names.filter((m) => state.marker(m));
  return held.length === 0 ? 'none of them hold' : `${held.join(', ')} hold`;
}

/** Compiles a rule's or edge's `match` into closures, reporting bad patterns. */
export function compileMatch(
  match: MatchCondition,
  path: readonly DocPathStep[],
  report: CompileReporter,
): CompiledMatch {
  const selector = compileSelector(match.syscall);
  const staticConditions: CompiledCondition[] = [];
  const dynamicConditions: CompiledCondition[] = [];
  const args: ArgUse[] = [];
  for (const [name, condition] of Object.entries(match.args ?? {})) {
    const value = compileValueTest(condition, [...path, 'args', name], report);
    args.push({ name, numericOnly: value.numericOnly, thresholds: value.thresholds });
    staticConditions.push(
      staticCondition(
        `${name} ${value.text}`,
        (s) => value.test(s.request.args[name]),
        (s) => {
          const v = s.request.args[name];
          return v === undefined ? 'absent' : show(v);
        },
      ),
    );
  }
  if (match.identity)
    staticConditions.push(...compileIdentity(match.identity, [...path, 'identity'], report));
  if (match.time) dynamicConditions.push(compileTime(match.time));
  if (match.trust) dynamicConditions.push(compileScore('trust', match.trust));
  if (match.anomaly) dynamicConditions.push(compileScore('anomaly', match.anomaly));
  if (match.dna?.markers) {
    const all = match.dna.markers;
    dynamicConditions.push(
      dynamicCondition(
        `markers ${all.join(' and ')}`,
        (s) => {
          for (const m of all) if (!s.marker(m)) return false;
          return true;
        },
        (s) => heldMarkers(all, s),
      ),
    );
  }
  if (match.dna?.anyMarkers) {
    const any = match.dna.anyMarkers;
    dynamicConditions.push(
      dynamicCondition(
        `a marker among ${any.join(', ')}`,
        (s) => {
          for (const m of any) if (s.marker(m)) return true;
          return false;
        },
        (s) => heldMarkers(any, s),
      ),
    );
  }
  const syscallText = selector.any ? 'any syscall' : `syscall ${selector.patterns.join(' | ')}`;
  const underArg = Object.entries(match.args ?? {}).find(
    ([, c]) => c !== null && typeof c === 'object' && typeof c.under === 'string',
  );
  return {
    selector,
    staticConditions,
    dynamicConditions,
    args,
    descriptions: [
      syscallText,
      ...staticConditions.map((c) => c.description),
      ...dynamicConditions.map((c) => c.description),
    ],
    usesScores: match.trust !== undefined || match.anomaly !== undefined,
    readsOnlyIdentity: readsOnlyIdentity(match),
    test: allOf([...staticConditions, ...dynamicConditions].map((c) => c.test)),
    under: underArg && { arg: underArg[0], dir: normalizeDir((underArg[1] as { under: string }).under) },
  };
}

/** `/data/` and `/data` are the same directory; `/` stays `/`. */
export function normalizeDir(dir: string): string {
  return dir.length > 1 ? dir.replace(/\/+$/, '') || '/' : dir;
}

/** One closure for a conjunction, unrolled for the common small sizes. */
function allOf(tests: readonly ((state: EvalState) => boolean)[]): (state: EvalState) => boolean {
  const [a, b, c, d] = tests;
  switch (tests.length) {
    case 0:
      return () => true;
    case 1:
      return a!;
    case 2:
      return (s) => a!(s) && b!(s);
    case 3:
      return (s) => a!(s) && b!(s) && c!(s);
    case 4:
      return (s) => a!(s) && b!(s) && c!(s) && d!(s);
    default:
      return (s) => {
        for (const t of tests) if (!t(s)) return false;
        return true;
      };
  }
}

/** Compiles a marker's predicates over the context's DNA, baseline and rule hits. */
export function compileMarker(marker: PolicyMarker): MarkerTest | undefined {
  if (marker.external === true && Object.keys(marker).every((k) => k === 'external' || k === 'description')) {
    return undefined;
  }
  const tests: MarkerTest[] = [];
  if (marker.calls) {
    const selector = compileSelector(marker.calls.syscalls);
    const min = marker.calls.atLeast;
    tests.push((s) => {
      const counts = s.context.dna?.syscallCounts;
      if (!counts) return false;
      let sum = 0;
      for (const name in counts) if (selector.matches(name)) sum += counts[name] ?? 0;
      return sum >= min;
    });
  }
  if (marker.denied) {
    const min = marker.denied.atLeast;
    tests.push((s) => (s.context.dna?.deniedCalls ?? 0) >= min);
  }
  if (marker.ruleHits) {
    const { rules, atLeast } = marker.ruleHits;
    tests.push((s) => {
      const hits = s.context.ruleHits;
      if (!hits) return false;
      let sum = 0;
      for (const rule of rules) sum += hits[rule] ?? 0;
      return sum >= atLeast;
    });
  }
  if (marker.deviation || marker.newSyscalls) {
    const deviation = marker.deviation?.atLeast;
    const fresh = marker.newSyscalls?.atLeast;
    tests.push((s) => {
      const { dna, baseline } = s.context;
      if (!dna || !baseline || dna.totalCalls === 0 || baseline.totalCalls === 0) return false;
      const comparison = compareDna(dna, baseline);
      return (
        (deviation === undefined || comparison.deviation >= deviation) &&
        (fresh === undefined || comparison.newSyscalls.length >= fresh)
      );
    });
  }
  if (tests.length === 1) return tests[0];
  return (s) => {
    for (const test of tests) if (!test(s)) return false;
    return true;
  };
}
