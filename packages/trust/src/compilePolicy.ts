import type { ForgeError, ForgeErrorCode } from '@forgeone/common';
import { canonicalJson, sha256Hex } from '@forgeone/crypto';
import type { z } from 'zod';
import {
  compileMarker,
  compileMatch,
  compileSelector,
  type CompileReporter,
} from './internal/compileConditions';
import type { CompiledEdge, CompiledNode, CompiledRule } from './internal/compiledPolicy';
import { severity } from './internal/compiledPolicy';
import { formatDocPath, type DocPathStep } from './internal/docPath';
import { describeZodIssues } from './internal/zodIssue';
import type { MarkerTest } from './internal/evalState';
import { checkPolicyDocument } from './policyChecks';
import {
  POLICY_API_VERSION,
  POLICY_KIND,
  PolicyDocumentSchema,
  type MatchCondition,
  type PolicyDocument,
} from './policyDocument';
import { policyRefusal, type PolicyIssue } from './policyIssue';
import { policyOverLimit } from './policyLimits';
import { parseSourceText, readSourceFile, type ParsedSource } from './policySource';
import { TrustAlgorithm } from './trustAlgorithm';
import { ZtaPolicyGraph } from './ztaPolicyGraph';
import { withPatternBudget } from './internal/regexSafety';

export interface CompilePolicyOptions {
  /** Where the document came from, for messages. */
  readonly file?: string;
  /**
   * Every syscall that exists. When given, a pattern that names none of them is refused
   * (FORGE_POLICY_UNKNOWN_SYSCALL) and the syscall-set checks (reachability, capability width) run.
   */
  readonly knownSyscalls?: Iterable<string>;
  /** The capabilities the package requests: allow rules beyond them are reported. */
  readonly capabilities?: readonly string[];
  /** Maps a path inside the document to its line (set by the text and file loaders). */
  readonly locate?: ParsedSource['locate'];
  /** Keep a decision cache (default true); off, every call is evaluated (for benchmarks). */
  readonly decisionCache?: boolean;
}

/** The outcome of validating a policy: a graph and its warnings, or every problem found. */
export type PolicyValidation =
  | { readonly ok: true; readonly graph: ZtaPolicyGraph; readonly warnings: readonly PolicyIssue[] }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

/** The reserved name of the closing policy. */
export const DEFAULT_POLICY = 'default';

const MAX_ISSUES = 100;

class IssueList implements CompileReporter {
  readonly issues: PolicyIssue[] = [];
  readonly #options: CompilePolicyOptions;

  constructor(options: CompilePolicyOptions) {
    this.#options = options;
  }

  add(
    severity: 'error' | 'warning',
    path: readonly DocPathStep[],
    code: PolicyIssue['code'],
    message: string,
  ): void {
    if (this.issues.length >= MAX_ISSUES) return;
    const at = this.#options.locate?.(path);
    this.issues.push({
      severity,
      code,
      path: formatDocPath(path),
      message,
      ...(this.#options.file === undefined ? {} : { file: this.#options.file }),
      ...(at ? { line: at.line, column: at.column } : {}),
    });
  }

  error(path: readonly DocPathStep[], code: ForgeErrorCode, message: string): void {
    this.add('error', path, code, message);
  }

  /** The issues in document order (by line), so the first one reported is the first in the file. */
  sorted(): PolicyIssue[] {
    return [...this.issues].sort(
      (a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0),
    );
  }

  get failed(): boolean {
    return this.issues.some((i) => i.severity === 'error');
  }
}

function zodIssues(error: z.ZodError, list: IssueList): void {
  for (const { steps, message } of describeZodIssues(error))
    list.error(steps, 'FORGE_POLICY_INVALID', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Finds a cycle in the edge graph, as a list of node indexes that starts and ends at the same node. */
function findCycle(count: number, out: readonly (readonly number[])[]): number[] | undefined {
  const color = new Uint8Array(count); // 0 new, 1 on the stack, 2 done
  const stack: number[] = [];
  const visit = (n: number): number[] | undefined => {
    color[n] = 1;
    stack.push(n);
    for (const m of out[n]!) {
      if (color[m] === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (color[m] === 0) {
        const found = visit(m);
        if (found) return found;
      }
    }
    stack.pop();
    color[n] = 2;
    return undefined;
  };
  for (let n = 0; n < count; n += 1) {
    if (color[n] === 0) {
      const found = visit(n);
      if (found) return found;
    }
  }
  return undefined;
}

/** Checks the references between parts of a schema-valid document; reports into `list`. */
function checkStructure(doc: PolicyDocument, list: IssueList, known: ReadonlySet<string> | undefined): void {
  const { spec } = doc;
  const nodeIndex = new Map<string, number>();
  spec.nodes.forEach((node, i) => {
    const at = ['spec', 'nodes', i, 'name'];
    if (node.name === DEFAULT_POLICY) {
      list.error(
        at,
        'FORGE_POLICY_INVALID',
        `"${DEFAULT_POLICY}" is the closing deny policy and cannot be defined; rename the node`,
      );
    } else if (nodeIndex.has(node.name)) {
      list.error(at, 'FORGE_POLICY_DUPLICATE', `node "${node.name}" is defined twice`);
    } else nodeIndex.set(node.name, i);
    const ids = new Set<string>();
    node.rules.forEach((rule, j) => {
      if (ids.has(rule.id))
        list.error(
          ['spec', 'nodes', i, 'rules', j, 'id'],
          'FORGE_POLICY_DUPLICATE',
          `rule "${node.name}/${rule.id}" is defined twice`,
        );
      ids.add(rule.id);
    });
  });
  if (spec.entry !== undefined && !nodeIndex.has(spec.entry)) {
    list.error(
      ['spec', 'entry'],
      'FORGE_POLICY_MISSING_NODE',
      `entry "${spec.entry}" is not a node of this policy`,
    );
  }
  const out: number[][] = spec.nodes.map(() => []);
  spec.edges.forEach((edge, k) => {
    const from = nodeIndex.get(edge.from);
    const to = nodeIndex.get(edge.to);
    if (from === undefined)
      list.error(
        ['spec', 'edges', k, 'from'],
        'FORGE_POLICY_MISSING_NODE',
        `edge from "${edge.from}", which is not a node of this policy`,
      );
    if (to === undefined)
      list.error(
        ['spec', 'edges', k, 'to'],
        'FORGE_POLICY_MISSING_NODE',
        `edge to "${edge.to}", which is not a node of this policy`,
      );
    if (from !== undefined && to !== undefined) out[from]!.push(to);
  });
  const cycle = findCycle(spec.nodes.length, out);
  if (cycle) {
    const names = cycle.map((n) => spec.nodes[n]!.name);
    const k = spec.edges.findIndex((e) => e.from === names[0] && e.to === names[1]);
    list.error(
      ['spec', 'edges', Math.max(0, k)],
      'FORGE_POLICY_CYCLE',
      `the edges form a cycle: ${names.join(' -> ')}; the graph must be acyclic`,
    );
  }

  const ruleIds = new Set(spec.nodes.flatMap((n) => n.rules.map((r) => `${n.name}/${r.id}`)));
  const markerNames = new Set(Object.keys(spec.markers));
  const checkMatch = (match: MatchCondition | undefined, path: DocPathStep[]) => {
    if (!match) return;
    for (const field of ['markers', 'anyMarkers'] as const) {
      (match.dna?.[field] ?? []).forEach((name, m) => {
        if (!markerNames.has(name)) {
          list.error(
            [...path, 'dna', field, m],
            'FORGE_POLICY_MISSING_MARKER',
            `marker "${name}" is not defined under spec.markers`,
          );
        }
      });
    }
    checkSyscalls(match.syscall, [...path, 'syscall']);
  };
  const checkSyscalls = (patterns: string | readonly string[] | undefined, path: DocPathStep[]) => {
    if (!known || patterns === undefined) return;
    const list_ = typeof patterns === 'string' ? [patterns] : patterns;
    list_.forEach((pattern, p) => {
      if (pattern === '*') return;
      const selector = compileSelector(pattern);
      if (![...known].some((name) => selector.matches(name))) {
        const guess = pattern.includes('*') ? undefined : closest(pattern, known);
        list.error(
          typeof patterns === 'string' ? path : [...path, p],
          'FORGE_POLICY_UNKNOWN_SYSCALL',
          `"${pattern}" names no syscall that exists${guess ? `; did you mean ${guess}?` : ''}`,
        );
      }
    });
  };
  spec.nodes.forEach((node, i) =>
    node.rules.forEach((rule, j) => checkMatch(rule.match, ['spec', 'nodes', i, 'rules', j, 'match'])),
  );
  spec.edges.forEach((edge, k) => checkMatch(edge.when, ['spec', 'edges', k, 'when']));
  for (const [name, marker] of Object.entries(spec.markers)) {
    marker.ruleHits?.rules.forEach((id, r) => {
      if (!ruleIds.has(id))
        list.error(
          ['spec', 'markers', name, 'ruleHits', 'rules', r],
          'FORGE_POLICY_INVALID',
          `rule "${id}" does not exist (write node/rule)`,
        );
    });
    if (marker.calls) checkSyscalls(marker.calls.syscalls, ['spec', 'markers', name, 'calls', 'syscalls']);
  }
}

/** The known name nearest to `name` (edit distance at most 3), for "did you mean". */
function closest(name: string, known: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of known) {
    if (Math.abs(candidate.length - name.length) >= bestDistance) continue;
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const next = [i];
    for (let j = 1; j <= b.length; j += 1) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

function describeWhen(
  match: MatchCondition | undefined,
  compiled: ReturnType<typeof compileMatch> | undefined,
): string {
  if (!match || !compiled) return 'always';
  const parts = compiled.descriptions.filter((d) => d !== 'any syscall');
  return parts.length === 0 ? 'always' : parts.join(', ');
}

/** Builds the compiled graph from a document that passed every check. */
function build(
  doc: PolicyDocument,
  list: IssueList,
  options: CompilePolicyOptions,
): ZtaPolicyGraph | undefined {
  const nodeIndex = new Map(doc.spec.nodes.map((n, i) => [n.name, i]));
  let order = 0;
  const nodes: CompiledNode[] = doc.spec.nodes.map((node, i) => {
    const rules: CompiledRule[] = node.rules.map((rule, j) => {
      const match = compileMatch(rule.match, ['spec', 'nodes', i, 'rules', j, 'match'], list);
      const weight = node.weight + rule.weight;
      return {
        id: `${node.name}/${rule.id}`,
        node: node.name,
        nodeIndex: i,
        name: rule.id,
        action: rule.action,
        weight,
        rank: weight * 4 + severity[rule.action],
        order: order++,
        match,
        reason: rule.message ?? `${rule.action} by ${node.name}/${rule.id}: ${match.descriptions.join(', ')}`,
      };
    });
    const edges: CompiledEdge[] = [];
    doc.spec.edges.forEach((edge, k) => {
      if (edge.from !== node.name) return;
      const match = edge.when ? compileMatch(edge.when, ['spec', 'edges', k, 'when'], list) : undefined;
      edges.push({ from: i, to: nodeIndex.get(edge.to)!, match, text: describeWhen(edge.when, match) });
    });
    return { name: node.name, rules, edges };
  });
  const markers = new Map<string, MarkerTest>();
  for (const [name, marker] of Object.entries(doc.spec.markers)) {
    const test = compileMarker(marker);
    if (test) markers.set(name, test);
  }
  if (list.failed) return undefined;
  let trust: TrustAlgorithm;
  try {
    trust = new TrustAlgorithm(doc.spec.trust?.weights ?? {});
  } catch (error) {
    list.error(['spec', 'trust', 'weights'], 'FORGE_POLICY_INVALID', (error as Error).message);
    return undefined;
  }
  const checkOptions = {
    ...(options.knownSyscalls === undefined ? {} : { knownSyscalls: options.knownSyscalls }),
    ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities }),
  };
  for (const finding of checkPolicyDocument(doc, checkOptions)) {
    list.add('warning', finding.path, finding.code, finding.message);
  }
  return new ZtaPolicyGraph({
    document: doc,
    nodes,
    entry: doc.spec.entry === undefined ? 0 : nodeIndex.get(doc.spec.entry)!,
    markers,
    trust,
    warnings: list.issues.filter((i) => i.severity === 'warning'),
    digest: sha256Hex(canonicalJson(doc)),
    cache: options.decisionCache !== false,
    ...(options.file === undefined ? {} : { file: options.file }),
  });
}

/**
 * Validates a parsed policy document (an object from YAML or JSON) and compiles it. Never throws
 * on bad input: every problem comes back with its path (and line, when `locate` is given).
 */
export function validatePolicy(input: unknown, options: CompilePolicyOptions = {}): PolicyValidation {
  // One budget for every pattern the policy has (policyLimits.patternAnalysisMs).
  return withPatternBudget(() => validateDocument(input, options));
}

function validateDocument(input: unknown, options: CompilePolicyOptions): PolicyValidation {
  const list = new IssueList(options);
  if (!isRecord(input)) {
    list.error(
      [],
      'FORGE_POLICY_INVALID',
      `a policy document is an object with apiVersion, kind, metadata and spec; got ${Array.isArray(input) ? 'an array' : input === null ? 'null' : typeof input}`,
    );
    return { ok: false, issues: list.sorted() };
  }
  if (input['apiVersion'] !== POLICY_API_VERSION) {
    list.error(
      ['apiVersion'],
      'FORGE_POLICY_VERSION',
      `apiVersion must be ${POLICY_API_VERSION}, got ${JSON.stringify(input['apiVersion'] ?? null)}`,
    );
  }
  if (input['kind'] !== POLICY_KIND) {
    list.error(
      ['kind'],
      'FORGE_POLICY_VERSION',
      `kind must be ${POLICY_KIND}, got ${JSON.stringify(input['kind'] ?? null)}`,
    );
  }
  const parsed = PolicyDocumentSchema.safeParse(input);
  if (!parsed.success) zodIssues(parsed.error, list);
  if (list.failed || !parsed.success) return { ok: false, issues: list.sorted() };
  // Before anything is compiled: checking a pattern costs milliseconds, a pair of rules microseconds.
  const over = policyOverLimit(parsed.data);
  if (over !== undefined) {
    list.error(['spec'], 'FORGE_POLICY_TOO_LARGE', over);
    return { ok: false, issues: list.sorted() };
  }
  const known = options.knownSyscalls === undefined ? undefined : new Set(options.knownSyscalls);
  checkStructure(parsed.data, list, known);
  if (list.failed) {
    // Still compile every condition, so unsafe patterns are listed with the structural problems.
    parsed.data.spec.nodes.forEach((node, i) =>
      node.rules.forEach((rule, j) =>
        compileMatch(rule.match, ['spec', 'nodes', i, 'rules', j, 'match'], list),
      ),
    );
    parsed.data.spec.edges.forEach(
      (edge, k) => edge.when && compileMatch(edge.when, ['spec', 'edges', k, 'when'], list),
    );
    return { ok: false, issues: list.sorted() };
  }
  const graph = build(parsed.data, list, { ...options, ...(known ? { knownSyscalls: known } : {}) });
  if (!graph) return { ok: false, issues: list.sorted() };
  return { ok: true, graph, warnings: graph.warnings };
}

/** Compiles a parsed policy document, or throws one ForgeError listing every problem. */
export function compilePolicy(input: unknown, options: CompilePolicyOptions = {}): ZtaPolicyGraph {
  const result = validatePolicy(input, options);
  if (!result.ok) throw policyRefusal(result.issues);
  return result.graph;
}

/** Validates policy text (YAML or JSON); a parse failure is one FORGE_POLICY_PARSE issue. */
export function validatePolicyText(text: string, options: CompilePolicyOptions = {}): PolicyValidation {
  let source: ParsedSource;
  try {
    source = parseSourceText(text, options.file);
  } catch (error) {
    return { ok: false, issues: [issueOfParseError(error, options.file)] };
  }
  return validatePolicy(source.value, { ...options, locate: source.locate });
}

/** Parses and compiles policy text, or throws one ForgeError listing every problem. */
export function loadPolicyText(text: string, options: CompilePolicyOptions = {}): ZtaPolicyGraph {
  const source = parseSourceText(text, options.file);
  return compilePolicy(source.value, { ...options, locate: source.locate });
}

/** Reads, parses and compiles a policy file (YAML or JSON). */
export async function loadPolicyFile(
  path: string,
  options: Omit<CompilePolicyOptions, 'file' | 'locate'> = {},
): Promise<ZtaPolicyGraph> {
  const source = await readSourceFile(path);
  return compilePolicy(source.value, { ...options, file: path, locate: source.locate });
}

/** Reads and validates a policy file without throwing on policy problems (I/O errors still throw). */
export async function validatePolicyFile(
  path: string,
  options: Omit<CompilePolicyOptions, 'file' | 'locate'> = {},
): Promise<PolicyValidation> {
  let source: ParsedSource;
  try {
    source = await readSourceFile(path);
  } catch (error) {
    if (sourceCodes.has((error as { code?: string }).code ?? ''))
      return { ok: false, issues: [issueOfParseError(error, path)] };
    throw error;
  }
  return validatePolicy(source.value, { ...options, file: path, locate: source.locate });
}

/** What reading a source can refuse it with (anything else is thrown on). */
const sourceCodes = new Set(['FORGE_POLICY_PARSE', 'FORGE_POLICY_TOO_DEEP', 'FORGE_POLICY_TOO_LARGE']);

function issueOfParseError(error: unknown, file: string | undefined): PolicyIssue {
  const { code, details, message } = error as ForgeError;
  const line = typeof details['line'] === 'number' ? details['line'] : undefined;
  const column = typeof details['column'] === 'number' ? details['column'] : undefined;
  // The issue carries the file and line itself: the message need not say them again.
  const located = file !== undefined && message.startsWith(file) ? message.slice(file.length) : message;
  return {
    severity: 'error',
    code,
    path: '(root)',
    message: located === message ? message : located.replace(/^(?::\d+:\d+)?: /, ''),
    ...(file === undefined ? {} : { file }),
    ...(line === undefined ? {} : { line }),
    ...(column === undefined ? {} : { column }),
  };
}
