import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, type CliRun } from '../support/cli';

// Root rotation, expiry and revocation through the built CLI.
const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-root-'));
const env = { FORGEONE_PASSPHRASE: 'e2e', FORGEONE_STATE: '' };
const run = (...args: string[]): CliRun => {
  const result = forgeone(args, { cwd: dir, env });
  expect(hasStackTrace(result.stderr + result.stdout), result.stderr).toBe(false);
  return result;
};
const line = (result: CliRun) => result.stderr.trim().split('\n')[0] ?? '';
const hybrid = ['--threshold', 'ed25519=1', 'ml-dsa-65=1'];

beforeAll(() => {
  for (const [out, alg] of [['ed1', 'ed25519'], ['ml1', 'ml-dsa-65'], ['ed2', 'ed25519'], ['ml2', 'ml-dsa-65'], ['edx', 'ed25519']]) {
    expect(run('keygen', '--alg', alg, '--out', out).code).toBe(0);
  }
  expect(run('root', 'init', '--key', 'ed1.pub', 'ml1.pub', 'edx.pub', ...hybrid, '--expires', '2099-01-01T00:00:00Z', '--sign', 'ed1.key', 'ml1.key', '--out', '1.root.json').code).toBe(0);
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'forgepkg.json'), JSON.stringify({ name: 'app', version: '1.0.0', entry: 'main.wasm' }));
  writeFileSync(join(dir, 'src', 'main.wasm'), Uint8Array.of(0, 0x61, 0x73, 0x6d));
  expect(run('pack', 'src', '--out', 'app.forgepkg').code).toBe(0);
});

describe('trust root through the built CLI', () => {
  it('honours a rotated root chain: packages signed by the new keys verify with --root v1 --root v2', () => {
    const rotate = run('root', 'rotate', '1.root.json', '--key', 'ed2.pub', 'ml2.pub', ...hybrid, '--expires', '2099-01-01T00:00:00Z',
      '--sign', 'ed1.key', 'ml1.key', 'ed2.key', 'ml2.key', '--out', '2.root.json');
    expect(rotate.code).toBe(0);
    expect(run('sign', 'app.forgepkg', '--key', 'ed2.key', '--key', 'ml2.key').code).toBe(0);
    expect(run('verify', 'app.forgepkg', '--root', '1.root.json', '--root', '2.root.json').code).toBe(0);
    // The old root alone does not know the new keys.
    expect(line(run('verify', 'app.forgepkg', '--root', '1.root.json'))).toMatch(/^FORGE_PKG_UNKNOWN_SIGNER: /);
    // A chain out of order is a rollback.
    expect(line(run('verify', 'app.forgepkg', '--root', '2.root.json', '--root', '1.root.json'))).toMatch(/^FORGE_ROOT_ROLLBACK: /);
  });

  it('refuses a rotation not approved by the old root keys', () => {
    const result = run('root', 'rotate', '1.root.json', '--key', 'ed2.pub', 'ml2.pub', ...hybrid, '--expires', '2099-01-01T00:00:00Z', '--sign', 'ed2.key', 'ml2.key', '--out', 'bad.root.json');
    expect(result.code).toBe(1);
    expect(line(result)).toMatch(/^FORGE_ROOT_THRESHOLD: /);
  });

  it('refuses an expired root', () => {
    expect(run('root', 'init', '--key', 'ed1.pub', 'ml1.pub', ...hybrid, '--expires', '2001-01-01T00:00:00Z', '--sign', 'ed1.key', 'ml1.key', '--out', 'old.root.json').code).toBe(0);
    const result = run('verify', 'app.forgepkg', '--root', 'old.root.json');
    expect(result.code).toBe(1);
    expect(line(result)).toMatch(/^FORGE_ROOT_EXPIRED: /);
  });

  it('a revoked key never counts', () => {
    expect(run('root', 'init', '--key', 'ed1.pub', 'ml1.pub', 'edx.pub', ...hybrid, '--expires', '2099-01-01T00:00:00Z', '--sign', 'ed1.key', 'ml1.key', '--out', 'r.root.json').code).toBe(0);
    mkdirSync(join(dir, 'src2'));
    writeFileSync(join(dir, 'src2', 'forgepkg.json'), JSON.stringify({ name: 'app2', version: '1.0.0', entry: 'main.wasm' }));
    writeFileSync(join(dir, 'src2', 'main.wasm'), Uint8Array.of(0, 0x61, 0x73, 0x6d));
    expect(run('pack', 'src2', '--out', 'app2.forgepkg').code).toBe(0);
    expect(run('sign', 'app2.forgepkg', '--key', 'edx.key', '--key', 'ml1.key').code).toBe(0);
    expect(run('verify', 'app2.forgepkg', '--root', 'r.root.json').code).toBe(0);
    expect(run('root', 'revoke', 'r.root.json', '--keyid', 'edx.pub', '--sign', 'ed1.key', 'ml1.key').code).toBe(0);
    const result = run('verify', 'app2.forgepkg', '--root', 'r.root.json', '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, code: 'FORGE_PKG_KEY_REVOKED' });
  });

  it('a wrong passphrase is a clear coded error', () => {
    const result = forgeone(['sign', 'app.forgepkg', '--key', 'ed1.key'], { cwd: dir, env: { FORGEONE_PASSPHRASE: 'not it' } });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^FORGE_KEY_PASSPHRASE: wrong passphrase/);
  });
});
