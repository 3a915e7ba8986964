import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isForgeError } from '@forgeone/common';
import {
  buildPackage,
  decodePrivateKeyFile,
  decodePublicKeyFile,
  encodePackage,
  FORGEPKG_MAGIC,
  importPrivateKey,
  importPublicKey,
  inspectPackage,
  parseJson,
  parsePackage,
  parseRootDocument,
  signPackage,
  verifyPackage,
  verifyRootChain,
} from '../index';
import { clock, ed1, hybridRoot, ml1, signedPackage } from './fixtures';

const root = hybridRoot();
const pkg = signedPackage();

function onlyForgeErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!isForgeError(error)) throw new Error(`threw a non-ForgeError: ${String(error)}`, { cause: error });
  }
}

describe('property: a tampered package never verifies', () => {
  it('flipping any bit of any byte outside the ML-DSA signature fails verification (exhaustive)', async () => {
    const parsed = parsePackage(pkg);
    const mlSig = parsed.signatures.find((s) => s.algorithm === 'ml-dsa-65');
    const mlStart = (mlSig?.signature.byteOffset ?? 0) - pkg.byteOffset;
    const verified: number[] = [];
    for (let i = 0; i < pkg.length; i++) {
      if (i >= mlStart + 64 && i < pkg.length) continue; // sampled below
      const bytes = Uint8Array.from(pkg);
      bytes[i] = (bytes[i] as number) ^ (1 << (i % 8));
      if ((await verifyPackage(bytes, { trustRoot: root, clock: clock() })).ok) verified.push(i);
    }
    expect(verified).toEqual([]);
  });

  it('changing any single byte to any other value fails verification (random)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: pkg.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (index, xor) => {
          const bytes = Uint8Array.from(pkg);
          bytes[index] = (bytes[index] as number) ^ xor;
          const result = await verifyPackage(bytes, { trustRoot: root, clock: clock() });
          expect(result.ok).toBe(false);
          expect(result.code).toMatch(/^FORGE_/);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('property: pack, sign and verify round-trip for random content trees', () => {
  const segment = fc.stringMatching(/^[a-z0-9_-][a-z0-9._-]{0,11}$/).filter((s) => s !== '.' && s !== '..');
  const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
  const tree = fc.dictionary(path, fc.uint8Array({ maxLength: 2048 }), { minKeys: 1, maxKeys: 12 });
  it('any tree of safe relative paths round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(tree, fc.constantFrom('0.0.1', '1.2.3', '10.0.0-beta.1'), async (record, version) => {
        const names = Object.keys(record);
        // A file and a directory of the same name cannot coexist in a real tree, but a package allows it.
        const files = new Map(Object.entries(record));
        const { bytes } = buildPackage(
          {
            name: 'random',
            version,
            entry: names[0],
            created_at: '2029-01-01T00:00:00Z',
            expires_at: '2031-01-01T00:00:00Z',
          },
          files,
        );
        const signed = signPackage(bytes, [ed1(), ml1()]);
        const result = await verifyPackage(signed, { trustRoot: root, clock: clock() });
        expect(result.code).toBe('OK');
        const parsed = parsePackage(signed);
        expect(new Map(parsed.entries.map((e) => [e.name, Buffer.from(e.data).toString('hex')]))).toEqual(
          new Map([...files].map(([n, d]) => [n, Buffer.from(d).toString('hex')])),
        );
      }),
      { numRuns: 25 },
    );
  });
});

describe('property: parsers fed random bytes throw nothing but ForgeError', () => {
  const magicPrefixed = fc
    .uint8Array({ maxLength: 512 })
    .map((tail) => Uint8Array.from([...FORGEPKG_MAGIC, 0, 1, 0, 0, ...tail]));
  const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 512 }), magicPrefixed);
  const mutated = fc
    .tuple(fc.nat({ max: pkg.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 8 }))
    .map(([at, junk]) => {
      const bytes = Uint8Array.from(pkg);
      bytes.set(junk.subarray(0, pkg.length - at), at);
      return bytes;
    })
    // Junk equal to the bytes it overwrites (zeros over zeros, often) leaves the package intact.
    .filter((bytes) => bytes.some((byte, i) => byte !== pkg[i]));

  it('package parsers and the verifier', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBytes, mutated), async (bytes) => {
        onlyForgeErrors(() => parsePackage(bytes));
        onlyForgeErrors(() => inspectPackage(bytes));
        const result = await verifyPackage(bytes, { trustRoot: root, clock: clock() });
        expect(result.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('inspect: any JSON manifest gives a manifest naming the package, or FORGE_PKG_MANIFEST_INVALID', () => {
    const manifests = fc.oneof(
      fc.jsonValue(),
      fc.record({ name: fc.jsonValue(), version: fc.jsonValue() }, { requiredKeys: [] }),
      fc.record({ name: fc.string(), version: fc.string() }),
    );
    fc.assert(
      fc.property(manifests, (manifest) => {
        const bytes = encodePackage({
          manifestBytes: Buffer.from(JSON.stringify(manifest) ?? 'null'),
          entries: [],
          signatures: [],
        });
        try {
          const summary = inspectPackage(bytes);
          expect(typeof summary.manifest.name).toBe('string');
          expect(typeof summary.manifest.version).toBe('string');
        } catch (error) {
          expect(isForgeError(error) && error.code).toBe('FORGE_PKG_MANIFEST_INVALID');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('key, JSON and root parsers', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 256 }),
          fc.string({ maxLength: 256 }).map((s) => Buffer.from(s)),
        ),
        (bytes) => {
          onlyForgeErrors(() => decodePrivateKeyFile(bytes, 'pw'));
          onlyForgeErrors(() => decodePublicKeyFile(bytes));
          onlyForgeErrors(() => importPublicKey({ format: 'spki', der: bytes }));
          onlyForgeErrors(() => importPrivateKey({ format: 'pkcs8', der: bytes }));
          onlyForgeErrors(() =>
            importPublicKey({ format: 'pem', pem: Buffer.from(bytes).toString('latin1') }),
          );
          onlyForgeErrors(() => parseJson(bytes, 1024));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('root documents made of random JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        onlyForgeErrors(() => parseRootDocument(value));
        onlyForgeErrors(() => verifyRootChain([value], { clock: clock() }));
        onlyForgeErrors(() => parseRootDocument({ signed: value, signatures: [] }));
      }),
      { numRuns: 300 },
    );
  });
});
