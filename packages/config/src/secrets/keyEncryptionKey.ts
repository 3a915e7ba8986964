import { timingSafeEqual } from 'node:crypto';
import { randomBytes } from '@noble/ciphers/utils.js';
import { hmac } from '@noble/hashes/hmac.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ForgeError } from '@forgeone/common';
import { SECRET_KEY_BYTES, type SecretKeySource } from './secretKeySource';
import { checkScryptParams, defaultScryptParams } from './scryptParams';
import { KEY_ID_BYTES, SALT_BYTES, fromBase64, toBase64, type KeyRecord } from './secretRecords';

/** A key-encryption key with the id of its generation (a new id at every rotation). */
export interface KeyEncryptionKey {
  readonly keyId: string;
  readonly key: Uint8Array;
}

const CHECK_LABEL = new TextEncoder().encode('forgeone.secret.kek-check.v1');

/**
 * A new key-encryption key from `source` (a fresh salt and key id) and the record that lets a later
 * open check it. Derivation runs before any transaction: scrypt takes most of a second.
 */
export async function createKeyEncryptionKey(
  source: SecretKeySource,
  now: number,
): Promise<{ kek: KeyEncryptionKey; record: KeyRecord }> {
  const keyId = toBase64(randomBytes(KEY_ID_BYTES));
  const scrypt =
    source.kind === 'passphrase'
      ? {
          ...checkScryptParams(source.scrypt ?? defaultScryptParams),
          salt: toBase64(randomBytes(SALT_BYTES)),
        }
      : null;
  const key = await deriveKey(source, scrypt);
  return {
    kek: { keyId, key },
    record: {
      format: 1,
      keyId,
      kind: source.kind,
      scrypt,
      check: toBase64(checkValue(key, keyId)),
      createdAt: now,
      rotatedAt: null,
    },
  };
}

/**
 * The key-encryption key `source` gives for a store's key record, or FORGE_SECRET_KEY_WRONG when
 * it is not that key (the check value differs): a wrong key never gets as far as a ciphertext.
 */
export async function openKeyEncryptionKey(
  source: SecretKeySource,
  record: KeyRecord,
): Promise<KeyEncryptionKey> {
  if (source.kind !== record.kind)
    throw new ForgeError(
      'FORGE_SECRET_KEY_WRONG',
      record.kind === 'key'
        ? 'the secrets are encrypted under a key file, and a passphrase was given: give the key file'
        : 'the secrets are encrypted under a passphrase, and a key file was given: give the passphrase',
    );
  if (record.scrypt !== null) checkScryptParams(record.scrypt);
  const key = await deriveKey(source, record.scrypt);
  const expected = fromBase64(record.check);
  if (!timingSafeEqual(checkValue(key, record.keyId), expected)) {
    key.fill(0);
    throw new ForgeError(
      'FORGE_SECRET_KEY_WRONG',
      source.kind === 'key'
        ? 'the key file is not the key the secrets are encrypted under'
        : 'wrong passphrase: it is not the one the secrets are encrypted under',
    );
  }
  return { keyId: record.keyId, key };
}

async function deriveKey(source: SecretKeySource, scrypt: KeyRecord['scrypt']): Promise<Uint8Array> {
  if (source.kind === 'key') {
    if (source.key.length !== SECRET_KEY_BYTES)
      throw new ForgeError(
        'FORGE_SECRET_KEY_FILE_INVALID',
        `a secret key is ${SECRET_KEY_BYTES} bytes, got ${source.key.length}`,
      );
    return Uint8Array.from(source.key);
  }
  if (scrypt === null) throw new ForgeError('FORGE_INTERNAL', 'a passphrase key without scrypt parameters');
  const N = 2 ** scrypt.logN;
  // NFC: the same passphrase typed on two systems gives the same key.
  return scryptAsync(new TextEncoder().encode(source.passphrase.normalize('NFC')), fromBase64(scrypt.salt), {
    N,
    r: scrypt.r,
    p: scrypt.p,
    dkLen: SECRET_KEY_BYTES,
    maxmem: 128 * N * scrypt.r + 1024 * 1024,
  });
}

/** HMAC-SHA256(kek, label ‖ keyId): reveals nothing of the key, tells a wrong one at once. */
function checkValue(key: Uint8Array, keyId: string): Uint8Array {
  const id = fromBase64(keyId);
  const message = new Uint8Array(CHECK_LABEL.length + id.length);
  message.set(CHECK_LABEL);
  message.set(id, CHECK_LABEL.length);
  return hmac(sha256, key, message);
}
