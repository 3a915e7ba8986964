import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { z } from 'zod';
import { ForgeError, parseWith } from '@forgeone/common';
import { defaultAlgorithms, type AlgorithmRegistry } from './algorithmRegistry';
import { canonicalJson, parseJson } from './canonicalJson';
import { PrivateKey, importPublicKey, publicKeyFromTuf, tufKey, type PublicKey } from './keys';
import { decodeUtf8, fromBase64Url, toBase64Url, toHex, utf8 } from './internal/bytes';
import { readFileBounded, writeFileSafely } from './internal/files';

/** scrypt cost parameters (RFC 7914). */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** N = 2^15, r = 8, p = 1: 32 MiB of memory per attempt. */
export const defaultScryptParams: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

/** Largest key file read: keys are at most a few KiB. */
const MAX_KEY_FILE_BYTES = 64 * 1024;
// A key file chooses its own KDF cost; bound it so a hostile file cannot demand gigabytes.
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;

const b64url = z
  .string()
  .max(8192)
  .regex(/^[A-Za-z0-9_-]*$/);
const hex = z
  .string()
  .max(16_384)
  .regex(/^(?:[0-9a-f]{2})*$/);

const EncryptionSchema = z.strictObject({
  kdf: z.literal('scrypt'),
  N: z
    .number()
    .int()
    .min(1024)
    .max(2 ** 20)
    .refine((n) => (n & (n - 1)) === 0, 'must be a power of two'),
  r: z.number().int().min(1).max(32),
  p: z.number().int().min(1).max(16),
  salt: b64url,
  cipher: z.literal('aes-256-gcm'),
  iv: b64url,
  tag: b64url,
});

const PrivateKeyFileSchema = z.strictObject({
  type: z.literal('forgeone-private-key'),
  version: z.literal(1),
  algorithm: z.string().min(1).max(64),
  keyid: z.string().regex(/^[0-9a-f]{64}$/),
  public: hex,
  encryption: z.union([z.null(), EncryptionSchema]),
  seed: b64url,
});

const PublicKeyFileSchema = z.strictObject({
  type: z.literal('forgeone-public-key'),
  keyid: z.string().regex(/^[0-9a-f]{64}$/),
  keytype: z.string().min(1).max(64),
  scheme: z.string().min(1).max(64),
  keyval: z.strictObject({ public: hex }),
});

type PrivateKeyFile = z.infer<typeof PrivateKeyFileSchema>;

export interface EncodePrivateKeyOptions {
  /** Encrypts the seed when given and non-empty; otherwise the file holds it in the clear. */
  readonly passphrase?: string | undefined;
  readonly scrypt?: ScryptParams;
}

/** The JSON text of a private key file; the seed is encrypted with scrypt + AES-256-GCM when a passphrase is given. */
export function encodePrivateKeyFile(key: PrivateKey, options: EncodePrivateKeyOptions = {}): string {
  const header = {
    type: 'forgeone-private-key' as const,
    version: 1 as const,
    algorithm: key.algorithm,
    keyid: key.keyId,
    public: toHex(key.publicKey.bytes),
  };
  const seed = key.seed();
  if (options.passphrase === undefined || options.passphrase === '') {
    return `${JSON.stringify({ ...header, encryption: null, seed: toBase64Url(seed) }, null, 2)}\n`;
  }
  const params = options.scrypt ?? defaultScryptParams;
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const kdf = {
    kdf: 'scrypt' as const,
    N: params.N,
    r: params.r,
    p: params.p,
    salt: toBase64Url(salt),
    cipher: 'aes-256-gcm' as const,
    iv: toBase64Url(iv),
  };
  checkScrypt(params);
  const aesKey = scryptSync(options.passphrase.normalize('NFC'), salt, 32, scryptOptions(params));
  const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
  cipher.setAAD(aad(header, kdf));
  const ciphertext = Buffer.concat([cipher.update(seed), cipher.final()]);
  const file: PrivateKeyFile = {
    ...header,
    encryption: { ...kdf, tag: toBase64Url(cipher.getAuthTag()) },
    seed: toBase64Url(ciphertext),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** True when the key file's seed is encrypted (a passphrase is needed to use it). */
export function isEncryptedKeyFile(content: Uint8Array | string): boolean {
  return readPrivateKeyDocument(content).encryption !== null;
}

/**
 * Decodes a private key file. An encrypted file needs `passphrase`: none gives
 * FORGE_KEY_PASSPHRASE_REQUIRED, a wrong one FORGE_KEY_PASSPHRASE.
 */
export function decodePrivateKeyFile(
  content: Uint8Array | string,
  passphrase?: string,
  registry: AlgorithmRegistry = defaultAlgorithms,
): PrivateKey {
  const file = readPrivateKeyDocument(content);
  const encrypted = fromBase64Url(file.seed, 'seed');
  let seed: Uint8Array;
  if (file.encryption === null) {
    seed = encrypted;
  } else {
    if (passphrase === undefined || passphrase === '') {
      throw new ForgeError(
        'FORGE_KEY_PASSPHRASE_REQUIRED',
        'the key file is encrypted; set FORGEONE_PASSPHRASE or enter the passphrase',
      );
    }
    const { tag, ...kdf } = file.encryption;
    checkScrypt(kdf);
    const aesKey = scryptSync(
      passphrase.normalize('NFC'),
      fromBase64Url(kdf.salt, 'salt'),
      32,
      scryptOptions(kdf),
    );
    const iv = fromBase64Url(kdf.iv, 'iv');
    const authTag = fromBase64Url(tag, 'tag');
    if (iv.length !== 12 || authTag.length !== 16)
      throw new ForgeError('FORGE_KEY_FORMAT', 'the key file has a malformed iv or tag');
    try {
      const decipher = createDecipheriv('aes-256-gcm', aesKey, iv);
      decipher.setAAD(
        aad(
          {
            type: file.type,
            version: file.version,
            algorithm: file.algorithm,
            keyid: file.keyid,
            public: file.public,
          },
          kdf,
        ),
      );
      decipher.setAuthTag(authTag);
      seed = new Uint8Array(Buffer.concat([decipher.update(encrypted), decipher.final()]));
    } catch (error) {
      throw new ForgeError(
        'FORGE_KEY_PASSPHRASE',
        'wrong passphrase for this key file (or the file was altered)',
        { cause: error },
      );
    }
  }
  const key = PrivateKey.fromSeed(file.algorithm, seed, registry);
  if (key.keyId !== file.keyid || toHex(key.publicKey.bytes) !== file.public) {
    throw new ForgeError(
      'FORGE_KEY_FORMAT',
      'the key file is inconsistent: its seed does not give its public key',
    );
  }
  return key;
}

/** The JSON text of a public key file: the TUF key object plus its key id. */
export function encodePublicKeyFile(key: PublicKey): string {
  return `${JSON.stringify({ type: 'forgeone-public-key', keyid: key.keyId, ...tufKey(key) }, null, 2)}\n`;
}

/** Decodes a public key file: ForgeOne JSON, an SPKI PEM, or an Ed25519 JWK. */
export function decodePublicKeyFile(
  content: Uint8Array | string,
  registry: AlgorithmRegistry = defaultAlgorithms,
): PublicKey {
  const text = typeof content === 'string' ? content : decodeUtf8(content);
  if (text === undefined) throw new ForgeError('FORGE_KEY_FORMAT', 'the public key file is not UTF-8');
  if (text.trimStart().startsWith('-----BEGIN'))
    return importPublicKey({ format: 'pem', pem: text }, registry);
  const json = jsonOf(text, 'public key file');
  if (typeof json === 'object' && json !== null && (json as { kty?: unknown }).kty !== undefined) {
    return importPublicKey({ format: 'jwk', jwk: json }, registry);
  }
  const file = parseWith(PublicKeyFileSchema, json, 'public key file', 'FORGE_KEY_FORMAT');
  const key = publicKeyFromTuf(file, registry);
  if (key.keyId !== file.keyid)
    throw new ForgeError('FORGE_KEY_FORMAT', 'the public key file\u2019s keyid does not match its key');
  return key;
}

export interface WriteKeyFilesOptions extends EncodePrivateKeyOptions {
  /** Replace existing files (default: refuse with FORGE_KEY_EXISTS). */
  readonly overwrite?: boolean;
}

/** Writes `<base>.key` (mode 0600) and `<base>.pub` (mode 0644). */
export async function writeKeyFiles(
  base: string,
  key: PrivateKey,
  options: WriteKeyFilesOptions = {},
): Promise<{ privatePath: string; publicPath: string; encrypted: boolean }> {
  const privatePath = `${base}.key`;
  const publicPath = `${base}.pub`;
  const overwrite = options.overwrite ?? false;
  const common = { overwrite, existsCode: 'FORGE_KEY_EXISTS', ioCode: 'FORGE_KEY_IO' } as const;
  await writeFileSafely(privatePath, encodePrivateKeyFile(key, options), {
    ...common,
    mode: 0o600,
    what: 'private key file',
  });
  await writeFileSafely(publicPath, encodePublicKeyFile(key.publicKey), {
    ...common,
    mode: 0o644,
    what: 'public key file',
  });
  return {
    privatePath,
    publicPath,
    encrypted: options.passphrase !== undefined && options.passphrase !== '',
  };
}

/** Where a passphrase comes from; called only for an encrypted key. */
export type PassphraseSource = () => Promise<string | undefined> | string | undefined;

/** Reads and decodes a private key file, asking `passphrase` only when the file is encrypted. */
export async function readPrivateKeyFile(
  path: string,
  options: { passphrase?: PassphraseSource; registry?: AlgorithmRegistry } = {},
): Promise<PrivateKey> {
  const bytes = await readFileBounded(
    path,
    MAX_KEY_FILE_BYTES,
    { io: 'FORGE_KEY_IO', tooLarge: 'FORGE_KEY_FORMAT' },
    'key file',
  );
  const passphrase = isEncryptedKeyFile(bytes) ? await options.passphrase?.() : undefined;
  return decodePrivateKeyFile(bytes, passphrase, options.registry);
}

/** Reads a public key file (ForgeOne JSON, SPKI PEM or JWK). */
export async function readPublicKeyFile(
  path: string,
  registry: AlgorithmRegistry = defaultAlgorithms,
): Promise<PublicKey> {
  const bytes = await readFileBounded(
    path,
    MAX_KEY_FILE_BYTES,
    { io: 'FORGE_KEY_IO', tooLarge: 'FORGE_KEY_FORMAT' },
    'public key file',
  );
  return decodePublicKeyFile(bytes, registry);
}

function readPrivateKeyDocument(content: Uint8Array | string): PrivateKeyFile {
  const text = typeof content === 'string' ? content : decodeUtf8(content);
  if (text === undefined) throw new ForgeError('FORGE_KEY_FORMAT', 'the key file is not UTF-8');
  return parseWith(PrivateKeyFileSchema, jsonOf(text, 'key file'), 'key file', 'FORGE_KEY_FORMAT');
}

function jsonOf(text: string, what: string): unknown {
  try {
    return parseJson(utf8(text), MAX_KEY_FILE_BYTES, what);
  } catch (error) {
    throw new ForgeError('FORGE_KEY_FORMAT', `the ${what} is not JSON or PEM`, { cause: error });
  }
}

function checkScrypt(params: ScryptParams): void {
  if (
    128 * params.N * params.r * params.p > MAX_SCRYPT_MEMORY * 4 ||
    128 * params.N * params.r > MAX_SCRYPT_MEMORY
  ) {
    throw new ForgeError('FORGE_KEY_FORMAT', 'the key file asks for a scrypt cost above the allowed maximum');
  }
}

function scryptOptions(params: ScryptParams) {
  return { N: params.N, r: params.r, p: params.p, maxmem: 2 * 128 * params.N * params.r + 1024 * 1024 };
}

function aad(header: object, kdf: object): Uint8Array {
  return utf8(canonicalJson({ header, kdf }));
}
