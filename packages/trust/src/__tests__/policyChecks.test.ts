import { describe, expect, it } from 'vitest';
import { compilePolicy, loadPolicyFile, validatePolicy, type PolicyIssue } from '../index';
import { allSyscalls, doc, examplePolicy, knownSyscalls } from './support';

function warningsOf(spec: Record<string, unknown>, capabilities?: string[]): PolicyIssue[] {
  const result = validatePolicy(doc(spec), { knownSyscalls, ...(capabilities ? { capabilities } : {}) });
  if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('; '));
  return [...result.warnings];
}

const codes = (warnings: PolicyIssue[]) => warnings.map((w) => `${w.code} ${w.path}`);

describe('static checks', () => {
  it('reports a node no edge reaches', () => {
    const warnings = warningsOf({
      nodes: [
        { name: 'a' },
        { name: 'orphan', rules: [{ id: 'r', action: 'allow', match: { syscall: 'forge.log' } }] },
      ],
    });
    expect(codes(warnings)).toEqual(['unreachable-node spec.nodes[1]']);
    expect(warnings[0]?.message).toContain('"orphan" cannot be reached from the entry "a"');
  });

  it('reports a rule whose syscalls cannot reach its node through the edge conditions', () => {
    const warnings = warningsOf({
      nodes: [
        { name: 'a' },
        { name: 'fs', rules: [{ id: 'log', action: 'deny', match: { syscall: 'forge.log' } }] },
      ],
      edges: [{ from: 'a', to: 'fs', when: { syscall: 'wasi.path_*' } }],
    });
    expect(codes(warnings)).toEqual(['unreachable-rule spec.nodes[1].rules[0]']);
    expect(warnings[0]?.message).toContain(
      'only wasi.path_filestat_get, wasi.path_open, wasi.path_readlink can reach',
    );
  });

  it('reports rules that can never match', () => {
    const warnings = warningsOf({
      nodes: [
        {
          name: 'a',
          rules: [
            { id: 'range', action: 'deny', match: { args: { bytes: { atLeast: 10, atMost: 5 } } } },
            { id: 'roles', action: 'deny', match: { identity: { roles: { all: ['x'], none: ['x'] } } } },
            {
              id: 'path',
              action: 'deny',
              match: { args: { path: { equals: '/etc/passwd', under: '/data' } } },
            },
            { id: 'trust', action: 'deny', match: { trust: { atLeast: 0.8, below: 0.5 } } },
          ],
        },
      ],
    });
    expect(codes(warnings)).toEqual([
      'never-matches spec.nodes[0].rules[0]',
      'never-matches spec.nodes[0].rules[1]',
      'never-matches spec.nodes[0].rules[2]',
      'never-matches spec.nodes[0].rules[3]',
    ]);
  });

  it('reports shadowed rules: a broader rule that takes precedence, or a redundant one', () => {
    const warnings = warningsOf({
      nodes: [
        {
          name: 'a',
          rules: [
            {
              id: 'no-data',
              action: 'deny',
              match: { syscall: 'wasi.path_*', args: { path: { under: '/data' } } },
            },
            {
              id: 'reports',
              action: 'allow',
              match: { syscall: 'wasi.path_open', args: { path: { under: '/data/reports' }, write: false } },
            },
            {
              id: 'exception',
              action: 'allow',
              weight: 1,
              match: { syscall: 'wasi.path_open', args: { path: { equals: '/data/ok' } } },
            },
            { id: 'logs', action: 'allow', match: { syscall: 'forge.log' } },
            {
              id: 'logs-again',
              action: 'allow',
              match: { syscall: 'forge.log', identity: { roles: ['x'] } },
            },
          ],
        },
      ],
    });
    expect(codes(warnings)).toEqual([
      'shadowed-rule spec.nodes[0].rules[1]',
      'shadowed-rule spec.nodes[0].rules[4]',
    ]);
    expect(warnings[0]?.message).toContain(
      '"a/no-data" matches every call it matches and takes precedence (deny over allow)',
    );
    expect(warnings[1]?.message).toContain('redundant');
  });

  it('reports allow rules wider than any capability (the network), and beyond the requested capabilities', () => {
    const warnings = warningsOf(
      {
        nodes: [
          {
            name: 'a',
            rules: [
              { id: 'wasi', action: 'allow', match: { syscall: 'wasi.*', args: { fd: 3 } } },
              {
                id: 'data',
                action: 'allow',
                match: { syscall: 'wasi.path_open', args: { path: { under: '/data/in' }, write: false } },
              },
              {
                id: 'etc',
                action: 'allow',
                match: { syscall: 'wasi.path_open', args: { path: { under: '/etc' }, write: false } },
              },
              { id: 'kv', action: 'allow', match: { syscall: 'forge.kv_put' } },
            ],
          },
        ],
      },
      ['fs:read:/data', 'kv:write:notes'],
    );
    expect(warnings.find((w) => w.code === 'wider-than-capability')?.message).toContain('wasi.sock_accept');
    const beyond = warnings.filter((w) => w.code === 'beyond-capabilities').map((w) => w.path);
    expect(beyond).toEqual(['spec.nodes[0].rules[0]', 'spec.nodes[0].rules[2]', 'spec.nodes[0].rules[3]']);
    expect(
      warnings.find((w) => w.path === 'spec.nodes[0].rules[3]' && w.code === 'beyond-capabilities')?.message,
    ).toContain('kv:write:*');
  });

  it('the checks run on load too: the graph carries its warnings, and the example policy has none', async () => {
    const graph = compilePolicy(doc({ nodes: [{ name: 'a' }, { name: 'b' }] }), { knownSyscalls });
    expect(graph.warnings.map((w) => w.code)).toEqual(['unreachable-node']);
    const example = await loadPolicyFile(examplePolicy('report-plugin.yaml'), { knownSyscalls: allSyscalls });
    expect(example.warnings).toEqual([]);
  });
});
