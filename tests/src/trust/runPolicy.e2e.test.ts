import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, repoRoot } from '../support/cli';

// A guest that opens /data/report.txt once, then keeps probing /etc/passwd: what a scanner does.
const guest = join(dirname(fileURLToPath(import.meta.url)), 'scanGuest.wat');
const policy = join(repoRoot, 'examples/policies/report-plugin.yaml');
const root = mkdtempSync(join(tmpdir(), 'forgeone-policy-run-'));
mkdirSync(join(root, 'data'));
mkdirSync(join(root, 'etc'));
writeFileSync(join(root, 'data', 'report.txt'), 'quarterly numbers');
writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0');
const dirs = ['--dir', `${join(root, 'data')}:/data:ro`, '--dir', `${join(root, 'etc')}:/etc:ro`];

describe('forgeone run --policy (the example report-plugin policy)', () => {
  it.each(['worker', 'inline'])(
    'enforce (%s): reads /data, is refused /etc, is quarantined when it scans',
    (isolation) => {
      // Run where its quarantine record may go: the default state, ./.forgeone of the working directory.
      const run = forgeone(['run', guest, '--policy', policy, ...dirs, '--isolation', isolation], {
        cwd: root,
      });
      expect(run.code).toBe(3);
      expect(run.stdout).toContain('opened /data/report.txt');
      expect(run.stdout).toMatch(/wasi\.path_open\s+deny\s+-> 76\s+the plugin may only look inside \/data/);
      expect(run.stdout).toMatch(
        /wasi\.path_open\s+quarantine\s+-> 76\s+the plugin is scanning the file system/,
      );
      expect(run.stderr.trim()).toMatch(
        /^FORGE_CONTAINER_QUARANTINED: container quarantined: the plugin is scanning the file system; quarantine record \S+ kept in .*\.forgeone \(forgeone quarantine show \S+\)$/,
      );
      // It stopped at the quarantine: far fewer than the 20 probes it wanted.
      expect(run.stdout.match(/refused \/etc\/passwd/g)?.length ?? 0).toBeLessThan(20);
    },
  );

  it('audit: every decision is recorded but every call runs to the end', () => {
    const run = forgeone(['run', guest, '--policy', policy, ...dirs, '--mode', 'audit', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    const opens = report.calls.filter((c: { syscall: string }) => c.syscall === 'wasi.path_open');
    expect(opens).toHaveLength(21);
    expect(opens.every((c: { executed: boolean }) => c.executed)).toBe(true);
    expect(opens.some((c: { action: string }) => c.action === 'deny')).toBe(true);
  });

  it('refuses --policy together with --allow', () => {
    const run = forgeone(['run', guest, '--policy', policy, '--allow', 'forge.log']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^FORGE_CLI_USAGE: give either --policy or --allow/);
  });

  it('refuses a broken policy before anything runs, naming the file', () => {
    const bad = join(root, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: forgeone.dev/v1\nkind: Policy\nmetadata: { name: x }\nspec: { nodes: [ { name: a, rules: [ { id: r, action: allow, match: { syscall: forge.teleport } } ] } ] }\n',
    );
    const run = forgeone(['run', guest, '--policy', bad]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^FORGE_POLICY_\w+: .*bad\.yaml/);
    expect(run.stdout).not.toContain('opened');
    expect(hasStackTrace(run.stderr)).toBe(false);
  });
});
