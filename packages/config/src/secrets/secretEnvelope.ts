import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/ciphers/utils.js';
import { ForgeError } from '@forgeone/common';
import type { KeyEncryptionKey } from './keyEncryptionKey';
import { NONCE_BYTES, fromBase64, toBase64, type SecretRecord } from './secretRecords';

/** A secret's clear metadata: all of it is bound into both ciphertexts as associated data. */
export type SecretMetadata = Pick<SecretRecord, 'version' | 'createdAt' | 'updatedAt' | 'actor' | 'reason'>;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The associated data: the name, the version and every clear field, so a ciphertext (or a wrapped
 * key) copied to another name, replayed from an older version or given other metadata fails to
 * open. The wrapped key's also names the key generation it is wrapped under.
 */
function associatedData(
  purpose: 'value' | 'wrap',
  name: string,
  meta: SecretMetadata,
  keyId?: string,
): Uint8Array {
  return encoder.encode(
    JSON.stringify([
      `forgeone.secret.${purpose}.v1`,
      name,
      meta.version,
      meta.createdAt,
      meta.updatedAt,
      meta.actor,
      meta.reason,
      keyId ?? null,
    ]),
  );
}

function wrapKey(kek: KeyEncryptionKey, name: string, meta: SecretMetadata, dataKey: Uint8Array): string {
  const nonce = randomBytes(NONCE_BYTES);
  const sealed = xchacha20poly1305(kek.key, nonce, associatedData('wrap', name, meta, kek.keyId)).encrypt(
    dataKey,
  );
  const out = new Uint8Array(NONCE_BYTES + sealed.length);
  out.set(nonce);
  out.set(sealed, NONCE_BYTES);
  return toBase64(out);
}

function unwrapKey(kek: KeyEncryptionKey, name: string, record: SecretRecord): Uint8Array {
  const wrapped = fromBase64(record.wrappedKey);
  try {
    return xchacha20poly1305(
      kek.key,
      wrapped.subarray(0, NONCE_BYTES),
      associatedData('wrap', name, record, kek.keyId),
    ).decrypt(wrapped.subarray(NONCE_BYTES));
  } catch {
    throw tampered(name, 'its wrapped data key does not authenticate');
  }
}

/** Encrypts `value` under a fresh random data key, which is wrapped by `kek`. */
export function sealSecret(
  kek: KeyEncryptionKey,
  name: string,
  meta: SecretMetadata,
  value: string,
): Pick<SecretRecord, 'keyId' | 'wrappedKey' | 'nonce' | 'ciphertext'> {
  const dataKey = randomBytes(32);
  const nonce = randomBytes(NONCE_BYTES);
  const ciphertext = xchacha20poly1305(dataKey, nonce, associatedData('value', name, meta)).encrypt(
    encoder.encode(value),
  );
  const wrappedKey = wrapKey(kek, name, meta, dataKey);
  dataKey.fill(0);
  return { keyId: kek.keyId, wrappedKey, nonce: toBase64(nonce), ciphertext: toBase64(ciphertext) };
}

/** The value of a stored secret, or FORGE_SECRET_TAMPERED when any part of it fails authentication. */
export function openSecret(kek: KeyEncryptionKey, name: string, record: SecretRecord): string {
  const dataKey = unwrapKey(kek, name, record);
  try {
    const plain = xchacha20poly1305(
      dataKey,
      fromBase64(record.nonce),
      associatedData('value', name, record),
    ).decrypt(fromBase64(record.ciphertext));
    return strictDecoder.decode(plain);
  } catch {
    throw tampered(name, 'its ciphertext does not authenticate');
  } finally {
    dataKey.fill(0);
  }
}

/** The record with its data key rewrapped from `from` to `to`; the value's ciphertext is unchanged. */
export function rewrapSecret(
  from: KeyEncryptionKey,
  to: KeyEncryptionKey,
  name: string,
  record: SecretRecord,
): SecretRecord {
  const dataKey = unwrapKey(from, name, record);
  try {
    return { ...record, keyId: to.keyId, wrappedKey: wrapKey(to, name, record, dataKey) };
  } finally {
    dataKey.fill(0);
  }
}

/** FORGE_SECRET_TAMPERED for secret `name`. */
export function tampered(name: string, why: string): ForgeError {
  return new ForgeError(
    'FORGE_SECRET_TAMPERED',
    `secret ${name} was tampered with or corrupted: ${why}; no value returned (set it again, or rm it)`,
    { details: { name } },
  );
}
