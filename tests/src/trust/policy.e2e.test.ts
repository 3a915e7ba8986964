import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace } from '../support/cli';

const policy = 'examples/policies/report-plugin.yaml';
const cases = 'examples/policies/report-plugin.cases.yaml';

describe('forgeone policy (built CLI)', () => {
  it('check, test and explain the example policy', () => {
    const check = forgeone(['policy', 'check', policy]);
    expect(check).toMatchObject({ code: 0, stderr: '' });
    expect(check.stdout).toMatch(/^OK: report-plugin@1\.0\.0: .*0 errors, 0 warning\(s\)\n$/);

    const test = forgeone(['policy', 'test', policy, cases]);
    expect(test.code).toBe(0);
    expect(test.stdout).toMatch(/\n\d+ passed, 0 failed\n$/);

    const explain = forgeone([
      'policy',
      'explain',
      policy,
      '--request',
      JSON.stringify({
        syscall: 'wasi.sock_accept',
        args: { fd: 3 },
        identity: { subject: 'pkg:acme/report-plugin@1.0.0' },
      }),
    ]);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toContain('decision: deny');
    expect(explain.stdout).toContain(
      'decided by: base/no-network (deny, weight 100): the plugin never touches the network',
    );
  });

  it('a hostile policy file (ReDoS, unknown field, cycle) is refused with the file, line, path and code; no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-policy-'));
    const file = join(dir, 'hostile.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: forgeone.dev/v1',
        'kind: Policy',
        'metadata: { name: hostile }',
        'spec:',
        '  nodes:',
        '    - name: a',
        '      rules:',
        "        - { id: r, action: allow, match: { args: { path: { regex: '^(([a-z])+.)+[A-Z]([a-z])+$' } } } }",
        '    - name: b',
        '  edges:',
        '    - { from: a, to: b }',
        '    - { from: b, to: a }',
        '',
      ].join('\n'),
    );
    const run = forgeone(['policy', 'check', file]);
    expect(run.code).toBe(1);
    expect(hasStackTrace(run.stdout + run.stderr)).toBe(false);
    // One line, CODE: message, listing every problem with its place.
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^FORGE_POLICY_UNSAFE_REGEX: /);
    expect(run.stderr).toContain(`${file}:8:`);
    expect(run.stderr).toContain('spec.nodes[0].rules[0].match.args.path.regex');
    expect(run.stderr).toContain('edges form a cycle');

    writeFileSync(
      file,
      'apiVersion: forgeone.dev/v1\nkind: Policy\nmetadata: { name: x, owner: me }\nspec: { nodes: [{ name: a }] }\n',
    );
    const unknown = forgeone(['policy', 'check', file, '--json']);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toMatchObject({
      ok: false,
      code: 'FORGE_POLICY_INVALID',
      issues: [{ path: 'metadata.owner', line: 3, file, message: 'unknown field "owner"' }],
    });
  });

  it('policy test exits non-zero when a case fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-cases-'));
    const file = join(dir, 'cases.yaml');
    writeFileSync(
      file,
      'apiVersion: forgeone.dev/v1\nkind: PolicyTests\ncases:\n  - name: wants the network\n    request: { syscall: wasi.sock_send }\n    expect: { action: allow }\n',
    );
    const run = forgeone(['policy', 'test', policy, file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('FAIL wants the network: expected allow, got deny by base/no-network');
    expect(run.stdout).toMatch(/\n0 passed, 1 failed\n$/);
    expect(run.stderr).toBe('FORGE_POLICY_TEST_FAILED: 1 of 1 case(s) failed\n');
  });
});
