import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, type CliRun } from '../support/cli';

// Root rotation, expiry and revocation through the built CLI.
const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-root-'));
const env = { FORGEONE_PASSPHRASE: 'e2e', FORGEONE_STATE: undefined };
const run = (...args: string[]): CliRun => {
  const result = forgeone(args, { cwd: dir, env });
  expect(hasStackTrace(result.stderr + result.stdout), result.stderr).toBe(false);
  return result;
};
const line = (result: CliRun) => result.stderr.trim().split('\n')[0] ?? '';
const hybrid = ['--threshold', 'ed25519=1', 'ml-dsa-65=1'];

/** `root init` with `keys` (public), signed by ed1 + ml1. */
const initRoot = (out: string, keys: string[], expires = '2099-01-01T00:00:00Z') =>
  run(
    'root',
    'init',
    '--key',
    ...keys,
    ...hybrid,
    '--expires',
    expires,
    '--sign',
    'ed1.key',
    'ml1.key',
    '--out',
    out,
  );

/** `rotate <from>` to ed2 + ml2, signed by `signers`. */
const rotate = (out: string, signers: string[]) =>
  run(
    'root',
    'rotate',
    '1.root.json',
    '--key',
    'ed2.pub',
    'ml2.pub',
    ...hybrid,
    '--expires',
    '2099-01-01T00:00:00Z',
    '--sign',
    ...signers,
    '--out',
    out,
  );

/** An unsigned package `<name>.forgepkg`. */
function pack(name: string): string {
  mkdirSync(join(dir, name));
  writeFileSync(
    join(dir, name, 'forgepkg.json'),
    JSON.stringify({ name, version: '1.0.0', entry: 'main.wasm' }),
  );
  writeFileSync(join(dir, name, 'main.wasm'), Uint8Array.of(0, 0x61, 0x73, 0x6d));
  expect(run('pack', name, '--out', `${name}.forgepkg`).code).toBe(0);
  return `${name}.forgepkg`;
}

beforeAll(() => {
  for (const [out, alg] of <Array<[string, string]>>[
    ['ed1', 'ed25519'],
    ['ml1', 'ml-dsa-65'],
    ['ed2', 'ed25519'],
    ['ml2', 'ml-dsa-65'],
    ['edx', 'ed25519'],
  ]) {
    expect(run('keygen', '--alg', alg, '--out', out).code).toBe(0);
  }
  expect(initRoot('1.root.json', ['ed1.pub', 'ml1.pub', 'edx.pub']).code).toBe(0);
}, 300_000);

describe('trust root through the built CLI', () => {
  it('honours a rotated root chain: packages signed by the new keys verify with --root v1 --root v2', () => {
    expect(rotate('2.root.json', ['ed1.key', 'ml1.key', 'ed2.key', 'ml2.key']).code).toBe(0);
    const app = pack('app');
    expect(run('sign', app, '--key', 'ed2.key', '--key', 'ml2.key').code).toBe(0);
    expect(run('verify', app, '--root', '1.root.json', '--root', '2.root.json').code).toBe(0);
    // The old root alone does not know the new keys.
    expect(line(run('verify', app, '--root', '1.root.json'))).toMatch(/^FORGE_PKG_UNKNOWN_SIGNER: /);
    // A chain out of order is a rollback.
    expect(line(run('verify', app, '--root', '2.root.json', '--root', '1.root.json'))).toMatch(
      /^FORGE_ROOT_ROLLBACK: /,
    );
  }, 120_000);

  it('refuses a rotation not approved by the old root keys', () => {
    const result = rotate('bad.root.json', ['ed2.key', 'ml2.key']);
    expect(result.code).toBe(1);
    expect(line(result)).toMatch(/^FORGE_ROOT_THRESHOLD: /);
  }, 120_000);

  it('refuses an expired root', () => {
    const old = initRoot('old.root.json', ['ed1.pub', 'ml1.pub'], '2001-01-01T00:00:00Z');
    expect(old.code).toBe(0);
    expect(old.stderr).toMatch(/already expired/);
    const app = pack('expiring');
    expect(run('sign', app, '--key', 'ed1.key', '--key', 'ml1.key').code).toBe(0);
    const result = run('verify', app, '--root', 'old.root.json');
    expect(result.code).toBe(1);
    expect(line(result)).toMatch(/^FORGE_ROOT_EXPIRED: /);
  }, 120_000);

  it('a revoked key never counts', () => {
    expect(initRoot('r.root.json', ['ed1.pub', 'ml1.pub', 'edx.pub']).code).toBe(0);
    const app = pack('revocable');
    expect(run('sign', app, '--key', 'edx.key', '--key', 'ml1.key').code).toBe(0);
    expect(run('verify', app, '--root', 'r.root.json').code).toBe(0);
    expect(
      run('root', 'revoke', 'r.root.json', '--keyid', 'edx.pub', '--sign', 'ed1.key', 'ml1.key').code,
    ).toBe(0);
    const result = run('verify', app, '--root', 'r.root.json', '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, code: 'FORGE_PKG_KEY_REVOKED' });
  }, 120_000);

  it('a wrong passphrase is a clear coded error', () => {
    const result = forgeone(['sign', pack('locked'), '--key', 'ed1.key'], {
      cwd: dir,
      env: { FORGEONE_PASSPHRASE: 'not it' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^FORGE_KEY_PASSPHRASE: wrong passphrase/);
  }, 120_000);
});
