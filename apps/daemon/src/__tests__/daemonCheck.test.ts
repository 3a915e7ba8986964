import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createToken, run, start } from './support/daemonProcess';

describe('forgeoned check', () => {
  it('exits 0 with what it would boot, and changes nothing in the data directory', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forgeoned-check-'));
    createToken(dataDir, 'viewer');
    const db = join(dataDir, 'forgeone.db');
    const before = statSync(db).mtimeMs;
    // SQLite's own -wal/-shm companions may appear (the check reads the store online); nothing else.
    const files = () =>
      readdirSync(dataDir)
        .filter((f) => !/-(wal|shm)$/.test(f))
        .sort();
    const listed = files();
    const ok = run(['check', '--data-dir', dataDir, '--mode', 'maintenance']);
    expect(ok.status).toBe(0);
    expect(ok.stdout.trim()).toMatch(
      /^ok: forgeoned would boot \(mode maintenance, root none, .*1 live tokens\)$/,
    );
    expect(statSync(db).mtimeMs).toBe(before);
    expect(files()).toEqual(listed);
    expect(run(['token', 'list', '--data-dir', dataDir]).stdout.trim().split('\n')).toHaveLength(1);
    // A data directory that does not exist yet is not made by a check.
    const fresh = join(dataDir, 'not-yet');
    expect(run(['check', '--data-dir', fresh]).status).toBe(0);
    expect(existsSync(fresh)).toBe(false);
  });

  it('exits 1 with the code the daemon would stop with', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forgeoned-check-'));
    const bad = join(dir, 'forgeone.yaml');
    writeFileSync(bad, 'limits:\n  timeoutMs: -5\n');
    const cases: Array<[string[], RegExp]> = [
      [['--config', bad], /^FORGE_CONFIG_INVALID: /],
      [['--root', join(dir, 'no-root.json')], /^FORGE_ROOT_IO: boot refused/],
      [['--policy-dir', dir], /^FORGE_POLICY_DIR_INVALID: /],
      [['--data-dir', join(bad, 'sub')], /^FORGE_STORAGE_IO: data directory .* is not a directory/],
    ];
    for (const [flags, expected] of cases) {
      const result = run(['check', ...flags]);
      expect(result.status, flags.join(' ')).toBe(1);
      expect(result.stderr.trim()).toMatch(expected);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(run(['check', '--port', 'x']).status).toBe(2);
  });

  it('warns, in check and at start, when listening off loopback without TLS or without tokens', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forgeoned-check-'));
    const checked = run(['check', '--host', '0.0.0.0', '--data-dir', dataDir]);
    expect(checked.status).toBe(0);
    expect(checked.stdout).toMatch(/^warning: listening on 0\.0\.0\.0, .* without TLS/m);
    expect(checked.stdout).toMatch(/^warning: .* no API token exists yet/m);
    expect(run(['check', '--host', '127.0.0.1']).stdout).not.toMatch(/warning/);

    createToken(dataDir, 'admin');
    const daemon = start(['--host', '0.0.0.0', '--data-dir', dataDir]);
    await daemon.address;
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const warnings = daemon
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"level":40'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/without TLS/);
  });
});
