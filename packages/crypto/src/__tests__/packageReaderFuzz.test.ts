import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isForgeError } from '@forgeone/common';
import {
  buildPackage,
  canonicalJson,
  encodePackage,
  inspectPackage,
  parsePackage,
  signPackage,
  verifyPackage,
} from '../index';
import { clock, ed1, files, hybridRoot, ml1, signedPackage, source } from './fixtures';

const root = hybridRoot();
const pkg = signedPackage();
const parsed = parsePackage(pkg);
const manifest = JSON.parse(Buffer.from(parsed.manifestBytes).toString('utf8')) as Record<string, unknown>;

/** The reader's contract: a value, or a ForgeError with a FORGE_* code (never a TypeError, never FORGE_INTERNAL). */
function valueOrCode<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    expect(isForgeError(error), `threw ${String(error)}`).toBe(true);
    expect((error as { code: string }).code).toMatch(/^FORGE_(?!INTERNAL$)[A-Z0-9_]+$/);
    return undefined;
  }
}

/** The package with its manifest bytes replaced (entries and signatures kept). */
const withManifest = (manifestBytes: Uint8Array) =>
  encodePackage({ manifestBytes, entries: parsed.entries, signatures: parsed.signatures });

/** Manifest values a reader trips on: null, scalars, arrays, and the manifest with a field of another type. */
const oddJson = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1.5, '', 'hello', [], {}, [manifest]),
  fc.jsonValue({ maxDepth: 3 }),
);
const mutatedManifest = fc
  .tuple(fc.constantFrom(...Object.keys(manifest), 'extra'), oddJson, fc.boolean())
  .map(([field, value, drop]) => {
    const copy: Record<string, unknown> = { ...manifest };
    if (drop) delete copy[field];
    else copy[field] = value;
    return copy;
  });
const manifestBytes = fc.oneof(
  oddJson.map((value) => Buffer.from(canonicalJson(value as never))),
  mutatedManifest.map((value) => Buffer.from(canonicalJson(value as never))),
  // Not canonical, or not JSON at all.
  mutatedManifest.map((value) => Buffer.from(JSON.stringify(value, null, 1))),
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom('null', 'nul', '{"name":', '\uFEFF{}', '{"a":1,"a":2}').map((t) => Buffer.from(t)),
);

describe('package reader fuzz (property)', () => {
  it('reads the package it mutates', () => {
    expect(inspectPackage(pkg).manifest).toMatchObject({ name: 'hello' });
  });

  it('refuses a manifest that is null or not an object (inspect crashed on it: FORGE_INTERNAL)', () => {
    for (const text of ['null', 'false', '[]', '"hello"', '7']) {
      expect(() => inspectPackage(withManifest(Buffer.from(text)))).toThrow(
        expect.objectContaining({
          code: 'FORGE_PKG_MANIFEST_INVALID',
          message: expect.stringMatching(/JSON object/),
        }),
      );
    }
  });

  it('any manifest (null, wrong types, garbage) in a well-framed package: a value or a FORGE_* code', async () => {
    await fc.assert(
      fc.asyncProperty(manifestBytes, async (bytes) => {
        const file = withManifest(bytes);
        valueOrCode(() => parsePackage(file));
        const summary = valueOrCode(() => inspectPackage(file));
        // What inspect returns is what it promises: a manifest that is a JSON object to show.
        if (summary !== undefined) {
          expect(
            typeof summary.manifest === 'object' &&
              summary.manifest !== null &&
              !Array.isArray(summary.manifest),
          ).toBe(true);
        }
        const result = await verifyPackage(file, { trustRoot: root, clock: clock() }).catch(
          (error: unknown) => {
            expect(isForgeError(error), `verify threw ${String(error)}`).toBe(true);
            return undefined;
          },
        );
        if (
          result !== undefined &&
          Buffer.compare(Buffer.from(bytes), Buffer.from(parsed.manifestBytes)) !== 0
        ) {
          expect(result.ok).toBe(false);
        }
      }),
      { numRuns: 250 },
    );
  });

  it('a package built and signed from a manifest with a mutated field verifies or is refused with a code', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedManifest, async (fields) => {
        const built = valueOrCode(() => buildPackage(source(fields) as never, files()));
        if (built === undefined) return;
        const file = signPackage(built.bytes, [ed1(), ml1()]);
        expect(valueOrCode(() => inspectPackage(file))).toBeDefined();
        const result = await verifyPackage(file, { trustRoot: root, clock: clock() });
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 60 },
    );
  });

  it('arbitrary bytes and bytes cut or spliced from a valid package: a value or a FORGE_* code', () => {
    const spliced = fc
      .tuple(fc.nat({ max: pkg.length }), fc.nat({ max: pkg.length }), fc.uint8Array({ maxLength: 32 }))
      .map(([a, b, junk]) =>
        Uint8Array.from([...pkg.subarray(0, Math.min(a, b)), ...junk, ...pkg.subarray(Math.max(a, b))]),
      );
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), spliced), (bytes) => {
        valueOrCode(() => parsePackage(bytes));
        const summary = valueOrCode(() => inspectPackage(bytes));
        if (summary !== undefined) expect(summary.manifest).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
