import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  emptyExecutionDna,
  isForgeError,
  type Enforcement,
  type EnforcementMode,
  type SyscallRequest,
} from '@forgeone/common';
import {
  SyscallEnforcer,
  compilePolicy,
  loadPolicyText,
  type AuditEntryInput,
  type ContextualDecisionPoint,
  type ZtaDecision,
} from '../index';
import { doc, identity, knownSyscalls, request } from './support';

/** Runs `load` and fails unless it returns or throws a ForgeError with a FORGE_POLICY_* code. */
function onlyForgeErrors(load: () => unknown): void {
  try {
    load();
  } catch (error) {
    if (!isForgeError(error)) throw new Error(`threw a non-ForgeError: ${String(error)}`, { cause: error });
    expect(error.code).toMatch(/^FORGE_POLICY_/);
    expect(error.message.length).toBeGreaterThan(10);
  }
}

const valid = doc({
  entry: 'base',
  markers: { scan: { denied: { atLeast: 3 } } },
  nodes: [
    {
      name: 'base',
      rules: [
        {
          id: 'read',
          action: 'allow',
          match: { syscall: 'wasi.path_open', args: { path: { under: '/data' } } },
        },
        {
          id: 'scan',
          action: 'quarantine',
          weight: 5,
          match: { syscall: 'wasi.fd_readdir', dna: { markers: ['scan'] } },
        },
      ],
    },
    { name: 'writes', rules: [{ id: 'no', action: 'deny', match: { args: { write: true } } }] },
  ],
  edges: [{ from: 'base', to: 'writes', when: { args: { write: true } } }],
});

/** Every path into a JSON value, so a mutation can land anywhere in the document. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}
const validPaths = pathsOf(valid).filter((p) => p.length > 0);

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
  return copy;
}

describe('the policy parser takes any input and answers with a policy or a ForgeError', () => {
  it('random values', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true }),
        (value) => onlyForgeErrors(() => compilePolicy(value, { knownSyscalls })),
      ),
      { numRuns: 300 },
    );
  });

  it('a valid document with one field replaced by anything', () => {
    fc.assert(
      fc.property(fc.constantFrom(...validPaths), fc.jsonValue({ maxDepth: 3 }), (path, value) =>
        onlyForgeErrors(() => compilePolicy(setAt(valid, path, value), { knownSyscalls })),
      ),
      { numRuns: 400 },
    );
  });

  it('random text, and valid YAML cut at a random point', () => {
    const yaml = `apiVersion: forgeone.dev/v1\nkind: Policy\nmetadata: { name: x }\nspec:\n  nodes:\n    - name: a\n      rules:\n        - { id: r, action: allow, match: { syscall: forge.log, args: { n: { atMost: 3 } } } }\n`;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.nat(yaml.length).map((n) => yaml.slice(0, n)),
        ),
        (text) => onlyForgeErrors(() => loadPolicyText(text, { knownSyscalls })),
      ),
      { numRuns: 300 },
    );
  });
});

const actions = ['allow', 'deny', 'ask', 'quarantine'] as const;
const word = fc.constantFrom('a', 'b', 'reports', 'x1');

/**
 * Random policies of several nodes with edges (acyclic: only to later nodes), where every allow
 * rule names a syscall from `allowed` and a path under `/data/...`; other rules are free.
 */
const policyArb = fc
  .record({
    allowed: fc.subarray(knownSyscalls, { minLength: 1, maxLength: knownSyscalls.length - 1 }),
    nodes: fc.integer({ min: 1, max: 4 }),
  })
  .chain(({ allowed, nodes }) => {
    const rule = fc.record({
      action: fc.constantFrom(...actions),
      weight: fc.integer({ min: -5, max: 5 }),
      syscall: fc.constantFrom(...knownSyscalls),
      allowSyscall: fc.constantFrom(...allowed),
      dir: word,
      pathCondition: fc.boolean(),
      trust: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    });
    const node = fc.array(rule, { maxLength: 6 });
    const edge = fc.record({
      from: fc.nat(nodes - 1),
      to: fc.nat(nodes - 1),
      when: fc.option(fc.constantFrom(...knownSyscalls), { nil: undefined }),
    });
    return fc.record({
      allowed: fc.constant(allowed),
      document: fc
        .record({
          nodes: fc.array(node, { minLength: nodes, maxLength: nodes }),
          edges: fc.array(edge, { maxLength: 5 }),
        })
        .map((g) =>
          doc({
            nodes: g.nodes.map((rules, n) => ({
              name: `n${n}`,
              weight: n,
              rules: rules.map((r, i) => ({
                id: `r${i}`,
                action: r.action,
                weight: r.weight,
                match:
                  r.action === 'allow'
                    ? {
                        syscall: r.allowSyscall,
                        args: { path: { under: `/data/${r.dir}` } },
                        ...(r.trust === undefined ? {} : { trust: { atLeast: r.trust } }),
                      }
                    : {
                        syscall: r.syscall,
                        ...(r.pathCondition ? { args: { path: { under: `/data/${r.dir}` } } } : {}),
                      },
              })),
            })),
            edges: g.edges
              .filter((e) => e.from < e.to)
              .map((e) => ({
                from: `n${e.from}`,
                to: `n${e.to}`,
                ...(e.when ? { when: { syscall: e.when } } : {}),
              })),
          }),
        ),
    });
  });

describe('default deny', () => {
  it('a request that no allow rule matches is never allowed, whatever the weights, edges and scores', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.constantFrom(...knownSyscalls),
        fc.constantFrom('/data/a/f', '/data/zz/f', '/etc/passwd', '/data', '/other/reports'),
        fc.double({ min: 0, max: 1, noNaN: true }),
        ({ allowed, document }, syscall, path, trust) => {
          const graph = compilePolicy(document);
          const outsideAllowed = !allowed.includes(syscall);
          const outsidePaths = !['/data/a/', '/data/b/', '/data/reports/', '/data/x1/'].some((d) =>
            path.startsWith(d),
          );
          fc.pre(outsideAllowed || outsidePaths);
          const decision = graph.evaluate(request(syscall, { path }), { scores: { trust, anomaly: 0 } });
          expect(decision.action).not.toBe('allow');
          expect(decision.decidedBy?.action ?? 'deny').not.toBe('allow');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a cached decision is the decision an uncached evaluation would give', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(
          fc.record({
            syscall: fc.constantFrom(...knownSyscalls),
            dir: word,
            role: fc.constantFrom('a', 'b'),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        ({ document }, calls) => {
          const cached = compilePolicy(document);
          const fresh = compilePolicy(document);
          const who = { a: identity({ roles: ['a'] }), b: identity({ roles: ['b'] }) };
          for (const call of [...calls, ...calls]) {
            const req = request(
              call.syscall,
              { path: `/data/${call.dir}/f` },
              { identity: who[call.role as 'a' | 'b'] },
            );
            const expected = fresh.evaluate(req, {}, { explain: true });
            const actual = cached.evaluate(req);
            expect([actual.action, actual.decidedBy?.id]).toEqual([expected.action, expected.decidedBy?.id]);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** Syscalls the reuse properties call, and the patterns their rules name (globs and `*` included). */
const reuseSyscalls = ['forge.log', 'forge.clock_now', 'forge.kv_put', 'wasi.fd_write', 'wasi.path_open'];
const reusePatterns = [...reuseSyscalls, 'forge.*', 'wasi.fd_*', '*'];
/** What a rule's or an edge's condition reads besides the syscall name. */
const conditionKinds = ['none', 'identity', 'args', 'time', 'trust', 'anomaly', 'marker'] as const;
/** Conditions on the name and identity `staticWeight` times as often as the others together. */
const kindArb = (staticWeight: number) =>
  fc.oneof(
    { arbitrary: fc.constantFrom<(typeof conditionKinds)[number]>('none', 'identity'), weight: staticWeight },
    { arbitrary: fc.constantFrom(...conditionKinds.slice(2)), weight: 1 },
  );

/** A condition of each kind; trust thresholds sit where the computed score moves with the refusals. */
function conditionOf(kind: (typeof conditionKinds)[number], pick: number, threshold: number) {
  const markers = ['calls', 'hits', 'denied', 'ext'];
  switch (kind) {
    case 'none':
      return {};
    case 'identity':
      return { identity: { roles: { any: [pick % 2 === 0 ? 'a' : 'b'] } } };
    case 'args':
      return { args: { path: { under: pick % 2 === 0 ? '/data' : '/etc' } } };
    case 'time':
      return { time: { from: '09:00', to: '17:00' } };
    case 'trust':
      return { trust: { atLeast: threshold } };
    case 'anomaly':
      return { anomaly: { below: threshold } };
    case 'marker':
      return { dna: { markers: [markers[pick % markers.length]!] } };
  }
}

/** A rule of `kind`, mostly allowing. */
const mixedRuleArb = (kind: fc.Arbitrary<(typeof conditionKinds)[number]>, minWeight: number) =>
  fc.record({
    action: fc.oneof(
      { arbitrary: fc.constant('allow'), weight: 6 },
      { arbitrary: fc.constantFrom(...actions), weight: 2 },
    ),
    weight: fc.integer({ min: minWeight, max: minWeight + 6 }),
    syscall: fc.constantFrom(...reusePatterns),
    kind,
    pick: fc.nat(7),
    threshold: fc.double({ min: 0.35, max: 0.55, noNaN: true }),
  });

/**
 * Random policies mixing every condition kind, action and pattern, over nodes joined by edges;
 * mostly allow rules, so that reusable allows are common. Up to `watchers` more rules in the
 * entry node read the caller's history (trust, markers) and usually outrank the others.
 */
const mixedPolicyArb = (staticWeight: number, watchers = 0) =>
  fc
    .record({
      nodes: fc.array(fc.array(mixedRuleArb(kindArb(staticWeight), -3), { minLength: 1, maxLength: 5 }), {
        minLength: 1,
        maxLength: 3,
      }),
      watchers: fc.array(mixedRuleArb(fc.constantFrom('trust', 'marker'), 0), { maxLength: watchers }),
      edges: fc.array(
        fc.record({
          from: fc.nat(2),
          to: fc.nat(2),
          syscall: fc.option(fc.constantFrom(...reusePatterns), { nil: undefined }),
          kind: kindArb(staticWeight),
          pick: fc.nat(7),
        }),
        { maxLength: 3 },
      ),
      calls: fc.constantFrom('*', 'forge.*', 'wasi.*', 'forge.log'),
      atLeast: fc.integer({ min: 2, max: 3 }),
    })
    .map(({ nodes: given, watchers, edges, calls, atLeast }) => {
      const nodes = given.map((rules, n) => (n === 0 ? [...rules, ...watchers] : rules));
      // The hits marker counts the calls any rule decided.
      const ruleIds = nodes.flatMap((rules, n) => rules.map((_, i) => `n${n}/r${i}`));
      return doc({
        markers: {
          calls: { calls: { syscalls: [calls], atLeast } },
          hits: { ruleHits: { rules: ruleIds, atLeast } },
          denied: { denied: { atLeast } },
          ext: { external: true },
        },
        nodes: nodes.map((rules, n) => ({
          name: `n${n}`,
          rules: rules.map((r, i) => ({
            id: `r${i}`,
            action: r.action,
            weight: r.weight,
            match: { syscall: r.syscall, ...conditionOf(r.kind, r.pick, r.threshold) },
          })),
        })),
        edges: edges
          .filter((e) => e.from < e.to && e.to < nodes.length)
          .map((e) => ({
            from: `n${e.from}`,
            to: `n${e.to}`,
            when: { ...(e.syscall ? { syscall: e.syscall } : {}), ...conditionOf(e.kind, e.pick, 0.5) },
          }))
          .map((e) => (Object.keys(e.when).length === 0 ? { from: e.from, to: e.to } : e)),
      });
    });

/** One call as the gate makes it: only the arguments and the time vary. */
const callArb = fc.record({
  syscall: fc.constantFrom(...reuseSyscalls),
  path: fc.constantFrom('/data/a.csv', '/etc/passwd'),
  hour: fc.constantFrom(3, 10, 20),
});
const at = (hour: number) => Date.UTC(2030, 0, 7, hour, 0);

describe('decisions reused per syscall (decidesBySyscallOnlyFor)', () => {
  it('a syscall the graph reports static gets one decision whatever the arguments, time, scores and history', () => {
    const contextArb = fc.record({
      scores: fc.option(
        fc.record({
          trust: fc.double({ min: 0, max: 1, noNaN: true }),
          anomaly: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        { nil: undefined },
      ),
      dna: fc.option(
        fc.record({ calls: fc.nat(10), denied: fc.nat(10) }).map(({ calls, denied }) => ({
          ...emptyExecutionDna('ctr_test'),
          totalCalls: calls + denied,
          deniedCalls: denied,
          syscallCounts: Object.fromEntries(reuseSyscalls.map((s) => [s, calls])),
        })),
        { nil: undefined },
      ),
      ruleHits: fc.option(fc.dictionary(fc.constantFrom('n0/r0', 'n0/r1', 'n1/r0'), fc.nat(10)), {
        nil: undefined,
      }),
      markers: fc.option(fc.subarray(['calls', 'hits', 'denied', 'ext']), { nil: undefined }),
    });
    let checked = 0;
    fc.assert(
      fc.property(
        mixedPolicyArb(8),
        fc.constantFrom(...reuseSyscalls),
        fc.constantFrom('a', 'b'),
        fc.array(fc.tuple(callArb, contextArb), { minLength: 1, maxLength: 8 }),
        (document, syscall, role, variations) => {
          const graph = compilePolicy(document, { decisionCache: false });
          if (!graph.decidesBySyscallOnlyFor(syscall)) return;
          checked += 1;
          const who = identity({ roles: [role] });
          const explained = (d: ZtaDecision) => [d.action, d.reasons, d.decidedBy?.id, d.visited, d.edges];
          const first = graph.evaluate(request(syscall, {}, { identity: who }));
          expect(['allow', 'deny']).toContain(first.action);
          for (const [call, context] of variations) {
            const req = request(
              syscall,
              { path: call.path, fd: call.hour },
              {
                identity: who,
                time: at(call.hour),
                ...(context.scores ? { scores: context.scores } : {}),
              },
            );
            const ctx = Object.fromEntries(Object.entries(context).filter(([, v]) => v !== undefined));
            expect(explained(graph.evaluate(req, ctx))).toEqual(explained(first));
            const decided = graph.decide(req);
            expect([decided.action, decided.reasons]).toEqual([first.action, first.reasons]);
          }
        },
      ),
      { numRuns: 400 },
    );
    // The generator must reach static syscalls often enough for the property to mean something.
    expect(checked).toBeGreaterThan(40);
  });

  it('an enforcer whose reused decisions skip later calls, as the gate does, decides every call the same', () => {
    let reusedCalls = 0;
    fc.assert(
      fc.property(
        mixedPolicyArb(4, 3),
        fc.constantFrom('a', 'b'),
        fc.constantFrom<EnforcementMode>('enforce', 'permissive'),
        fc.array(callArb, { minLength: 10, maxLength: 40 }),
        (document, role, mode, calls) => {
          // Asked about every call, against one behind a gate that stops asking once promised.
          const every = new SyscallEnforcer({ pdp: compilePolicy(document), mode });
          const gated = new SyscallEnforcer({ pdp: compilePolicy(document), mode });
          const slots = new Map<string, Enforcement>();
          const who = identity({ roles: [role] });
          for (const call of calls) {
            const req = request(call.syscall, { path: call.path }, { identity: who, time: at(call.hour) });
            const expected = every.enforce(req);
            let actual = slots.get(call.syscall);
            if (actual) reusedCalls += 1;
            else {
              actual = gated.enforce(req);
              if (actual.reusableBy === gated && actual.execute) slots.set(call.syscall, actual);
            }
            const outcome = (e: Enforcement) => [e.decision.action, e.execute, e.quarantine];
            expect(outcome(actual)).toEqual(outcome(expected));
          }
        },
      ),
      { numRuns: 600 },
    );
    expect(reusedCalls).toBeGreaterThan(150);
  });
});

describe('what the enforcer keeps between calls (trust scores, repeated decisions)', () => {
  /** Scores are mostly left for the enforcer to work out, as the gate does. */
  const rarely = <T>(value: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: fc.constant(undefined), weight: 6 }, { arbitrary: value, weight: 1 });
  /** Who a container runs as: what its trust score starts from. */
  const identityArb = fc.record({
    role: fc.constantFrom('a', 'b'),
    signed: fc.boolean(),
    assurance: fc.constantFrom('none', 'low', 'high' as const),
  });
  /** One step: a call from one of three containers, a new identity for one, or forgetting one. */
  const stepArb = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({
        kind: fc.constant('call' as const),
        container: fc.nat(2),
        call: callArb,
        anomaly: rarely(fc.constantFrom(0, 0.3, 0.8)),
        trust: rarely(fc.constantFrom(0.2, 0.5, 0.9)),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('identity' as const),
        container: fc.nat(2),
        person: identityArb,
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('forget' as const), container: fc.nat(2) }) },
  );
  const thresholdsArb = fc.option(
    fc.oneof(
      fc.record({ minTrust: fc.double({ min: 0.3, max: 0.6, noNaN: true }) }),
      fc.record({ maxAnomaly: fc.constant(0.5) }),
    ),
    { nil: undefined },
  );

  it('decides and records every call as an enforcer that computes everything from scratch', () => {
    let scored = 0;
    let scoredAfterRefusals = 0;
    let repeated = 0;
    fc.assert(
      fc.property(
        mixedPolicyArb(1, 5),
        fc.constantFrom<EnforcementMode>('enforce', 'audit', 'permissive'),
        thresholdsArb,
        fc.array(identityArb, { minLength: 3, maxLength: 3 }),
        fc.array(stepArb, { minLength: 10, maxLength: 60 }),
        (document, mode, quarantine, people, steps) => {
          const options = { mode, ...(quarantine ? { quarantine } : {}) };
          const kept: AuditEntryInput[] = [];
          // What the live enforcer tells its PDP of the caller's history, checked against a recount.
          const graph = compilePolicy(document);
          let told: unknown[] = [];
          const telling: ContextualDecisionPoint = {
            decide: (req) => graph.decide(req),
            evaluate: (req, context) => {
              told = [context.dna?.totalCalls, context.dna?.deniedCalls, context.signals?.quarantines];
              return graph.evaluate(req, context);
            },
          };
          const live = new SyscallEnforcer({
            ...options,
            pdp: telling,
            audit: (entry) => kept.push(entry),
          });
          // The reference keeps nothing between calls: a graph compiled for each call, asked to
          // explain (never cached), and a context hook, with which the enforcer hands it a plain
          // context whose signals are computed afresh.
          const fromScratch = () => compilePolicy(document, { decisionCache: false });
          const explained: ContextualDecisionPoint = {
            decide: (req) => fromScratch().decide(req),
            evaluate: (req, context) => fromScratch().evaluate(req, context, { explain: true }),
          };
          const fresh: AuditEntryInput[] = [];
          const scratch = new SyscallEnforcer({
            ...options,
            pdp: explained,
            context: () => ({}),
            audit: (entry) => fresh.push(entry),
          });
          const identityOf = (person: (typeof people)[number]) =>
            identity({
              roles: [person.role],
              assurance: person.assurance,
              ...(person.signed ? { signer: 'key-1' } : {}),
            });
          const who = people.map(identityOf);
          const counts = () => ({ calls: 0, refused: 0, quarantines: 0 });
          const history = [counts(), counts(), counts()];
          const last = new Map<string, Enforcement['decision']>();
          for (const step of steps) {
            const containerId = `ctr_${step.container}`;
            if (step.kind === 'identity') {
              who[step.container] = identityOf(step.person);
              continue;
            }
            if (step.kind === 'forget') {
              live.forget(containerId);
              scratch.forget(containerId);
              history[step.container] = counts();
              continue;
            }
            const { call, anomaly, trust } = step;
            const scores =
              anomaly === undefined && trust === undefined
                ? {}
                : {
                    scores: {
                      ...(anomaly === undefined ? {} : { anomaly }),
                      ...(trust === undefined ? {} : { trust }),
                    },
                  };
            const req = request(
              call.syscall,
              { path: call.path },
              {
                containerId: containerId as SyscallRequest['containerId'],
                identity: who[step.container]!,
                time: at(call.hour),
                ...scores,
              },
            );
            const recorded = kept.length;
            const actual = live.enforce(req);
            const expected = scratch.enforce(req);
            const seen = history[step.container]!;
            expect(told).toEqual([seen.calls, seen.refused, seen.quarantines]);
            const outcome = (e: Enforcement) => {
              const d = e.decision as Partial<ZtaDecision>;
              return [
                e.execute,
                e.quarantine,
                d.action,
                d.reasons,
                d.decidedBy,
                d.scores,
                d.matched,
                d.visited,
                d.edges,
              ];
            };
            expect(outcome(actual)).toEqual(outcome(expected));
            if (
              (actual.decision as Partial<ZtaDecision>).scores?.trust !== undefined &&
              trust === undefined
            ) {
              scored += 1;
              if (seen.refused > 0) scoredAfterRefusals += 1;
            }
            if (last.get(containerId) === actual.decision) repeated += 1;
            last.set(containerId, actual.decision);
            // Refused: decided otherwise than allow, before the mode (permissive records only those).
            seen.calls += 1;
            if (kept.length > recorded && kept[recorded]!.action !== 'allow') seen.refused += 1;
            if (actual.quarantine !== undefined) seen.quarantines += 1;
          }
          expect(kept).toEqual(fresh);
        },
      ),
      { numRuns: 300 },
    );
    // Computed trust scores (with and without refusals) and repeated decisions must be common
    // enough for the property to mean something.
    expect(scored).toBeGreaterThan(600);
    expect(scoredAfterRefusals).toBeGreaterThan(200);
    expect(repeated).toBeGreaterThan(100);
  });
});
