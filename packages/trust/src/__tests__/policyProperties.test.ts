import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isForgeError } from '@forgeone/common';
import { compilePolicy, loadPolicyText } from '../index';
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
