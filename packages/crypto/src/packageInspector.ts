import { z } from 'zod';
import { ForgeError, isForgeError, parseWith } from '@forgeone/common';
import { parseJson } from './canonicalJson';
import { defaultForgePkgLimits, packageDigest, parsePackage, type ForgePkgLimits } from './forgePkgCodec';
import { toHex } from './internal/bytes';

/** What `forgeone inspect` shows: the structure of a package, without judging its trust. */
export interface PackageSummary {
  readonly formatVersion: number;
  readonly totalBytes: number;
  /** Hex SHA-256 of header + manifest (what signatures cover). */
  readonly digest: string;
  /**
   * The manifest as JSON: an object with a string name and version, the rest as the package has it
   * (its full schema is `verify`'s to check).
   */
  readonly manifest: InspectedManifest;
  readonly entries: ReadonlyArray<{ readonly name: string; readonly size: number }>;
  readonly signatures: ReadonlyArray<{
    readonly algorithm: string;
    readonly keyId: string;
    readonly bytes: number;
  }>;
}

/**
 * What inspect needs of a manifest to show it: a JSON object naming the package. Looser than
 * PackageManifestSchema on purpose, so inspect can show packages that would never verify.
 */
const InspectedManifestSchema = z.looseObject({
  name: z.string().max(1024),
  version: z.string().max(1024),
});

/** A manifest as inspect shows it. */
export type InspectedManifest = z.infer<typeof InspectedManifestSchema>;

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
    manifest: readManifest(parsed.manifestBytes, limits.maxManifestBytes),
    entries: parsed.entries.map((e) => ({ name: e.name, size: e.data.length })),
    signatures: parsed.signatures.map((s) => ({
      algorithm: s.algorithm,
      keyId: s.keyId,
      bytes: s.signature.length,
    })),
  };
}

/** The manifest section as inspect shows it, or FORGE_PKG_MANIFEST_INVALID saying why not. */
function readManifest(bytes: Uint8Array, maxBytes: number): InspectedManifest {
  let json: unknown;
  try {
    json = parseJson(bytes, maxBytes, 'the manifest');
  } catch (error) {
    const why = isForgeError(error) ? error.message : String(error);
    throw new ForgeError('FORGE_PKG_MANIFEST_INVALID', why, { cause: error });
  }
  return parseWith(
    InspectedManifestSchema,
    json,
    'package manifest (it must be a JSON object naming the package)',
    'FORGE_PKG_MANIFEST_INVALID',
  );
}
