import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const good = write(
  'forgeone.yaml',
  `mode: audit
limits:
  timeoutMs: 500
  memoryPages: 128
audit:
  maxBatch: 64
`,
);

describe('forgeone config check (built CLI)', () => {
  it('a good file: exit 0, one line', () => {
    const run = forgeone(['config', 'check', good]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(`${good}: ok (4 setting(s) from the file, 0 change policies)\n`);
  });

  it('each problem of a bad file is one line with file:line:column and its code', () => {
    const bad = write(
      'bad.yaml',
      'mode: sometimes\nlimits:\n  timeoutMs: "fast"\n  extra: 1\nresources: { workers: 0 }\n',
    );
    const run = forgeone(['config', 'check', bad]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${bad}:1:7: FORGE_CONFIG_INVALID: mode: `)),
      expect.stringMatching(new RegExp(`^${bad}:3:14: FORGE_CONFIG_INVALID: limits\\.timeoutMs: `)),
      `${bad}:4:3: FORGE_CONFIG_UNKNOWN_KEY: limits.extra: unknown key "extra"`,
      expect.stringMatching(new RegExp(`^${bad}:5:23: FORGE_CONFIG_INVALID: resources\\.workers: `)),
    ]);
    expect(hasStackTrace(run.stderr)).toBe(false);
    const json = forgeone(['config', 'check', bad, '--json']);
    expect(json.code).toBe(1);
    const body = JSON.parse(json.stdout) as { ok: boolean; code: string; problems: unknown[] };
    expect(body).toMatchObject({ ok: false, code: 'FORGE_CONFIG_INVALID' });
    expect(body.problems).toHaveLength(4);
  });

  it('refuses each hostile file kind with one line and its code', () => {
    const bomb = write(
      'bomb.yaml',
      [
        'a: &a [x, x, x, x, x, x, x, x, x, x]',
        ...'bcdefgh'
          .split('')
          .map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
      ].join('\n') + '\n',
    );
    const deep = write('deep.yaml', `mode: ${'['.repeat(100_000)}\n`);
    const subdir = join(dir, 'isdir.yaml');
    mkdirSync(subdir);
    const link = join(dir, 'link.yaml');
    symlinkSync(good, link);
    const big = join(dir, 'big.yaml');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 100 * 1024 * 1024);
    closeSync(fd);
    const cases: [string, string][] = [
      [write('syntax.yaml', 'limits: [1, 2\n'), 'FORGE_CONFIG_FILE_SYNTAX'],
      [write('dup.yaml', 'mode: audit\nmode: enforce\n'), 'FORGE_CONFIG_FILE_SYNTAX'],
      [bomb, 'FORGE_CONFIG_FILE_ALIAS_BOMB'],
      [deep, 'FORGE_CONFIG_FILE_TOO_DEEP'],
      [big, 'FORGE_CONFIG_FILE_TOO_LARGE'],
      [subdir, 'FORGE_CONFIG_FILE_NOT_REGULAR'],
      [link, 'FORGE_CONFIG_FILE_SYMLINK'],
      [join(dir, 'missing.yaml'), 'FORGE_CONFIG_FILE_NOT_FOUND'],
      [write('range.yaml', 'limits: { memoryPages: 20000 }\n'), 'FORGE_CONFIG_CHANGE_REFUSED'],
      [
        write('rule.yaml', 'changePolicies: [{ path: limits.nope, max: 1 }]\n'),
        'FORGE_CONFIG_POLICY_INVALID',
      ],
      [write('literal.yaml', 'storage: { kind: sqlite, path: "" }\n'), 'FORGE_CONFIG_INVALID'],
    ];
    for (const [file, code] of cases) {
      const run = forgeone(['config', 'check', file]);
      expect(run.code, file).toBe(1);
      const lines = run.stderr.trim().split('\n');
      expect(lines, file).toHaveLength(1);
      expect(lines[0], file).toContain(`: ${code}: `);
      expect(hasStackTrace(run.stderr)).toBe(false);
    }
  });

  it('counts the environment and flags: a bad variable fails the check, naming it', () => {
    const env = forgeone(['config', 'check', good], { env: { FORGEONE_LIMITS__TIMEOUT_MS: 'soon' } });
    expect(env.code).toBe(1);
    expect(env.stderr).toBe(
      'env FORGEONE_LIMITS__TIMEOUT_MS: FORGE_CONFIG_ENV_INVALID: limits.timeoutMs: expected a number\n',
    );
    const typo = forgeone(['config', 'check', good], { env: { FORGEONE_LIMITS__TIMEOUTMS: '5' } });
    expect(typo.stderr).toContain('FORGE_CONFIG_ENV_UNKNOWN');
    const flag = forgeone(['config', 'check', good, '--set', 'limits.timeoutMs=0']);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/^flag --set limits\.timeoutMs: FORGE_CONFIG_INVALID: /);
  });
});

describe('forgeone config show (built CLI)', () => {
  it('shows the effective configuration with the source of each value: default < file < env < flag', () => {
    const run = forgeone(['config', 'show', '--config', good, '--effective', '--set', 'log.level=info'], {
      env: { FORGEONE_LIMITS__TIMEOUT_MS: '750' },
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trim().split('\n');
    expect(lines).toContain('log.level = "info"  # flag --set log.level');
    expect(lines).toContain('limits.timeoutMs = 750  # env FORGEONE_LIMITS__TIMEOUT_MS');
    expect(lines).toContain(`limits.memoryPages = 128  # ${good}:4:16`);
    expect(lines).toContain(`mode = "audit"  # ${good}:1:7`);
    expect(lines).toContain('limits.fuel = 0  # default');
    expect(lines).toContain(`audit.maxBatch = 64  # ${good}:6:13`);
  });

  it('--json prints the configuration and sources; secrets stay references; a literal secret is never echoed', () => {
    const run = forgeone(['config', 'show', '--json', '--effective']);
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout) as {
      ok: boolean;
      config: { mode: string };
      sources: Record<string, string>;
    };
    expect(body.ok).toBe(true);
    expect(body.config.mode).toBe('enforce');
    expect(body.sources['mode']).toBe('default');
    const bad = forgeone(['config', 'show', '--config', write('bad2.yaml', 'mode: nope-canary\n')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).not.toContain('nope-canary');
  });
});
