import {
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  openSync,
  ftruncateSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  configEnvName,
  formatConfigProblem,
  formatConfigSource,
  loadConfig,
  resolveConfig,
  MAX_CONFIG_FILE_BYTES,
} from '../index';
import { testSchema } from './support/kernelSchema';

const dir = mkdtempSync(join(tmpdir(), 'forge-config-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string, name = `c${n++}.yaml`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const good = `# a kernel
mode: audit
limits:
  timeoutMs: 500
  memoryPages: 128
db:
  password: secret:db-password
  hosts: [a.example, b.example]
changePolicies:
  - { path: mode, leaveValue: enforce, requireRole: admin }
  - { path: limits.memoryPages, max: 1024 }
`;

describe('files', () => {
  it('reads a good file, with the file:line:column of each value it sets', async () => {
    const path = file(good);
    const { config, sources, rules } = await loadConfig({ schema: testSchema, file: path });
    expect(config.mode).toBe('audit');
    expect(config.limits.timeoutMs).toBe(500);
    expect(config.db.hosts).toEqual(['a.example', 'b.example']);
    expect(rules).toHaveLength(2);
    expect(sources.get('limits.timeoutMs')).toEqual({ kind: 'file', file: path, line: 4, column: 14 });
    expect(sources.get('mode')).toEqual({ kind: 'file', file: path, line: 2, column: 7 });
    expect(sources.get('limits.fuel')).toEqual({ kind: 'default' });
  });

  it('reads JSON the same way', async () => {
    const path = file('{"mode": "permissive", "limits": {"fuel": 5}}', 'c.json');
    const { config, sources } = await loadConfig({ schema: testSchema, file: path });
    expect(config.mode).toBe('permissive');
    expect(formatConfigSource(sources.get('limits.fuel')!)).toBe(`${path}:1:43`);
  });

  it('reports every problem at file:line:column with its code', async () => {
    const path = file(`mode: sometimes
limits:
  timeoutMs: "fast"
  memoryPages: 0
  nonsense: 1
bogus: {}
db:
  password: hunter2-literal
`);
    const result = await resolveConfig({ schema: testSchema, file: path });
    expect(result.ok).toBe(false);
    const lines = result.problems.map(formatConfigProblem);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${path}:1:7: FORGE_CONFIG_INVALID: mode: `)),
        expect.stringMatching(new RegExp(`^${path}:3:14: FORGE_CONFIG_INVALID: limits.timeoutMs: `)),
        expect.stringMatching(new RegExp(`^${path}:4:16: FORGE_CONFIG_INVALID: limits.memoryPages: `)),
        expect.stringMatching(new RegExp(`^${path}:5:3: FORGE_CONFIG_UNKNOWN_KEY: limits.nonsense: `)),
        expect.stringMatching(new RegExp(`^${path}:6:1: FORGE_CONFIG_UNKNOWN_KEY: bogus: `)),
        expect.stringMatching(new RegExp(`^${path}:8:13: FORGE_CONFIG_SECRET_LITERAL: db.password: `)),
      ]),
    );
    expect(lines.join('\n')).not.toContain('hunter2');
  });

  it.each([
    ['a syntax error', 'mode: [enforce\n', 'FORGE_CONFIG_FILE_SYNTAX', /:2:1$/],
    ['a duplicate key', 'mode: audit\nmode: enforce\n', 'FORGE_CONFIG_FILE_SYNTAX', /:2:1$/],
    ['two documents', 'mode: audit\n---\nmode: enforce\n', 'FORGE_CONFIG_FILE_SYNTAX', /:\d+:\d+$/],
    [
      'an alias bomb',
      'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n',
      'FORGE_CONFIG_FILE_ALIAS_BOMB',
      /yaml$/,
    ],
    [
      'a bad policy rule',
      'changePolicies:\n  - { path: mode, max: "x" }\n',
      'FORGE_CONFIG_POLICY_INVALID',
      /:2:5$/,
    ],
    [
      'a rule on an unknown path',
      'changePolicies:\n  - { path: nope.x, max: 3 }\n',
      'FORGE_CONFIG_POLICY_INVALID',
      /:2:5$/,
    ],
    ['a list at the top', '- mode\n', 'FORGE_CONFIG_INVALID', /:1:1$/],
    [
      'the initial value breaking its own rule',
      'limits: { memoryPages: 300 }\nchangePolicies: [{ path: limits.memoryPages, max: 256 }]\n',
      'FORGE_CONFIG_CHANGE_REFUSED',
      /yaml$/,
    ],
  ])('refuses %s with %s', async (_what, text, code, where) => {
    const result = await resolveConfig({ schema: testSchema, file: file(text) });
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatchObject({ code, where: expect.stringMatching(where) });
  });

  it('refuses a missing file, a directory, a symlink and a file over the cap, each with its code', async () => {
    const check = async (path: string) =>
      (await resolveConfig({ schema: testSchema, file: path })).problems[0]?.code;
    expect(await check(join(dir, 'absent.yaml'))).toBe('FORGE_CONFIG_FILE_NOT_FOUND');
    const sub = join(dir, 'adir.yaml');
    mkdirSync(sub);
    expect(await check(sub)).toBe('FORGE_CONFIG_FILE_NOT_REGULAR');
    const link = join(dir, 'link.yaml');
    symlinkSync(file(good), link);
    expect(await check(link)).toBe('FORGE_CONFIG_FILE_SYMLINK');
    // A sparse 100 MB file: refused from its size, never read.
    const big = join(dir, 'big.yaml');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 100 * 1024 * 1024);
    closeSync(fd);
    expect(await check(big)).toBe('FORGE_CONFIG_FILE_TOO_LARGE');
    expect(await check(file(`mode: audit\n#${'x'.repeat(MAX_CONFIG_FILE_BYTES)}\n`))).toBe(
      'FORGE_CONFIG_FILE_TOO_LARGE',
    );
    expect(await check(file('\uFEFFmode: audit\n'))).toBeUndefined();
    writeFileSync(join(dir, 'latin1.yaml'), Buffer.from([0x6d, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
    expect(await check(join(dir, 'latin1.yaml'))).toBe('FORGE_CONFIG_FILE_UNREADABLE');
  });

  it('refuses nesting too deep for the parser with a code, not a crash', async () => {
    const result = await resolveConfig({
      schema: testSchema,
      file: file(`${'['.repeat(200_000)}${']'.repeat(200_000)}`),
    });
    expect(result.ok).toBe(false);
    expect(result.problems[0]?.code).toBe('FORGE_CONFIG_FILE_TOO_DEEP');
  });
});

describe('precedence: defaults < file < environment < flags', () => {
  it('maps paths to FORGEONE_ names', () => {
    expect(configEnvName('limits.timeoutMs')).toBe('FORGEONE_LIMITS__TIMEOUT_MS');
    expect(configEnvName('mode')).toBe('FORGEONE_MODE');
    expect(configEnvName('resources.containersPerIdentity')).toBe(
      'FORGEONE_RESOURCES__CONTAINERS_PER_IDENTITY',
    );
  });

  it('layers the environment over the file and flags over both, with the source of each leaf', async () => {
    const path = file(good);
    const { config, sources } = await loadConfig({
      schema: testSchema,
      file: path,
      env: {
        FORGEONE_LIMITS__TIMEOUT_MS: '900',
        FORGEONE_MODE: 'permissive',
        FORGEONE_DB__TLS: 'false',
        FORGEONE_DB__HOSTS: '["c.example"]',
        FORGEONE_DB__REPLICA: 'null',
        FORGEONE_STATE: '/not/config', // not configuration: left alone
      },
      sets: ['mode=enforce', 'db.ratio=0.25'],
    });
    expect(config.limits.timeoutMs).toBe(900);
    expect(config.limits.memoryPages).toBe(128);
    expect(config.mode).toBe('enforce');
    expect(config.db).toMatchObject({ tls: false, hosts: ['c.example'], ratio: 0.25, replica: null });
    expect(sources.get('limits.timeoutMs')).toEqual({ kind: 'env', name: 'FORGEONE_LIMITS__TIMEOUT_MS' });
    expect(sources.get('mode')).toEqual({ kind: 'flag', flag: 'flag --set mode' });
    expect(sources.get('limits.memoryPages')).toMatchObject({ kind: 'file', line: 5 });
    expect(sources.get('log.level')).toEqual({ kind: 'default' });
  });

  it('a bad variable or flag is a code naming it, without its value', async () => {
    const result = await resolveConfig({
      schema: testSchema,
      env: {
        FORGEONE_LIMITS__TIMEOUT_MS: 'soon-ish',
        FORGEONE_LIMITS__NOPE: '1',
        FORGEONE_DB__PASSWORD: 'hunter2-env',
      },
      sets: ['limits.fuel=lots', 'nope.path=1', 'novalue'],
    });
    const lines = result.problems.map(formatConfigProblem);
    expect(lines).toEqual(
      expect.arrayContaining([
        'env FORGEONE_LIMITS__TIMEOUT_MS: FORGE_CONFIG_ENV_INVALID: limits.timeoutMs: expected a number',
        'env FORGEONE_LIMITS__NOPE: FORGE_CONFIG_ENV_UNKNOWN: names no setting',
        expect.stringMatching(/^env FORGEONE_DB__PASSWORD: FORGE_CONFIG_SECRET_LITERAL: /),
        'flag --set limits.fuel: FORGE_CONFIG_FLAG_INVALID: expected a number',
        'flag --set nope.path: FORGE_CONFIG_UNKNOWN_PATH: names no setting',
        'flag --set (malformed): FORGE_CONFIG_FLAG_INVALID: expected --set path=value',
      ]),
    );
    expect(lines.join('\n')).not.toMatch(/soon-ish|hunter2|lots/);
  });

  it('an out-of-range value from the environment names the variable', async () => {
    const result = await resolveConfig({ schema: testSchema, env: { FORGEONE_LIMITS__MEMORY_PAGES: '0' } });
    expect(result.problems[0]).toMatchObject({
      code: 'FORGE_CONFIG_INVALID',
      where: 'env FORGEONE_LIMITS__MEMORY_PAGES',
    });
  });
});
