import { describe, expect, it } from 'vitest';
import { ManualClock } from '@forgeone/common';
import {
  boundedEnforcer,
  createSyscallEnforcer,
  parseSyscallRequest,
  policyLimits,
  SyscallEnforcer,
  AllowListPdp,
  validatePolicy,
  validatePolicyText,
  type AuditEntryInput,
} from '../index';
import { allSyscalls, doc, graphOf, request } from './support';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

const allowEverything = doc({
  nodes: [{ name: 'a', rules: [{ id: 'all', action: 'allow', match: { syscall: '*' } }] }],
});
const manifest = { owner: "package acme/log@1.0.0's manifest", syscalls: ['forge.log'] };

describe('a bound (the manifest) holds over every decision source and mode', () => {
  for (const mode of ['enforce', 'audit', 'permissive'] as const) {
    it(`a policy document allowing everything does not run a call outside it (${mode})`, () => {
      const audit: AuditEntryInput[] = [];
      const enforcer = createSyscallEnforcer(
        { mode, policy: { kind: 'document', document: allowEverything }, within: [manifest] },
        { clock: new ManualClock(0), audit: (entry) => audit.push(entry) },
      );
      const write = enforcer.enforce(request('wasi.fd_write', { fd: 1 }));
      expect(write).toMatchObject({ execute: false, decision: { action: 'deny' } });
      expect(write.decision.reasons[0]?.message).toMatch(/outside package acme\/log@1\.0\.0's manifest/);
      expect(audit).toEqual([expect.objectContaining({ syscall: 'wasi.fd_write', executed: false })]);
      expect(enforcer.enforce(request('forge.log'))).toMatchObject({ execute: true });
    });
  }

  it("an allow-list's own within no longer runs outside calls in audit mode", () => {
    const enforcer = createSyscallEnforcer(
      { mode: 'audit', policy: { kind: 'allow-list', allow: ['wasi.*', 'forge.*'], within: ['forge.log'] } },
      { clock: new ManualClock(0) },
    );
    expect(enforcer.enforce(request('wasi.fd_write'))).toMatchObject({ execute: false });
  });

  it("a caller's enforcer object is bounded too, keeping its reuse promise inside", () => {
    const inner = new SyscallEnforcer({ pdp: new AllowListPdp(['wasi.*', 'forge.*']), mode: 'permissive' });
    const bounded = boundedEnforcer(inner, [manifest]);
    expect(bounded.enforce(request('wasi.fd_write'))).toMatchObject({ execute: false });
    const log = bounded.enforce(request('forge.log'));
    expect(log.execute).toBe(true);
    expect(log.reusableBy === undefined || log.reusableBy === bounded).toBe(true);
  });
});

describe('guest paths in policies and requests are canonical', () => {
  it('explain refuses a request path with .. (it is not what a rule under /data means)', () => {
    const input = { syscall: 'wasi.path_open', args: { fd: 3, path: '/data/../etc/passwd' } };
    expect(codeOf(() => parseSyscallRequest(JSON.stringify(input)))).toBe('FORGE_POLICY_REQUEST_INVALID');
    for (const path of ['/data/./x', '/data//x', '/data/']) {
      expect(
        codeOf(() => parseSyscallRequest({ ...input, args: { path } })),
        path,
      ).toBe('FORGE_POLICY_REQUEST_INVALID');
    }
    // Not a path: left alone.
    expect(codeOf(() => parseSyscallRequest({ syscall: 'wasi.fd_write', args: { path: '<stdout>' } }))).toBe(
      'no error',
    );
  });

  it('a rule under a non-canonical directory is refused; under never matches a non-canonical value', () => {
    for (const under of ['/data/..', '/data/./x', '/data//x', '/data/']) {
      const result = validatePolicy(
        doc({
          nodes: [
            {
              name: 'a',
              rules: [
                { id: 'r', action: 'allow', match: { syscall: 'wasi.path_open', args: { path: { under } } } },
              ],
            },
          ],
        }),
      );
      expect(result.ok, under).toBe(false);
    }
    const graph = graphOf([
      {
        id: 'data',
        action: 'allow',
        match: { syscall: 'wasi.path_open', args: { path: { under: '/data' } } },
      },
    ]);
    expect(graph.decide(request('wasi.path_open', { path: '/data/a' })).action).toBe('allow');
    expect(graph.decide(request('wasi.path_open', { path: '/data/../etc/passwd' })).action).toBe('deny');
  });
});

describe('policy limits keep loading near-linear', () => {
  const rules = (n: number, condition: (i: number) => unknown) =>
    Array.from({ length: n }, (_, i) => ({
      id: `r${i}`,
      action: 'allow',
      match: { syscall: 'wasi.path_open', args: { path: condition(i) } },
    }));

  it(`refuses more than ${policyLimits.patterns} regex and glob conditions before checking any`, () => {
    const result = validatePolicy(
      doc({
        nodes: [{ name: 'a', rules: rules(policyLimits.patterns + 1, (i) => ({ regex: `/d${i}/[a-z]+` })) }],
      }),
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues[0]?.code).toBe('FORGE_POLICY_TOO_LARGE');
  });

  it(`gives all of a policy's patterns ${policyLimits.patternAnalysisMs} ms together, refusing the rest as too large`, () => {
    // Each of these keeps the checker busy until its own timeout (1 s): 16 of them were 16 s.
    const slow = (i: number) => ({ regex: `((a{1,30}){1,30}){1,${14 + i}}b` });
    const result = validatePolicy(doc({ nodes: [{ name: 'a', rules: rules(policyLimits.patterns, slow) }] }));
    expect(result.ok).toBe(false);
    const codes = result.ok ? [] : result.issues.map((issue) => issue.code);
    expect(codes).toHaveLength(policyLimits.patterns);
    expect(codes).toContain('FORGE_POLICY_TOO_LARGE');
    // The first may be refused as unsafe (its own timeout) or as too large (it used the budget up).
    for (const code of codes) expect(['FORGE_POLICY_UNSAFE_REGEX', 'FORGE_POLICY_TOO_LARGE']).toContain(code);
    const tooLarge = result.ok ? undefined : result.issues.find((i) => i.code === 'FORGE_POLICY_TOO_LARGE');
    expect(tooLarge?.message).toMatch(
      /took more than 1000 ms to analyse together; use fewer or simpler patterns/,
    );
    // The budget is the policy's, not the process's: the next policy gets its own.
    const plain = validatePolicy(
      doc({
        nodes: [{ name: 'a', rules: rules(policyLimits.patterns, (i) => ({ regex: `/e${i}/[a-z]+` })) }],
      }),
    );
    expect(plain.ok).toBe(true);
  });

  it(`refuses more than ${policyLimits.rules} rules`, () => {
    const result = validatePolicy(
      doc({ nodes: [{ name: 'a', rules: rules(policyLimits.rules + 1, (i) => ({ prefix: `/d${i}/` })) }] }),
    );
    expect(!result.ok && result.issues[0]).toMatchObject({ code: 'FORGE_POLICY_TOO_LARGE' });
  });

  it('accepts a thousand prefix rules, still finding a shadowed one among them', () => {
    const list = rules(1000, (i) => ({ prefix: `/d${i}/` }));
    list.push({
      id: 'late',
      action: 'allow',
      match: { syscall: 'wasi.path_open', args: { path: { prefix: '/d7/x/' } } },
    });
    const result = validatePolicy(doc({ nodes: [{ name: 'a', rules: list }] }), {
      knownSyscalls: allSyscalls,
    });
    expect(result.ok).toBe(true);
    expect(result.ok && result.warnings.map((w) => `${w.code} ${w.path}`)).toEqual([
      'shadowed-rule spec.nodes[0].rules[1000]',
    ]);
  });

  it('refuses deeply nested YAML or JSON with its own code, before the parser recurses', () => {
    const head = 'apiVersion: forgeone.dev/v1\nkind: Policy\nmetadata: { name: t }\nspec:\n';
    const flow = `${head}  x: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    const block = `${head}${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 2)}k${i}:`).join('\n')} 1\n`;
    const seq = `${head}  x: \n    ${'- '.repeat(5000)}1\n`;
    for (const text of [flow, block, seq]) {
      const result = validatePolicyText(text, { file: 'deep.yaml' });
      expect(!result.ok && result.issues[0]).toMatchObject({ code: 'FORGE_POLICY_TOO_DEEP' });
      expect(!result.ok && result.issues[0]?.message).toMatch(/nests more than 64 levels/);
    }
    // Brackets inside quoted strings are not nesting.
    const quoted = `${head}  nodes:\n    - name: a\n      rules:\n        - { id: r, action: allow, match: { syscall: wasi.path_open, args: { path: { contains: '${'['.repeat(100)}' } } } }\n`;
    expect(validatePolicyText(quoted).ok).toBe(true);
  });
});

describe('globs', () => {
  const graph = graphOf([
    {
      id: 'csv',
      action: 'allow',
      match: { syscall: 'wasi.path_open', args: { path: { glob: '/reports/**/*.csv' } } },
    },
    { id: 'tree', action: 'allow', match: { syscall: 'wasi.fd_read', args: { path: { glob: '/data/**' } } } },
    {
      id: 'alt',
      action: 'allow',
      match: { syscall: 'wasi.fd_write', args: { path: { glob: '/out/{a,b}?.[lt]og' } } },
    },
  ]);
  it.each([
    ['wasi.path_open', '/reports/q1.csv', 'allow'],
    ['wasi.path_open', '/reports/2030/q1/a.csv', 'allow'],
    ['wasi.path_open', '/reports/2030/a.txt', 'deny'],
    ['wasi.path_open', '/reportsx/a.csv', 'deny'],
    ['wasi.fd_read', '/data', 'allow'],
    ['wasi.fd_read', '/data/x/y', 'allow'],
    ['wasi.fd_read', '/database', 'deny'],
    ['wasi.fd_write', '/out/a1.log', 'allow'],
    ['wasi.fd_write', '/out/b2.tog', 'allow'],
    ['wasi.fd_write', '/out/c1.log', 'deny'],
    ['wasi.fd_write', '/out/a/.log', 'deny'],
  ])('%s %s -> %s', (syscall, path, action) => {
    expect(graph.decide(request(syscall, { path })).action).toBe(action);
  });

  it('refuses extglobs and unbalanced classes with a message', () => {
    for (const glob of ['/a/+(x|y)', '/a/[b', '/a/{b,{c}}']) {
      const result = validatePolicy(
        doc({
          nodes: [
            {
              name: 'a',
              rules: [
                { id: 'r', action: 'allow', match: { syscall: 'wasi.path_open', args: { path: { glob } } } },
              ],
            },
          ],
        }),
      );
      expect(!result.ok && result.issues[0]?.code, glob).toBe('FORGE_POLICY_INVALID');
    }
  });
});
