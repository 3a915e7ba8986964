import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { ForgeError } from '@forgeone/common';
import { checkScryptParams, type ScryptParams } from './scryptParams';

/** Bytes in a key-encryption key (and in a key file's key). */
export const SECRET_KEY_BYTES = 32;
/** A key file is a line of text; anything larger is not one. */
const MAX_KEY_FILE_BYTES = 1024;

/**
 * Where a store's key-encryption key comes from: a passphrase (scrypt; `scrypt` sets the cost of a
 * key this source creates — a store's own stored parameters are used to open it) or 32 key bytes.
 */
export type SecretKeySource =
  | { readonly kind: 'passphrase'; readonly passphrase: string; readonly scrypt?: ScryptParams }
  | { readonly kind: 'key'; readonly key: Uint8Array };

/** A passphrase key source; an empty passphrase is FORGE_SECRET_KEY_MISSING. */
export function passphraseKeySource(passphrase: string, scrypt?: ScryptParams): SecretKeySource {
  if (passphrase.length === 0)
    throw new ForgeError('FORGE_SECRET_KEY_MISSING', 'the secret passphrase is empty: give a passphrase');
  if (scrypt !== undefined) checkScryptParams(scrypt);
  return scrypt === undefined
    ? { kind: 'passphrase', passphrase }
    : { kind: 'passphrase', passphrase, scrypt };
}

/** Parses a key file's text: 32 bytes as 64 hex digits or canonical base64, one trailing newline allowed. */
export function parseSecretKeyText(text: string): Uint8Array {
  const line = text.replace(/\r?\n$/, '');
  if (/^[0-9a-fA-F]{64}$/.test(line)) return Uint8Array.from(Buffer.from(line, 'hex'));
  const bytes = Buffer.from(line, 'base64');
  // Buffer skips characters that are not base64; only the canonical text of 32 bytes is a key.
  if (bytes.length === SECRET_KEY_BYTES && bytes.toString('base64') === line) return Uint8Array.from(bytes);
  throw new ForgeError(
    'FORGE_SECRET_KEY_FILE_INVALID',
    `a key file holds ${SECRET_KEY_BYTES} bytes as 64 hex digits or base64 (e.g. \`openssl rand -hex 32\`)`,
  );
}

/**
 * Reads a key file: a regular file (not a symlink, FIFO or device) that only its owner can read
 * (no group or other permission bits: 0600 or 0400). The checks are made on the opened file, so a
 * swap between the check and the read cannot pass another file.
 */
export function readSecretKeyFile(path: string): SecretKeySource {
  const link = lstatSync(path, { throwIfNoEntry: false });
  if (link === undefined)
    throw new ForgeError('FORGE_SECRET_KEY_FILE_INVALID', `key file ${path}: no such file`, {
      details: { path },
    });
  if (link.isSymbolicLink()) throw unsafe(path, 'is a symbolic link');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ELOOP') throw unsafe(path, 'is a symbolic link');
    throw new ForgeError('FORGE_SECRET_KEY_FILE_INVALID', `key file ${path}: cannot open it (${code})`, {
      details: { path },
    });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw unsafe(path, 'is not a regular file');
    if ((stat.mode & 0o077) !== 0)
      throw unsafe(
        path,
        `has mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}; others than its owner may read it (chmod 600 ${path})`,
      );
    if (stat.size > MAX_KEY_FILE_BYTES)
      throw new ForgeError(
        'FORGE_SECRET_KEY_FILE_INVALID',
        `key file ${path}: ${stat.size} bytes is not a key`,
        {
          details: { path },
        },
      );
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    const key = parseKeyBytes(path, buffer.subarray(0, length));
    buffer.fill(0);
    return { kind: 'key', key };
  } finally {
    closeSync(fd);
  }
}

function parseKeyBytes(path: string, bytes: Buffer): Uint8Array {
  try {
    return parseSecretKeyText(bytes.toString('latin1'));
  } catch (error) {
    throw new ForgeError('FORGE_SECRET_KEY_FILE_INVALID', `key file ${path}: ${(error as Error).message}`, {
      details: { path },
    });
  }
}

function unsafe(path: string, why: string): ForgeError {
  return new ForgeError('FORGE_SECRET_KEY_FILE_UNSAFE', `key file ${path} ${why}`, { details: { path } });
}
