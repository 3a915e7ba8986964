import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ForgeError, parseWith, systemClock, type Clock } from '@forgeone/common';
import { canonicalJsonBytes, parseJson } from './canonicalJson';
import {
  defaultForgePkgLimits,
  encodePackage,
  packageDigest,
  packageSigningMessage,
  parsePackage,
  withSignatureBlock,
  type ForgePkgLimits,
  type PackageEntry,
  type PackageSignature,
} from './forgePkgCodec';
import { sha256Hex } from './hash';
import type { PrivateKey } from './keys';
import {
  PackageManifestSchema,
  PackageSourceSchema,
  type ContentHash,
  type PackageManifest,
} from './packageManifest';
import { entryNameProblem } from './internal/entryName';
import { readFileBounded } from './internal/files';

/** The name of the source manifest in a package directory. */
export const SOURCE_MANIFEST = 'forgepkg.json';
const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

export interface BuildPackageOptions {
  readonly clock?: Clock;
  readonly limits?: ForgePkgLimits;
}

/**
 * Builds an unsigned package from a source manifest (forgepkg.json without hashes) and its files.
 * Entries are sorted by name; the manifest gets `content_hashes` and defaults, in canonical JSON.
 */
export function buildPackage(
  source: unknown,
  files: ReadonlyMap<string, Uint8Array>,
  options: BuildPackageOptions = {},
): { bytes: Uint8Array; manifest: PackageManifest } {
  const limits = options.limits ?? defaultForgePkgLimits;
  const src = parseWith(PackageSourceSchema, source, SOURCE_MANIFEST, 'FORGE_PKG_MANIFEST_INVALID');
  if (files.size > limits.maxEntries) {
    throw new ForgeError(
      'FORGE_PKG_LIMIT',
      `${files.size} files; a package holds at most ${limits.maxEntries}`,
    );
  }
  const names = [...files.keys()].sort();
  const contentHashes: Record<string, ContentHash> = {};
  const entries: PackageEntry[] = [];
  for (const name of names) {
    const problem = entryNameProblem(name);
    if (problem !== undefined)
      throw new ForgeError('FORGE_PKG_ENTRY_NAME', `entry name "${name.slice(0, 200)}" ${problem}`);
    const data = files.get(name) as Uint8Array;
    if (data.length > limits.maxEntryBytes) {
      throw new ForgeError(
        'FORGE_PKG_LIMIT',
        `${name} is ${data.length} bytes; an entry holds at most ${limits.maxEntryBytes}`,
      );
    }
    contentHashes[name] = { sha256: sha256Hex(data), size: data.length };
    entries.push({ name, data });
  }
  const createdAt = src.created_at ?? new Date((options.clock ?? systemClock).now()).toISOString();
  const manifest = parseWith(
    PackageManifestSchema,
    {
      name: src.name,
      version: src.version,
      description: src.description ?? '',
      author: src.author ?? '',
      created_at: createdAt,
      expires_at: src.expires_at ?? new Date(Date.parse(createdAt) + YEAR_MS).toISOString(),
      entry: src.entry,
      capabilities: src.capabilities ?? [],
      content_hashes: contentHashes,
      dependencies: src.dependencies ?? {},
      metadata: src.metadata ?? {},
    },
    'package manifest',
    'FORGE_PKG_MANIFEST_INVALID',
  );
  const manifestBytes = canonicalJsonBytes(manifest);
  if (manifestBytes.length > limits.maxManifestBytes) {
    throw new ForgeError(
      'FORGE_PKG_LIMIT',
      `the manifest is ${manifestBytes.length} bytes; the limit is ${limits.maxManifestBytes}`,
    );
  }
  const bytes = encodePackage({ manifestBytes, entries, signatures: [] });
  if (bytes.length > limits.maxTotalBytes) {
    throw new ForgeError(
      'FORGE_PKG_OVERSIZED',
      `the package would be ${bytes.length} bytes; the limit is ${limits.maxTotalBytes}`,
    );
  }
  return { bytes, manifest };
}

/**
 * Adds one signature per key over the package digest (header + manifest). A key that already
 * signed is re-signed in place; other signatures are kept.
 */
export function signPackage(
  bytes: Uint8Array,
  signers: readonly PrivateKey[],
  limits: ForgePkgLimits = defaultForgePkgLimits,
): Uint8Array {
  const parsed = parsePackage(bytes, limits);
  const message = packageSigningMessage(packageDigest(parsed));
  const byKey = new Map<string, PackageSignature>(parsed.signatures.map((s) => [s.keyId, s]));
  for (const key of signers) {
    byKey.set(key.keyId, { algorithm: key.algorithm, keyId: key.keyId, signature: key.sign(message) });
  }
  if (byKey.size > limits.maxSignatures) {
    throw new ForgeError('FORGE_PKG_LIMIT', `a package carries at most ${limits.maxSignatures} signatures`);
  }
  return withSignatureBlock(parsed, bytes, [...byKey.values()]);
}

/**
 * Reads a package source directory: `forgepkg.json` and every other regular file below it (by
 * relative POSIX path). Symlinks and special files are refused, and limits are applied while walking.
 */
export async function readPackageSource(
  dir: string,
  limits: ForgePkgLimits = defaultForgePkgLimits,
): Promise<{ source: unknown; files: Map<string, Uint8Array> }> {
  const sourceBytes = await readFileBounded(
    join(dir, SOURCE_MANIFEST),
    limits.maxManifestBytes,
    { io: 'FORGE_PKG_SOURCE', tooLarge: 'FORGE_PKG_LIMIT' },
    'source manifest',
  );
  let source: unknown;
  try {
    source = parseJson(sourceBytes, limits.maxManifestBytes, SOURCE_MANIFEST);
  } catch (error) {
    throw new ForgeError('FORGE_PKG_MANIFEST_INVALID', `${SOURCE_MANIFEST}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const files = new Map<string, Uint8Array>();
  let total = 0;
  const walk = async (relative: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(join(dir, relative))).sort();
    } catch (error) {
      throw new ForgeError(
        'FORGE_PKG_SOURCE',
        `cannot list ${join(dir, relative)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    for (const name of names) {
      const rel = relative === '' ? name : `${relative}/${name}`;
      if (rel === SOURCE_MANIFEST) continue;
      const full = join(dir, rel);
      const stat = await lstat(full).catch((error: unknown) => {
        throw new ForgeError('FORGE_PKG_SOURCE', `cannot read ${rel}: ${(error as Error).message}`, {
          cause: error,
        });
      });
      if (stat.isSymbolicLink())
        throw new ForgeError('FORGE_PKG_SOURCE', `${rel} is a symlink; packages hold regular files only`);
      if (stat.isDirectory()) {
        await walk(rel);
        continue;
      }
      if (!stat.isFile()) throw new ForgeError('FORGE_PKG_SOURCE', `${rel} is not a regular file`);
      const problem = entryNameProblem(rel);
      if (problem !== undefined)
        throw new ForgeError('FORGE_PKG_ENTRY_NAME', `file name "${rel.slice(0, 200)}" ${problem}`);
      if (files.size >= limits.maxEntries)
        throw new ForgeError('FORGE_PKG_LIMIT', `more than ${limits.maxEntries} files`);
      const data = await readFileBounded(
        full,
        limits.maxEntryBytes,
        { io: 'FORGE_PKG_SOURCE', tooLarge: 'FORGE_PKG_LIMIT' },
        'file',
      );
      total += data.length;
      if (total > limits.maxTotalBytes)
        throw new ForgeError(
          'FORGE_PKG_OVERSIZED',
          `the files add up to more than ${limits.maxTotalBytes} bytes`,
        );
      files.set(rel, data);
    }
  };
  await walk('');
  return { source, files };
}

/** readPackageSource + buildPackage: the unsigned package of a source directory. */
export async function packDirectory(
  dir: string,
  options: BuildPackageOptions = {},
): Promise<{ bytes: Uint8Array; manifest: PackageManifest }> {
  const { source, files } = await readPackageSource(dir, options.limits);
  return buildPackage(source, files, options);
}
