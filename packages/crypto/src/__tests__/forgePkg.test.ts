import { describe, expect, it } from 'vitest';
import { ManualClock, MemoryStore } from '@forgeone/common';
import {
  buildPackage,
  canonicalJsonBytes,
  defaultForgePkgLimits,
  encodePackage,
  inspectPackage,
  packageCheckNames,
  parsePackage,
  recordInstalled,
  sha256Hex,
  signPackage,
  verifyPackage,
  type PackageEntry,
  type ValidationResult,
} from '../index';
import { clock, ed1, ed2, files, hybridRoot, key, ml1, NOW, signedPackage, source } from './fixtures';

const root = hybridRoot();
const verify = (bytes: Uint8Array, extra: Partial<Parameters<typeof verifyPackage>[1]> = {}) =>
  verifyPackage(bytes, { trustRoot: root, clock: clock(), ...extra });

/** Re-encodes a signed package after `edit` changed its parts, then signs it with ed1 + ml1. */
function craft(
  edit: (parts: { manifest: Record<string, unknown>; entries: PackageEntry[] }) => Uint8Array | void,
): Uint8Array {
  const parsed = parsePackage(signedPackage());
  const manifest = JSON.parse(Buffer.from(parsed.manifestBytes).toString('utf8')) as Record<string, unknown>;
  const entries = parsed.entries.map((e) => ({ name: e.name, data: Uint8Array.from(e.data) }));
  const manifestBytes = edit({ manifest, entries }) ?? canonicalJsonBytes(manifest);
  return signPackage(encodePackage({ manifestBytes, entries, signatures: [] }), [ed1(), ml1()]);
}
const hashOf = (data: Uint8Array) => ({ sha256: sha256Hex(data), size: data.length });
const failed = (r: ValidationResult) => r.checks.filter((c) => c.outcome === 'fail').map((c) => c.name);

describe('ForgePkg', () => {
  it('a hybrid-signed package verifies, and the result lists every check', async () => {
    const result = await verify(signedPackage());
    expect(result).toMatchObject({ ok: true, code: 'OK' });
    expect(result.checks.map((c) => c.name)).toEqual([...packageCheckNames]);
    expect(result.checks.find((c) => c.name === 'rollback')?.outcome).toBe('skipped');
    expect(result.signers.map((s) => s.algorithm).sort()).toEqual(['ed25519', 'ml-dsa-65']);
    expect(result.manifest?.content_hashes['main.wasm']?.size).toBe(8);
  });

  it('inspect shows the structure without judging it', () => {
    const summary = inspectPackage(signedPackage());
    expect(summary.entries).toEqual([
      { name: 'data/readme.txt', size: 12 },
      { name: 'main.wasm', size: 8 },
    ]);
    expect(summary.signatures.map((s) => s.algorithm)).toEqual(['ed25519', 'ml-dsa-65']);
    expect((summary.manifest as { name: string }).name).toBe('hello');
  });

  it('builds deterministic bytes: sorted entries, canonical manifest, defaults filled', () => {
    const a = buildPackage(source(), files());
    const b = buildPackage(source(), new Map([...files()].reverse()));
    expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
    const defaults = buildPackage({ name: 'x', version: '0.1.0', entry: 'main.wasm' }, files(), {
      clock: new ManualClock(NOW),
    });
    expect(defaults.manifest.created_at).toBe('2030-01-01T00:00:00.000Z');
    expect(defaults.manifest.expires_at).toBe('2031-01-01T00:00:00.000Z');
    expect(defaults.manifest.dependencies).toEqual({});
  });

  describe('fails closed, each failure with its own code', () => {
    const cases: Array<
      [string, () => Uint8Array | Promise<Uint8Array>, string, Partial<Parameters<typeof verifyPackage>[1]>?]
    > = [
      [
        'content hash mismatch',
        () =>
          craft(({ entries }) => {
            const data = (entries[1] as PackageEntry).data;
            data[0] = (data[0] as number) ^ 1;
          }),
        'FORGE_PKG_HASH_MISMATCH',
      ],
      ['missing content', () => craft(({ entries }) => void entries.pop()), 'FORGE_PKG_MISSING_CONTENT'],
      [
        'extra content',
        () => craft(({ entries }) => void entries.push({ name: 'extra.bin', data: Uint8Array.of(1) })),
        'FORGE_PKG_EXTRA_CONTENT',
      ],
      [
        'unknown signer',
        () => signedPackage({}, [ed1(), ml1(), key('ed25519', 'stranger')]),
        'FORGE_PKG_UNKNOWN_SIGNER',
      ],
      ['threshold not met (ed25519 only)', () => signedPackage({}, [ed1(), ed2()]), 'FORGE_PKG_THRESHOLD'],
      ['unsigned', () => buildPackage(source(), files()).bytes, 'FORGE_PKG_UNSIGNED'],
      [
        'expired',
        () => signedPackage({ created_at: '2029-01-01T00:00:00Z', expires_at: '2029-12-31T00:00:00Z' }),
        'FORGE_PKG_EXPIRED',
      ],
      [
        'not yet valid',
        () => signedPackage({ created_at: '2030-02-01T00:00:00Z', expires_at: '2031-01-01T00:00:00Z' }),
        'FORGE_PKG_NOT_YET_VALID',
      ],
      [
        'unsatisfied dependency (no store)',
        () => signedPackage({ dependencies: { libc: '^1.0.0' } }),
        'FORGE_PKG_DEPENDENCY',
      ],
      [
        'duplicate entries',
        () => craft(({ entries }) => void entries.push({ ...(entries[1] as PackageEntry) })),
        'FORGE_PKG_DUPLICATE_ENTRY',
      ],
      [
        'absolute entry name',
        () =>
          craft(({ manifest, entries }) => {
            entries.push({ name: '/etc/passwd', data: Uint8Array.of(1) });
            (manifest.content_hashes as Record<string, unknown>)['/etc/passwd'] = hashOf(Uint8Array.of(1));
          }),
        'FORGE_PKG_ENTRY_NAME',
      ],
      [
        'entry name with ..',
        () =>
          craft(({ manifest, entries }) => {
            entries.push({ name: 'lib/../../x', data: Uint8Array.of(1) });
            (manifest.content_hashes as Record<string, unknown>)['lib/../../x'] = hashOf(Uint8Array.of(1));
          }),
        'FORGE_PKG_ENTRY_NAME',
      ],
      [
        'non-canonical manifest',
        () => craft(({ manifest }) => Buffer.from(JSON.stringify(manifest, null, 1))),
        'FORGE_PKG_NON_CANONICAL',
      ],
      [
        'manifest failing its schema',
        () => craft(({ manifest }) => void (manifest.version = 'one')),
        'FORGE_PKG_MANIFEST_INVALID',
      ],
      ['truncated file', () => signedPackage().subarray(0, 100), 'FORGE_PKG_TRUNCATED'],
      ['trailing bytes', () => Buffer.concat([signedPackage(), Buffer.from([0])]), 'FORGE_PKG_TRAILING_DATA'],
      [
        'oversized file',
        () => signedPackage(),
        'FORGE_PKG_OVERSIZED',
        { limits: { ...defaultForgePkgLimits, maxTotalBytes: 1000 } },
      ],
      ['not a ForgePkg', () => Buffer.from('PK\u0003\u0004 zip file'), 'FORGE_PKG_MAGIC'],
      [
        'a future format version',
        () => {
          const b = Uint8Array.from(signedPackage());
          b[9] = 2;
          return b;
        },
        'FORGE_PKG_FORMAT_VERSION',
      ],
    ];
    it.each(cases)('%s -> %s', async (_label, make, code, extra) => {
      const result = await verify(await make(), extra);
      expect(result.ok).toBe(false);
      expect(result.code).toBe(code);
      expect(result.checks).toHaveLength(packageCheckNames.length);
    });

    it('a bad signature from a role key -> FORGE_PKG_BAD_SIGNATURE', async () => {
      const bytes = Uint8Array.from(signedPackage());
      bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 0xff; // inside the last (ml-dsa-65) signature
      expect((await verify(bytes)).code).toBe('FORGE_PKG_BAD_SIGNATURE');
    });

    it('rollback: a version lower than the installed one -> FORGE_PKG_ROLLBACK', async () => {
      const store = new MemoryStore();
      await recordInstalled(store, { name: 'hello', version: '2.0.0' });
      const result = await verify(signedPackage(), { store });
      expect(result.code).toBe('FORGE_PKG_ROLLBACK');
      expect(failed(result)).toEqual(['rollback']);
      await expect(recordInstalled(store, { name: 'hello', version: '1.0.0' })).rejects.toMatchObject({
        code: 'FORGE_PKG_ROLLBACK',
      });
      expect((await verify(signedPackage({ version: '2.0.0' }), { store })).ok).toBe(true);
    });

    it('dependencies are checked against installed versions with semver ranges', async () => {
      const store = new MemoryStore();
      const pkg = signedPackage({ dependencies: { libc: '^1.2.0' } });
      expect((await verify(pkg, { store })).code).toBe('FORGE_PKG_DEPENDENCY');
      await recordInstalled(store, { name: 'libc', version: '2.0.0' });
      expect((await verify(pkg, { store })).code).toBe('FORGE_PKG_DEPENDENCY');
      const store2 = new MemoryStore();
      await recordInstalled(store2, { name: 'libc', version: '1.4.0' });
      expect((await verify(pkg, { store: store2 })).ok).toBe(true);
    });
  });

  describe('a lying header never allocates what it claims', () => {
    const header = (manifestLength: number, entries: number) => {
      const b = Buffer.alloc(20);
      b.write('FORGEPKG', 0, 'latin1');
      b.writeUInt16BE(1, 8);
      b.writeUInt32BE(manifestLength, 12);
      b.writeUInt32BE(entries, 16);
      return b;
    };
    it('a 4 GiB manifest length is a limit error', () => {
      expect(() => parsePackage(header(0xffffffff, 0))).toThrow(
        expect.objectContaining({ code: 'FORGE_PKG_LIMIT' }),
      );
    });
    it('four billion entries is a limit error', () => {
      expect(() => parsePackage(header(2, 0xffffffff))).toThrow(
        expect.objectContaining({ code: 'FORGE_PKG_LIMIT' }),
      );
    });
    it('an entry claiming 2^63 bytes is a limit error; one claiming more than is there is truncation', () => {
      const entry = (size: bigint) => {
        const b = Buffer.alloc(2 + 1 + 8);
        b.writeUInt16BE(1, 0);
        b.write('a', 2);
        b.writeBigUInt64BE(size, 3);
        return Buffer.concat([header(2, 1), Buffer.from('{}'), b]);
      };
      expect(() => parsePackage(entry(2n ** 63n))).toThrow(
        expect.objectContaining({ code: 'FORGE_PKG_LIMIT' }),
      );
      expect(() => parsePackage(entry(1000n))).toThrow(
        expect.objectContaining({ code: 'FORGE_PKG_TRUNCATED' }),
      );
    });
    it('a manifest larger than the limit is refused before reading it', () => {
      const limits = { ...defaultForgePkgLimits, maxManifestBytes: 10 };
      expect(() => parsePackage(signedPackage(), limits)).toThrow(
        expect.objectContaining({ code: 'FORGE_PKG_LIMIT' }),
      );
    });
    it('reserved flags must be zero', () => {
      const b = Uint8Array.from(signedPackage());
      b[11] = 1;
      expect(() => parsePackage(b)).toThrow(expect.objectContaining({ code: 'FORGE_PKG_MALFORMED' }));
    });
  });

  it('re-signing with the same key replaces its signature instead of adding one', () => {
    const once = signedPackage();
    const twice = signPackage(once, [ed1()]);
    expect(parsePackage(twice).signatures).toHaveLength(2);
  });
});
