import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli as run } from './support/inProcess';

const examples = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../examples/policies');

const cli = (argv: string[], cwd = examples) => run(argv, cwd);

const head = 'apiVersion: forgeone.dev/v1\nkind: Policy\nmetadata: { name: t }\nspec:\n';

describe('forgeone policy check', () => {
  it('passes the example policy (exit 0, one OK line)', async () => {
    const run = await cli(['policy', 'check', 'report-plugin.yaml']);
    expect(run).toMatchObject({ code: 0, err: [] });
    expect(run.out).toEqual([
      expect.stringMatching(
        /^OK: report-plugin@1\.0\.0: 2 node\(s\), 12 rule\(s\), 1 edge\(s\); 0 errors, 0 warning\(s\)$/,
      ),
    ]);
  });

  it('lists warnings; --strict fails on them; --json carries them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-cli-policy-'));
    await writeFile(
      join(dir, 'p.yaml'),
      `${head}  nodes:\n    - name: a\n      rules:\n        - { id: net, action: allow, match: { syscall: 'wasi.sock_*' } }\n`,
    );
    const text = await cli(['policy', 'check', 'p.yaml'], dir);
    expect(text.code).toBe(0);
    expect(text.out[0]).toMatch(
      /^warning wider-than-capability .*p\.yaml:8:\d+ spec\.nodes\[0\]\.rules\[0\]: allow rule "a\/net" allows wasi\.sock_accept/,
    );
    const strict = await cli(['policy', 'check', 'p.yaml', '--strict'], dir);
    expect(strict.code).toBe(1);
    expect(strict.err).toEqual([expect.stringMatching(/^FORGE_POLICY_CHECK_FAILED: /)]);
    const json = await cli(['policy', 'check', 'p.yaml', '--json'], dir);
    const body = JSON.parse(json.out[0]!) as { ok: boolean; issues: { code: string; line: number }[] };
    expect(body).toMatchObject({
      ok: true,
      code: 'OK',
      issues: [{ code: 'wider-than-capability', line: 8 }],
    });
  });

  it('refuses a bad policy with one line, CODE: message, that lists every problem; exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-cli-policy-'));
    await writeFile(
      join(dir, 'bad.yaml'),
      `${head}  nodes:\n    - name: a\n      rules:\n        - { id: r, action: allow, match: { syscall: wasi.path_opne } }\n  edges:\n    - { from: a, to: b }\n`,
    );
    const run = await cli(['policy', 'check', 'bad.yaml'], dir);
    expect(run).toMatchObject({ code: 1, out: [] });
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toMatch(
      /^FORGE_POLICY_UNKNOWN_SYSCALL: the policy .*bad\.yaml was refused \(2 problems; nothing was applied\): .*bad\.yaml:8:\d+ .*did you mean wasi\.path_open\?; .*bad\.yaml:10:\d+ spec\.edges\[0\]\.to: /,
    );
  });

  it('a YAML error is one line, its place said once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-cli-policy-'));
    await writeFile(join(dir, 'y.yaml'), `${head}  nodes: [\n  a: b: c\n`);
    const run = await cli(['policy', 'check', 'y.yaml'], dir);
    expect(run).toMatchObject({ code: 1, out: [] });
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toMatch(
      /^FORGE_POLICY_PARSE: the policy .*y\.yaml was refused \(1 problem; nothing was applied\): .*y\.yaml:\d+:\d+ \(root\): not valid YAML/,
    );
  });

  it('deeply nested YAML is FORGE_POLICY_TOO_DEEP, not a stack overflow, in check, explain and test', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-cli-policy-'));
    await writeFile(join(dir, 'deep.yaml'), `${head}  x: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`);
    const request = JSON.stringify({ syscall: 'forge.log' });
    for (const argv of [
      ['policy', 'check', 'deep.yaml'],
      ['policy', 'explain', 'deep.yaml', '--request', request],
    ]) {
      const run = await cli(argv, dir);
      expect(run.code, argv[1]).toBe(1);
      expect(run.err, argv[1]).toEqual([
        expect.stringMatching(/^FORGE_POLICY_TOO_DEEP: .*nests more than 64 levels/),
      ]);
      expect(run.err[0]).not.toMatch(/call stack/);
    }
  });
});

describe('forgeone policy test', () => {
  it('runs the example cases: PASS lines and "N passed, 0 failed", exit 0', async () => {
    const run = await cli(['policy', 'test', 'report-plugin.yaml', 'report-plugin.cases.yaml']);
    expect(run.code).toBe(0);
    expect(run.out.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(run.out.filter((l) => l.startsWith('PASS '))).toHaveLength(Number(run.out.at(-1)!.split(' ')[0]));
  });

  it('exits 1 on a failing case and says what happened instead', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-cli-policy-'));
    await writeFile(
      join(dir, 'cases.yaml'),
      `apiVersion: forgeone.dev/v1\nkind: PolicyTests\ncases:\n  - name: reads passwd\n    request: { syscall: wasi.path_open, args: { path: /etc/passwd, write: false } }\n    expect: { action: allow }\n  - name: no network\n    request: { syscall: wasi.sock_accept }\n    expect: { action: deny, rule: base/no-network }\n`,
    );
    const run = await cli(['policy', 'test', join(examples, 'report-plugin.yaml'), 'cases.yaml'], dir);
    expect(run.code).toBe(1);
    expect(run.out).toContain('FAIL reads passwd: expected allow, got deny by base/outside-data');
    expect(run.out.at(-1)).toBe('1 passed, 1 failed');
    expect(run.err).toEqual(['FORGE_POLICY_TEST_FAILED: 1 of 2 case(s) failed']);
    const json = await cli(
      ['policy', 'test', join(examples, 'report-plugin.yaml'), 'cases.yaml', '--json'],
      dir,
    );
    expect(JSON.parse(json.out[0]!)).toMatchObject({
      ok: false,
      code: 'FORGE_POLICY_TEST_FAILED',
      passed: 1,
      failed: 1,
    });
  });
});

describe('forgeone policy explain', () => {
  it('explains a decision: the deciding rule, the path through the graph, matched and unmatched rules', async () => {
    const request = JSON.stringify({
      syscall: 'wasi.path_open',
      args: { fd: 3, path: '/data/exports/q1.pdf', write: true },
    });
    const run = await cli(['policy', 'explain', 'report-plugin.yaml', '--request', request]);
    expect(run.code).toBe(0);
    expect(run.out).toContain('decision: ask');
    expect(run.out).toContain('path: base -> file-writes (when syscall wasi.path_open, write = true)');
    expect(run.out.join('\n')).toContain('- base/open-data (allow): needs write = false, saw true');
    const json = await cli(['policy', 'explain', 'report-plugin.yaml', '--request', request, '--json']);
    expect(JSON.parse(json.out[0]!)).toMatchObject({
      ok: true,
      decision: { action: 'ask', decidedBy: { id: 'file-writes/exports-need-approval' } },
    });
  });

  it('takes the caller context, and refuses a malformed request with one line', async () => {
    const request = JSON.stringify({
      syscall: 'wasi.path_open',
      args: { path: '/etc/shadow', write: false },
    });
    const context = JSON.stringify({ ruleHits: { 'base/outside-data': 9 } });
    const run = await cli([
      'policy',
      'explain',
      'report-plugin.yaml',
      '--request',
      request,
      '--context',
      context,
    ]);
    expect(run.out[0]).toBe('decision: quarantine');
    const bad = await cli(['policy', 'explain', 'report-plugin.yaml', '--request', '{"syscall":1}']);
    expect(bad).toMatchObject({ code: 1, out: [] });
    expect(bad.err).toEqual([
      expect.stringMatching(/^FORGE_POLICY_REQUEST_INVALID: invalid request at syscall: /),
    ]);
  });

  it('refuses a path that is not canonical: /data/../etc/passwd is not under /data', async () => {
    const request = JSON.stringify({
      syscall: 'wasi.path_open',
      args: { fd: 3, path: '/data/../etc/passwd', read: true, write: false },
    });
    const bad = await cli(['policy', 'explain', 'report-plugin.yaml', '--request', request]);
    expect(bad).toMatchObject({ code: 1, out: [] });
    expect(bad.err).toEqual([
      expect.stringMatching(
        /^FORGE_POLICY_REQUEST_INVALID: invalid request at args\.path: "\/data\/\.\.\/etc\/passwd" is not a canonical guest path/,
      ),
    ]);
  });
});
