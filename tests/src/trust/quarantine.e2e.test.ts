import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, repoRoot } from '../support/cli';

// The scanner of runPolicy.e2e: opens /data/report.txt, then keeps probing /etc/passwd until the
// example policy quarantines it.
const guest = join(dirname(fileURLToPath(import.meta.url)), 'scanGuest.wat');
const policy = join(repoRoot, 'examples/policies/report-plugin.yaml');
const root = mkdtempSync(join(tmpdir(), 'forgeone-quarantine-'));
mkdirSync(join(root, 'data'));
mkdirSync(join(root, 'etc'));
writeFileSync(join(root, 'data', 'report.txt'), 'quarterly numbers');
writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0');
const dirs = ['--dir', `${join(root, 'data')}:/data:ro`, '--dir', `${join(root, 'etc')}:/etc:ro`];

const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

describe('forgeone quarantine (records of runs a policy quarantined)', () => {
  it('a quarantined run prints its record and exits 3; ls, show and release work on the record', () => {
    const cwd = mkdtempSync(join(root, 'cwd-'));
    const run = forgeone(['run', guest, '--policy', policy, ...dirs], { cwd });
    expect(run.code).toBe(3);
    const id = /quarantine record (\S+) kept in/.exec(run.stderr)?.[1];
    expect(id).toBeDefined();
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toContain(
      `--- quarantined: the plugin is scanning the file system (record ${id}, rules base/scanning`,
    );
    // Without --state the record is in the default state of the working directory.
    expect(existsSync(join(cwd, '.forgeone'))).toBe(true);

    const ls = forgeone(['quarantine', 'ls', '--json'], { cwd });
    expect(ls.code).toBe(0);
    expect(json(ls.stdout).records).toEqual([
      expect.objectContaining({
        id,
        state: 'active',
        reason: 'the plugin is scanning the file system',
        firedRules: expect.arrayContaining(['base/scanning']),
      }),
    ]);

    const show = forgeone(['quarantine', 'show', id!], { cwd });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/state\s+active \(terminated at .* unless released\)/);
    expect(show.stdout).toMatch(/rules\s+base\/scanning/);
    expect(show.stdout).toMatch(/wasi\.path_open\s+\d+/);

    const release = forgeone(['quarantine', 'release', id!, '--by', 'alice', '--note', 'false alarm'], {
      cwd,
    });
    expect(release.code).toBe(0);
    expect(release.stdout.trim()).toBe(`released ${id}`);
    const after = json(forgeone(['quarantine', 'show', id!, '--json'], { cwd }).stdout).record as {
      state: string;
      history: { action: string; by?: string; note?: string }[];
    };
    expect(after.state).toBe('released');
    expect(after.history.at(-1)).toMatchObject({ action: 'release', by: 'alice', note: 'false alarm' });

    // A second release: the record's state refuses it, in one line with a code.
    const again = forgeone(['quarantine', 'release', id!], { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(
      /^FORGE_REDZONE_TRANSITION: container \S+ is released; it cannot release/,
    );
    expect(hasStackTrace(again.stderr)).toBe(false);
  });

  it('--state keeps the record there; --json reports it; terminate ends it', () => {
    const state = join(root, 'state-json');
    const run = forgeone(['run', guest, '--policy', policy, ...dirs, '--state', state, '--json'], {
      cwd: root,
    });
    expect(run.code).toBe(3);
    const report = json(run.stdout) as {
      code: string;
      quarantine: { record: string; state: string; reason: string };
    };
    expect(report.code).toBe('FORGE_CONTAINER_QUARANTINED');
    expect(report.quarantine).toMatchObject({
      state: 'active',
      reason: 'the plugin is scanning the file system',
    });
    const id = report.quarantine.record;
    const terminate = forgeone(['quarantine', 'terminate', id, '--state', state, '--reason', 'it scans']);
    expect(terminate.code).toBe(0);
    const ls = json(
      forgeone(['quarantine', 'ls', '--state', state, '--status', 'terminated', '--json']).stdout,
    );
    expect(ls.records).toEqual([expect.objectContaining({ id, state: 'terminated' })]);
    expect(
      json(forgeone(['quarantine', 'ls', '--state', state, '--status', 'active', '--json']).stdout).records,
    ).toEqual([]);
  });

  it('refuses what is not there, or not an id, in one coded line', () => {
    const state = join(root, 'state-bad');
    mkdirSync(state);
    const cases: [string[], number, RegExp][] = [
      [
        ['quarantine', 'show', 'container_nope', '--state', state],
        1,
        /^FORGE_REDZONE_NOT_FOUND: no quarantine record container_nope/,
      ],
      [
        ['quarantine', 'release', '../../etc/passwd', '--state', state],
        2,
        /^FORGE_CLI_USAGE: a record id is a container id/,
      ],
      [['quarantine', 'ls', '--state', join(root, 'missing')], 1, /^FORGE_REDZONE_NOT_FOUND: no state at /],
      [['quarantine', 'ls', '--state', state, '--status', 'bogus'], 2, /^FORGE_CLI_USAGE: /],
    ];
    for (const [args, code, line] of cases) {
      const run = forgeone(args);
      expect(run.code, args.join(' ')).toBe(code);
      expect(run.stderr.trim()).toMatch(line);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(hasStackTrace(run.stderr)).toBe(false);
    }
    // A read never creates a state.
    expect(existsSync(join(root, 'missing'))).toBe(false);
  });
});
