import { z } from 'zod';
import { parseWith } from '@forgeone/common';
import { parseJson } from './canonicalJson';
import { defaultForgePkgLimits, packageDigest, parsePackage, type ForgePkgLimits } from './forgePkgCodec';
import { toHex } from './internal/bytes';

/** What `forgeone inspect` shows: the structure of a package, without judging its trust. */
export interface PackageSummary {
  readonly formatVersion: number;
  readonly totalBytes: number;
  /** Hex SHA-256 of header + manifest (what signatures cover). */
  readonly digest: string;
  /** The manifest: a JSON object, shown as it is (not schema-checked; `verify` does that). */
  readonly manifest: Readonly<Record<string, unknown>>;
  readonly entries: ReadonlyArray<{ readonly name: string; readonly size: number }>;
  readonly signatures: ReadonlyArray<{
    readonly algorithm: string;
    readonly keyId: string;
    readonly bytes: number;
  }>;
}

/**
 * A manifest is a JSON object, whatever else is wrong with it: anything else (null, a number, an
 * array) is refused here, so that no reader of a summary trips over it.
 */
const ManifestObject = z.record(z.string(), z.unknown());

/** Parses a package's structure and manifest for display. Throws FORGE_PKG_* on a malformed file. */
export function inspectPackage(
  bytes: Uint8Array,
  limits: ForgePkgLimits = defaultForgePkgLimits,
): PackageSummary {
  const parsed = parsePackage(bytes, limits);
  return {
    formatVersion: parsed.formatVersion,
    totalBytes: parsed.totalBytes,
    digest: toHex(packageDigest(parsed)),
    manifest: parseWith(
      ManifestObject,
      parseJson(parsed.manifestBytes, limits.maxManifestBytes, 'the manifest'),
      'manifest (it must be a JSON object)',
      'FORGE_PKG_MANIFEST_INVALID',
    ),
    entries: parsed.entries.map((e) => ({ name: e.name, size: e.data.length })),
    signatures: parsed.signatures.map((s) => ({
      algorithm: s.algorithm,
      keyId: s.keyId,
      bytes: s.signature.length,
    })),
  };
}
