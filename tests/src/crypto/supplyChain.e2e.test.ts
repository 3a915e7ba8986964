import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalJsonBytes,
  encodePackage,
  parsePackage,
  sha256Hex,
  type PackageEntry,
} from '@forgeone/crypto';
import { forgeone, hasStackTrace, type CliRun } from '../support/cli';

// The CLI contract of issue 3, exercised through the built binary as a user (or an outside test) would.
const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-supply-'));
const env = { FORGEONE_PASSPHRASE: 'e2e passphrase', FORGEONE_STATE: undefined };
const run = (...args: string[]): CliRun => {
  const result = forgeone(args, { cwd: dir, env });
  expect(hasStackTrace(result.stderr + result.stdout), result.stderr).toBe(false);
  return result;
};
/** Exit code and first stderr line of `verify`. */
const verify = (file: string, ...extra: string[]) => {
  const result = run('verify', file, '--root', 'root.json', ...extra);
  return { code: result.code, line: result.stderr.trim().split('\n')[0] ?? '', stdout: result.stdout };
};

function writeSource(name: string, manifest: Record<string, unknown>): string {
  const src = join(dir, name);
  mkdirSync(join(src, 'lib'), { recursive: true });
  writeFileSync(
    join(src, 'forgepkg.json'),
    JSON.stringify({ name: 'hello', version: '1.0.0', entry: 'main.wasm', ...manifest }),
  );
  writeFileSync(join(src, 'main.wasm'), Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
  writeFileSync(join(src, 'lib', 'data.txt'), 'forge data');
  return name;
}

/** pack + hybrid sign through the CLI. */
function packAndSign(
  name: string,
  manifest: Record<string, unknown> = {},
  keys: string[] = ['ed.key', 'mldsa65.key'],
): string {
  const file = `${name}.forgepkg`;
  expect(run('pack', writeSource(name, manifest), '--out', file).code).toBe(0);
  expect(run('sign', file, ...keys.flatMap((k) => ['--key', k])).code).toBe(0);
  return file;
}

/** Rewrites a package's parts with the library and re-signs it through the CLI. */
function craft(
  name: string,
  edit: (parts: { manifest: Record<string, unknown>; entries: PackageEntry[] }) => Uint8Array | void,
): string {
  const parsed = parsePackage(readFileSync(join(dir, packAndSign(name))));
  const manifest = JSON.parse(Buffer.from(parsed.manifestBytes).toString()) as Record<string, unknown>;
  const entries = parsed.entries.map((e) => ({ name: e.name, data: Uint8Array.from(e.data) }));
  const manifestBytes = edit({ manifest, entries }) ?? canonicalJsonBytes(manifest);
  const file = `${name}.crafted.forgepkg`;
  writeFileSync(join(dir, file), encodePackage({ manifestBytes, entries, signatures: [] }));
  expect(run('sign', file, '--key', 'ed.key', '--key', 'mldsa65.key').code).toBe(0);
  return file;
}

beforeAll(() => {
  for (const [out, alg] of <Array<[string, string]>>[
    ['ed', 'ed25519'],
    ['ed2', 'ed25519'],
    ['mldsa65', 'ml-dsa-65'],
    ['mldsa44', 'ml-dsa-44'],
    ['slh', 'slh-dsa-sha2-128f'],
    ['stranger', 'ed25519'],
  ]) {
    const result = run('keygen', '--alg', alg, '--out', out);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
  }
  const root = run(
    'root',
    'init',
    '--key',
    'ed.pub',
    'ed2.pub',
    'mldsa65.pub',
    'mldsa44.pub',
    'slh.pub',
    '--threshold',
    'ed25519=1',
    '--threshold',
    'ml-dsa-65=1',
    '--expires',
    '2099-01-01T00:00:00Z',
    '--sign',
    'ed.key',
    '--sign',
    'mldsa65.key',
    '--out',
    'root.json',
  );
  expect(root.stderr).toBe('');
  expect(root.code).toBe(0);
}, 300_000);

describe('forgeone supply chain (built CLI)', () => {
  it('keygen without a passphrase stores the key unencrypted, with a warning', () => {
    const result = forgeone(['keygen', '--alg', 'ed25519', '--out', 'plain'], {
      cwd: dir,
      env: { FORGEONE_PASSPHRASE: undefined },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/UNENCRYPTED/);
  }, 60_000);

  it('a valid hybrid-signed package verifies (exit 0); inspect shows it', () => {
    const file = packAndSign('valid', {}, ['ed.key', 'mldsa65.key', 'slh.key']);
    const result = verify(file);
    expect(result).toMatchObject({ code: 0, line: '' });
    expect(result.stdout).toMatch(/^OK: hello@1\.0\.0 is valid/);
    const json = JSON.parse(run('verify', file, '--root', 'root.json', '--json').stdout) as {
      ok: boolean;
      code: string;
      checks: unknown[];
    };
    expect(json).toMatchObject({ ok: true, code: 'OK' });
    expect(json.checks.length).toBeGreaterThanOrEqual(12);
    const inspect = JSON.parse(run('inspect', file, '--json').stdout) as {
      signatures: Array<{ algorithm: string }>;
    };
    expect(inspect.signatures.map((s) => s.algorithm)).toEqual(['ed25519', 'ml-dsa-65', 'slh-dsa-sha2-128f']);
  }, 120_000);

  describe('each failure of item 5 is refused with its own code', () => {
    const cases: Array<[string, () => string, string]> = [
      [
        'content hash mismatch',
        () =>
          craft('hash', ({ entries }) => {
            const d = (entries[0] as PackageEntry).data;
            d[0] = (d[0] as number) ^ 1;
          }),
        'FORGE_PKG_HASH_MISMATCH',
      ],
      [
        'missing content',
        () => craft('missing', ({ entries }) => void entries.pop()),
        'FORGE_PKG_MISSING_CONTENT',
      ],
      [
        'extra content',
        () =>
          craft('extra', ({ entries }) => void entries.push({ name: 'extra.bin', data: Uint8Array.of(1) })),
        'FORGE_PKG_EXTRA_CONTENT',
      ],
      [
        'unknown signer',
        () => packAndSign('unknown', {}, ['ed.key', 'mldsa65.key', 'stranger.key']),
        'FORGE_PKG_UNKNOWN_SIGNER',
      ],
      [
        'threshold not met (no ml-dsa-65)',
        () => packAndSign('threshold', {}, ['ed.key', 'mldsa44.key']),
        'FORGE_PKG_THRESHOLD',
      ],
      [
        'expired package',
        () =>
          packAndSign('expired', { created_at: '2020-01-01T00:00:00Z', expires_at: '2021-01-01T00:00:00Z' }),
        'FORGE_PKG_EXPIRED',
      ],
      [
        'not yet valid',
        () =>
          packAndSign('future', { created_at: '2098-01-01T00:00:00Z', expires_at: '2099-01-01T00:00:00Z' }),
        'FORGE_PKG_NOT_YET_VALID',
      ],
      [
        'unsatisfied dependency',
        () => packAndSign('deps', { name: 'plugin', dependencies: { 'not-installed': '^1.0.0' } }),
        'FORGE_PKG_DEPENDENCY',
      ],
      [
        'truncated file',
        () => {
          const f = packAndSign('truncated');
          writeFileSync(join(dir, f), readFileSync(join(dir, f)).subarray(0, 200));
          return f;
        },
        'FORGE_PKG_TRUNCATED',
      ],
      [
        'oversized file (bytes past its structure)',
        () => {
          const f = packAndSign('long');
          writeFileSync(join(dir, f), Buffer.concat([readFileSync(join(dir, f)), Buffer.alloc(64)]));
          return f;
        },
        'FORGE_PKG_TRAILING_DATA',
      ],
      [
        'duplicate entries',
        () => craft('dup', ({ entries }) => void entries.push({ ...(entries[0] as PackageEntry) })),
        'FORGE_PKG_DUPLICATE_ENTRY',
      ],
      [
        'absolute entry name',
        () =>
          craft('abs', ({ manifest, entries }) => {
            entries.push({ name: '/etc/passwd', data: Uint8Array.of(1) });
            (manifest.content_hashes as Record<string, unknown>)['/etc/passwd'] = {
              sha256: sha256Hex(Uint8Array.of(1)),
              size: 1,
            };
          }),
        'FORGE_PKG_ENTRY_NAME',
      ],
      [
        'entry name with ..',
        () =>
          craft('dotdot', ({ manifest, entries }) => {
            entries.push({ name: '../evil', data: Uint8Array.of(1) });
            (manifest.content_hashes as Record<string, unknown>)['../evil'] = {
              sha256: sha256Hex(Uint8Array.of(1)),
              size: 1,
            };
          }),
        'FORGE_PKG_ENTRY_NAME',
      ],
      [
        'non-canonical manifest',
        () => craft('noncanon', ({ manifest }) => Buffer.from(JSON.stringify(manifest, null, 2))),
        'FORGE_PKG_NON_CANONICAL',
      ],
      [
        'a signature altered after signing',
        () => {
          const f = packAndSign('badsig');
          const b = readFileSync(join(dir, f));
          b[b.length - 3] = (b[b.length - 3] as number) ^ 0x40;
          writeFileSync(join(dir, f), b);
          return f;
        },
        'FORGE_PKG_BAD_SIGNATURE',
      ],
      [
        'unsigned',
        () => {
          expect(run('pack', writeSource('unsigned', {}), '--out', 'unsigned.forgepkg').code).toBe(0);
          return 'unsigned.forgepkg';
        },
        'FORGE_PKG_UNSIGNED',
      ],
    ];
    it.each(cases.map(([label, make, code]) => [`${label} -> ${code}`, make, code] as const))(
      '%s',
      (_title, make, code) => {
        const file = make();
        const result = verify(file);
        expect(result.code).toBe(1);
        expect(result.line).toMatch(new RegExp(`^${code}: `));
        const json = JSON.parse(run('verify', file, '--root', 'root.json', '--json').stdout) as {
          ok: boolean;
          code: string;
          checks: unknown[];
        };
        expect(json).toMatchObject({ ok: false, code });
        expect(json.checks.length).toBeGreaterThanOrEqual(12);
      },
      120_000,
    );

    it('a version lower than the installed one -> FORGE_PKG_ROLLBACK (state via --state, --install)', () => {
      const v2 = packAndSign('v2', { version: '2.0.0' });
      const v1 = packAndSign('v1', { version: '1.5.0' });
      expect(verify(v2, '--state', 'state.sqlite', '--install').code).toBe(0);
      const result = verify(v1, '--state', 'state.sqlite');
      expect(result.code).toBe(1);
      expect(result.line).toMatch(/^FORGE_PKG_ROLLBACK: /);
      // A dependency on the installed version is now satisfied.
      expect(
        verify(
          packAndSign('dependent', { name: 'plugin', dependencies: { hello: '^2.0.0' } }),
          '--state',
          'state.sqlite',
        ).code,
      ).toBe(0);
    }, 120_000);
  });
});
