import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isForgeError } from '@forgeone/common';
import {
  compilePolicy,
  loadPolicyFile,
  loadPolicyText,
  validatePolicyText,
  type PolicyIssue,
} from '../index';
import { doc, knownSyscalls } from './support';

const dir = mkdtempSync(join(tmpdir(), 'forge-policy-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const head = `apiVersion: forgeone.dev/v1
kind: Policy
metadata:
  name: plugin
spec:
`;

async function refusal(path: string) {
  try {
    await loadPolicyFile(path, { knownSyscalls });
  } catch (error) {
    if (isForgeError(error)) return error;
    throw error;
  }
  throw new Error('the policy was accepted');
}

function issues(text: string): PolicyIssue[] {
  const result = validatePolicyText(text, { file: 'p.yaml', knownSyscalls });
  if (result.ok) throw new Error('the policy was accepted');
  return [...result.issues];
}

describe('policy loading refuses bad input with the file, the path inside it and a code', () => {
  it('a malformed file: FORGE_POLICY_PARSE with the line', async () => {
    const path = file('broken.yaml', `${head}  nodes:\n    - name: a\n      rules: [\n`);
    const error = await refusal(path);
    expect(error.code).toBe('FORGE_POLICY_PARSE');
    expect(error.message).toContain(path);
    expect(error.details['line']).toBeGreaterThan(5);
  });

  it('an unknown field: FORGE_POLICY_INVALID naming the field and its line', async () => {
    const path = file(
      'unknown.yaml',
      `${head}  nodes:\n    - name: a\n      rules:\n        - id: r\n          action: allow\n          match: { syscall: forge.log, sycsall: x }\n`,
    );
    const error = await refusal(path);
    expect(error.code).toBe('FORGE_POLICY_INVALID');
    expect(error.details).toMatchObject({
      file: path,
      path: 'spec.nodes[0].rules[0].match.sycsall',
      line: 11,
    });
    expect(error.message).toContain('unknown field "sycsall"');
  });

  it('a regular expression that could blow up: FORGE_POLICY_UNSAFE_REGEX at the regex', async () => {
    const path = file(
      'redos.yaml',
      `${head}  nodes:\n    - name: a\n      rules:\n        - id: r\n          action: deny\n          match:\n            syscall: wasi.path_open\n            args: { path: { regex: '(a|aa)+x' } }\n`,
    );
    const error = await refusal(path);
    expect(error.code).toBe('FORGE_POLICY_UNSAFE_REGEX');
    expect(error.details).toMatchObject({ path: 'spec.nodes[0].rules[0].match.args.path.regex', line: 13 });
    expect(error.message).toMatch(/exponential|polynomial/);
  });

  it('accepts a linear regex, and refuses a quadratic one as well as an exponential one', () => {
    const rule = (regex: string) => [{ id: 'r', action: 'deny', match: { args: { path: { regex } } } }];
    expect(() =>
      compilePolicy(doc({ nodes: [{ name: 'a', rules: rule('/data/[a-z0-9]+\\.csv') }] })),
    ).not.toThrow();
    for (const bad of ['(\\w+\\s?)+$', '.*secret.*', '(x+x+)+y']) {
      expect(() => compilePolicy(doc({ nodes: [{ name: 'a', rules: rule(bad) }] })), bad).toThrow(
        expect.objectContaining({ code: 'FORGE_POLICY_UNSAFE_REGEX' }),
      );
    }
  });

  it('a cycle: FORGE_POLICY_CYCLE naming the nodes in it', async () => {
    const path = file(
      'cycle.yaml',
      `${head}  nodes:\n    - name: a\n    - name: b\n    - name: c\n  edges:\n    - { from: a, to: b }\n    - { from: b, to: c }\n    - { from: c, to: b }\n`,
    );
    const error = await refusal(path);
    expect(error.code).toBe('FORGE_POLICY_CYCLE');
    expect(error.message).toContain('b -> c -> b');
    expect(error.details['path']).toMatch(/^spec\.edges\[\d\]$/);
  });

  it('an edge to a missing node: FORGE_POLICY_MISSING_NODE at the edge', async () => {
    const path = file(
      'missing.yaml',
      `${head}  nodes:\n    - name: a\n  edges:\n    - { from: a, to: sensitive-fs }\n`,
    );
    const error = await refusal(path);
    expect(error.code).toBe('FORGE_POLICY_MISSING_NODE');
    expect(error.details).toMatchObject({ path: 'spec.edges[0].to', line: 9 });
  });

  it('lists every problem at once (the message names each path), in document order of checks', () => {
    const found = issues(
      `${head}  entry: nowhere\n  nodes:\n    - name: a\n      rules:\n        - { id: r, action: allow, match: { syscall: wasi.nope, dna: { markers: [ghost] }, args: { p: { regex: '(a+)+$' } } } }\n        - { id: r, action: deny }\n`,
    );
    expect(found.map((i) => i.code).sort()).toEqual(
      [
        'FORGE_POLICY_DUPLICATE',
        'FORGE_POLICY_MISSING_MARKER',
        'FORGE_POLICY_MISSING_NODE',
        'FORGE_POLICY_UNKNOWN_SYSCALL',
        'FORGE_POLICY_UNSAFE_REGEX',
      ].sort(),
    );
    expect(found.every((i) => i.file === 'p.yaml' && typeof i.line === 'number')).toBe(true);
  });

  it('a wrong apiVersion or kind: FORGE_POLICY_VERSION', () => {
    const text = `apiVersion: forgeone.dev/v2\nkind: Policy\nmetadata: { name: x }\nspec: { nodes: [{ name: a }] }\n`;
    expect(() => loadPolicyText(text)).toThrow(expect.objectContaining({ code: 'FORGE_POLICY_VERSION' }));
  });

  it('the reserved default node and duplicate names are refused', () => {
    expect(issues(`${head}  nodes:\n    - name: default\n`)[0]).toMatchObject({
      code: 'FORGE_POLICY_INVALID',
      path: 'spec.nodes[0].name',
    });
    expect(issues(`${head}  nodes:\n    - name: a\n    - name: a\n`)[0]).toMatchObject({
      code: 'FORGE_POLICY_DUPLICATE',
    });
  });

  it('JSON documents load too, with lines', () => {
    const text = JSON.stringify(
      doc({ nodes: [{ name: 'a', rules: [{ id: 'r', action: 'allow', match: { syscall: 'forge.log' } }] }] }),
      null,
      2,
    );
    expect(loadPolicyText(text, { knownSyscalls }).ruleIds()).toEqual(['a/r']);
    const bad = text.replace('"forge.log"', '"forge.nope"');
    const found = validatePolicyText(bad, { knownSyscalls });
    expect(found.ok).toBe(false);
    const line = bad.split('\n').findIndex((l) => l.includes('forge.nope')) + 1;
    if (!found.ok) expect(found.issues[0]).toMatchObject({ code: 'FORGE_POLICY_UNKNOWN_SYSCALL', line });
  });

  it('a YAML alias bomb is refused, not expanded', () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n`;
    expect(() => loadPolicyText(bomb)).toThrow(expect.objectContaining({ code: 'FORGE_POLICY_PARSE' }));
  });

  it('a missing file is FORGE_POLICY_NOT_FOUND', async () => {
    const error = await refusal(join(dir, 'nope.yaml'));
    expect(error.code).toBe('FORGE_POLICY_NOT_FOUND');
  });
});
