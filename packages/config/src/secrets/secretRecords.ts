import { z } from 'zod';

/** Storage namespace of the secrets, one record per name. */
export const SECRETS_NAMESPACE = 'secrets';
/** Storage namespace of the store's key record (record key KEY_RECORD_KEY). */
export const SECRETS_META_NAMESPACE = 'secrets.meta';
export const KEY_RECORD_KEY = 'kek';

/** Largest secret value, in UTF-8 bytes. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;
/** Bytes of an XChaCha20-Poly1305 nonce and tag. */
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
export const KEY_ID_BYTES = 16;
export const SALT_BYTES = 16;

/** Canonical base64 of exactly `bytes` bytes (or of 1..max bytes): one text per byte string. */
function base64(bytes: number | { max: number }) {
  return z.string().refine((text) => {
    const decoded = Buffer.from(text, 'base64');
    const sized =
      typeof bytes === 'number'
        ? decoded.length === bytes
        : decoded.length >= 1 && decoded.length <= bytes.max;
    return sized && decoded.toString('base64') === text;
  }, 'not canonical base64 of the right length');
}

const time = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** Who and why, as given to set(): short, one line, no control characters. */
export const secretNoteSchema = z
  .string()
  .max(200)
  .regex(/^[^\p{Cc}]*$/u, 'control characters are not allowed');

/** The store's key record: how the key-encryption key is made, and a value that checks it. */
export const keyRecordSchema = z
  .strictObject({
    format: z.literal(1),
    keyId: base64(KEY_ID_BYTES),
    kind: z.enum(['passphrase', 'key']),
    scrypt: z
      .strictObject({
        logN: z.number().int(),
        r: z.number().int(),
        p: z.number().int(),
        salt: base64(SALT_BYTES),
      })
      .nullable(),
    check: base64(32),
    createdAt: time,
    rotatedAt: time.nullable(),
  })
  .refine(
    (record) => (record.kind === 'passphrase') === (record.scrypt !== null),
    'scrypt goes with a passphrase',
  );
export type KeyRecord = z.output<typeof keyRecordSchema>;

/** One stored secret: metadata in clear (bound into both AEADs), the wrapped data key, the sealed value. */
export const secretRecordSchema = z.strictObject({
  format: z.literal(1),
  version: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  createdAt: time,
  updatedAt: time,
  actor: secretNoteSchema.nullable(),
  reason: secretNoteSchema.nullable(),
  keyId: base64(KEY_ID_BYTES),
  wrappedKey: base64(NONCE_BYTES + 32 + TAG_BYTES),
  nonce: base64(NONCE_BYTES),
  ciphertext: base64({ max: MAX_SECRET_VALUE_BYTES + TAG_BYTES }),
});
export type SecretRecord = z.output<typeof secretRecordSchema>;

export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
export const fromBase64 = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'base64'));
