import { ForgeError } from '@forgeone/common';
import { parseJson } from './canonicalJson';
import { defaultForgePkgLimits, type ForgePkgLimits } from './forgePkgCodec';
import { readFileBounded, writeFileSafely } from './internal/files';

/** Largest root.json read (a root lists at most 256 keys; ML-DSA keys are a few KiB of hex each). */
const MAX_ROOT_FILE_BYTES = 16 * 1024 * 1024;

/** Reads a package file, refusing one over `limits.maxTotalBytes` before reading it (FORGE_PKG_OVERSIZED). */
export function readPackageFile(
  path: string,
  limits: ForgePkgLimits = defaultForgePkgLimits,
): Promise<Uint8Array> {
  return readFileBounded(
    path,
    limits.maxTotalBytes,
    { io: 'FORGE_PKG_IO', tooLarge: 'FORGE_PKG_OVERSIZED' },
    'package',
  );
}

/** Writes a package file atomically (temporary file + rename), mode 0644. */
export function writePackageFile(path: string, bytes: Uint8Array): Promise<void> {
  return writeFileSafely(path, bytes, {
    mode: 0o644,
    overwrite: true,
    existsCode: 'FORGE_PKG_IO',
    ioCode: 'FORGE_PKG_IO',
    what: 'package',
  });
}

/** Reads a root.json (or revocation list) as JSON; FORGE_ROOT_IO or FORGE_ROOT_INVALID on failure. */
export async function readRootFile(path: string): Promise<unknown> {
  const bytes = await readFileBounded(
    path,
    MAX_ROOT_FILE_BYTES,
    { io: 'FORGE_ROOT_IO', tooLarge: 'FORGE_ROOT_INVALID' },
    'trust root',
  );
  try {
    return parseJson(bytes, MAX_ROOT_FILE_BYTES, `trust root ${path}`);
  } catch (error) {
    throw new ForgeError('FORGE_ROOT_INVALID', (error as Error).message, { cause: error, details: { path } });
  }
}

/** Writes a root.json (pretty-printed: signatures cover the canonical form, not the file's). */
export function writeRootFile(path: string, document: unknown): Promise<void> {
  return writeFileSafely(path, `${JSON.stringify(document, null, 2)}\n`, {
    mode: 0o644,
    overwrite: true,
    existsCode: 'FORGE_ROOT_IO',
    ioCode: 'FORGE_ROOT_IO',
    what: 'trust root',
  });
}
