import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '@forgeone/common';
import { AuditLog, isKernelAuditEntry } from '@forgeone/trust';
import { forgeone, hasStackTrace, repoRoot, type CliRun } from './support/cli';

// `forgeone boot` through the built CLI, on roots made by the CLI itself.
const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-boot-'));
const env = { FORGEONE_PASSPHRASE: 'e2e', FORGEONE_STATE: undefined };
const run = (...args: string[]): CliRun => {
  const result = forgeone(args, { cwd: dir, env });
  expect(hasStackTrace(result.stderr + result.stdout), result.stderr).toBe(false);
  return result;
};
const errorLines = (result: CliRun) => result.stderr.trim().split('\n');
const modes = ['normal', 'recovery', 'debug', 'maintenance'] as const;
interface BootJson {
  readonly ok: boolean;
  readonly code: string;
  readonly boot?: { readonly auditSeq: number | null; readonly root: { readonly keyIds: string[] } | null };
}
const json = (result: CliRun) => JSON.parse(result.stdout) as BootJson;

/** A root of keys a and b (`need` ed25519 signatures), signed by `signers`. */
const initRoot = (out: string, signers: string[], options: { need?: number; expires?: string } = {}) => {
  const result = run(
    'root',
    'init',
    '--key',
    'a.pub',
    'b.pub',
    '--threshold',
    `ed25519=${options.need ?? 1}`,
    '--expires',
    options.expires ?? '2099-01-01T00:00:00Z',
    '--sign',
    ...signers,
    '--out',
    out,
  );
  expect(result.code, result.stderr).toBe(0);
};

/** Boot refused: one line `CODE: boot refused: ...`, exit 1, nothing on stdout. */
function expectRefused(result: CliRun, code: string): string {
  expect(result.code, result.stdout + result.stderr).toBe(1);
  expect(errorLines(result)).toHaveLength(1);
  expect(result.stdout).toBe('');
  const [line] = errorLines(result);
  expect(line).toMatch(new RegExp(`^${code}: `));
  return line!;
}

beforeAll(() => {
  for (const key of ['a', 'b']) expect(run('keygen', '--alg', 'ed25519', '--out', key).code).toBe(0);
  initRoot('good.json', ['a.key']);
  initRoot('expired.json', ['a.key'], { expires: '2020-01-01T00:00:00Z' });
  // Written with its two signatures, then one removed: below its threshold of 2.
  initRoot('both.json', ['a.key', 'b.key'], { need: 2 });
  const both = JSON.parse(readFileSync(join(dir, 'both.json'), 'utf8'));
  writeFileSync(
    join(dir, 'below.json'),
    JSON.stringify({ ...both, signatures: both.signatures.slice(0, 1) }),
  );
  const good = JSON.parse(readFileSync(join(dir, 'good.json'), 'utf8'));
  const sig: string = good.signatures[0].sig;
  const flipped = `${sig.slice(0, 10)}${sig[10] === 'a' ? 'b' : 'a'}${sig.slice(11)}`;
  writeFileSync(
    join(dir, 'tampered.json'),
    JSON.stringify({ ...good, signatures: [{ ...good.signatures[0], sig: flipped }] }),
  );
  // Key a signed the root; revoking it (signed by b) leaves the root standing on nothing.
  expect(
    run(
      'root',
      'revoke',
      'good.json',
      '--keyid',
      'a.pub',
      '--reason',
      'laptop stolen',
      '--sign',
      'b.key',
      '--out',
      'revoked.json',
    ).code,
  ).toBe(0);
  const revoked = JSON.parse(readFileSync(join(dir, 'revoked.json'), 'utf8'));
  // The same list with a changed reason: it no longer verifies, so the status is unknown.
  revoked.revocations.signed.revoked[0].reason = 'edited';
  writeFileSync(join(dir, 'bad-list.json'), JSON.stringify(revoked));
  writeFileSync(join(dir, 'garbage.json'), '{"signed": {"type": "root", ');
});

describe('forgeone boot with a good root', () => {
  for (const mode of modes) {
    it(`boots in ${mode} mode and prints the boot context`, () => {
      const result = run('boot', '--root', 'good.json', '--mode', mode);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`OK: booted in ${mode} mode`);
      expect(result.stdout).toMatch(/trust root: {2}v1 from good\.json, expires 2099-01-01T00:00:00\.000Z/);
      expect(result.stdout).toContain('revocation:  valid (no revocation list was issued)');
      expect(result.stdout).toContain('self-test:   ok (webassembly, randomness, clock, storage)');
      const data = json(run('boot', '--root', 'good.json', '--mode', mode, '--json'));
      expect(data).toMatchObject({
        ok: true,
        boot: {
          mode,
          root: { version: 1, source: 'good.json' },
          revocation: { status: 'valid' },
          selfTest: { ok: true },
          auditSeq: 1,
        },
      });
      expect(data.boot?.root?.keyIds).toHaveLength(2);
    });
  }

  it('audits the boot in --state, chained with what is there, and keeps the root version', async () => {
    expect(run('boot', '--root', 'good.json', '--state', 'state').code).toBe(0);
    const second = json(run('boot', '--root', 'good.json', '--state', 'state', '--mode', 'debug', '--json'));
    expect(second.boot?.auditSeq).toBe(2);
    const store = await SqliteStore.openReadOnly(join(dir, 'state', 'kernel.db'));
    try {
      const log = new AuditLog(store);
      expect((await log.verify()).ok).toBe(true);
      const entries = (await log.read()).map((r) => r.entry);
      expect(entries.every(isKernelAuditEntry)).toBe(true);
      expect(entries.map((e) => isKernelAuditEntry(e) && [e.kernel, e.facts['mode']])).toEqual([
        ['boot', 'normal'],
        ['boot', 'debug'],
      ]);
    } finally {
      await store.close();
    }
    expect(run('audit', 'verify', '--store', join(dir, 'state', 'kernel.db')).code).toBe(0);
  });

  it('boots without --root as a development kernel, and says so', () => {
    const result = run('boot');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('trust root:  none (no --root given)');
    expect(result.stdout).toContain('revocation:  unknown: no trust root was given');
    expect(result.stdout).toContain('state:       memory');
  });

  it('a revocation list that does not verify: boots, and says the status is unknown and why', () => {
    const result = run('boot', '--root', 'bad-list.json');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/revocation: {2}unknown: the revocation list does not verify/);
  });
});

describe('the Boot section of the core README', () => {
  it('has an example that runs', () => {
    const coreDir = join(repoRoot, 'packages', 'core');
    const section = readFileSync(join(coreDir, 'README.md'), 'utf8').split(/^## Boot\s*$/m)[1] ?? '';
    const example = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example, 'packages/core/README.md needs a ```js block under "## Boot"').toBeTruthy();
    // Inside the package, so that it imports the packages by name as a user would.
    const file = join(coreDir, `.readme-boot-${process.pid}.mjs`);
    writeFileSync(file, example!);
    try {
      const result = spawnSync(process.execPath, [file], { cwd: coreDir, encoding: 'utf8', timeout: 60_000 });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toBe('recovery 1 valid true 1\nFORGE_KERNEL_RECOVERY\n');
    } finally {
      rmSync(file, { force: true });
    }
  });
});

describe('forgeone boot refuses a bad root with one line and its code', () => {
  it('expired', () => {
    expect(expectRefused(run('boot', '--root', 'expired.json'), 'FORGE_ROOT_EXPIRED')).toContain(
      'expired at 2020-01-01',
    );
  });
  it('tampered signature', () => {
    expectRefused(run('boot', '--root', 'tampered.json'), 'FORGE_ROOT_BAD_SIGNATURE');
  });
  it('below its threshold', () => {
    expect(expectRefused(run('boot', '--root', 'below.json'), 'FORGE_ROOT_THRESHOLD')).toContain(
      'ed25519 1/2',
    );
  });
  it('revoked, with the reason', () => {
    expect(expectRefused(run('boot', '--root', 'revoked.json'), 'FORGE_BOOT_ROOT_REVOKED')).toContain(
      'revoked (laptop stolen)',
    );
  });
  it('revoked, as JSON with --json', () => {
    const result = run('boot', '--root', 'revoked.json', '--json');
    expect(result.code).toBe(1);
    expect(json(result)).toMatchObject({ ok: false, code: 'FORGE_BOOT_ROOT_REVOKED' });
  });
  it('a missing root file', () => {
    expectRefused(run('boot', '--root', 'nowhere.json'), 'FORGE_ROOT_IO');
  });
  it('a garbage root file', () => {
    expectRefused(run('boot', '--root', 'garbage.json'), 'FORGE_ROOT_INVALID');
  });
  it('a refused boot writes no audit entry into --state', () => {
    expectRefused(run('boot', '--root', 'expired.json', '--state', 'refused-state'), 'FORGE_ROOT_EXPIRED');
    const verify = run('audit', 'verify', '--store', join(dir, 'refused-state', 'kernel.db'));
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(/^FORGE_AUDIT_NOT_FOUND: /);
  });
  it('a bad --mode is a usage error (exit 2)', () => {
    const result = run('boot', '--root', 'good.json', '--mode', 'turbo');
    expect(result.code).toBe(2);
    expect(errorLines(result)).toHaveLength(1);
    expect(errorLines(result)[0]).toMatch(/^FORGE_CLI_USAGE: .*'turbo' is invalid/);
  });
});
