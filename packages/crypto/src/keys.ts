import { ForgeError } from '@forgeone/common';
import { defaultAlgorithms, type AlgorithmRegistry } from './algorithmRegistry';
import { canonicalJson } from './canonicalJson';
import { sha256Hex } from './hash';
import type { SignOptions, SignatureAlgorithm } from './signatureAlgorithm';
import { fromBase64Url, fromHex, toBase64Url, toHex } from './internal/bytes';
import {
  contextPrimitive0,
  encodePkcs8,
  encodeSpki,
  fromPem,
  hasPrefix,
  octetStringHeader,
  pkcs8Prefix,
  spkiPrefix,
  toPem,
} from './internal/der';

/** A public key with its algorithm and key id. */
export interface PublicKey {
  readonly algorithm: string;
  readonly bytes: Uint8Array;
  /** Lower-case hex SHA-256 of the canonical JSON of {@link tufKey}. */
  readonly keyId: string;
}

/** A key as TUF's root.json lists it: `keytype` and `scheme` are both the algorithm name. */
export interface TufKey {
  readonly keytype: string;
  readonly scheme: string;
  readonly keyval: { readonly public: string };
}

/** The RFC 8037 JWK of an Ed25519 key (`d` only on private keys). */
export interface Ed25519Jwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly d?: string;
  readonly kid?: string;
}

/** The TUF key object of a key: what its key id hashes and what root.json stores. */
export function tufKey(key: { readonly algorithm: string; readonly bytes: Uint8Array }): TufKey {
  return { keytype: key.algorithm, scheme: key.algorithm, keyval: { public: toHex(key.bytes) } };
}

/** Key id: SHA-256 (hex) of the RFC 8785 canonical JSON of the key's TUF object, algorithm included. */
export function keyId(algorithm: string, publicKey: Uint8Array): string {
  return sha256Hex(canonicalJson(tufKey({ algorithm, bytes: publicKey })));
}

/** Wraps raw public key bytes, checking their length for the algorithm. */
export function publicKeyFromBytes(
  algorithm: string,
  bytes: Uint8Array,
  registry: AlgorithmRegistry = defaultAlgorithms,
): PublicKey {
  const alg = registry.get(algorithm);
  if (!(bytes instanceof Uint8Array) || bytes.length !== alg.sizes.publicKey) {
    throw new ForgeError('FORGE_CRYPTO_BAD_KEY', `a ${algorithm} public key is ${alg.sizes.publicKey} bytes`);
  }
  const copy = Uint8Array.from(bytes);
  return { algorithm, bytes: copy, keyId: keyId(algorithm, copy) };
}

/** The public key a TUF key object describes. */
export function publicKeyFromTuf(key: TufKey, registry: AlgorithmRegistry = defaultAlgorithms): PublicKey {
  if (key.keytype !== key.scheme) {
    throw new ForgeError('FORGE_KEY_FORMAT', `key type ${key.keytype} and scheme ${key.scheme} differ`);
  }
  return publicKeyFromBytes(key.keytype, fromHex(key.keyval.public, 'keyval.public'), registry);
}

/** A private key: its seed, the algorithm, and the public key. Signing expands the seed once. */
export class PrivateKey {
  readonly algorithm: string;
  readonly publicKey: PublicKey;
  readonly #impl: SignatureAlgorithm;
  readonly #seed: Uint8Array;
  #secretKey: Uint8Array | undefined;

  private constructor(
    impl: SignatureAlgorithm,
    seed: Uint8Array,
    publicKey: Uint8Array,
    secretKey: Uint8Array,
  ) {
    this.#impl = impl;
    this.algorithm = impl.name;
    this.#seed = seed;
    this.#secretKey = secretKey;
    this.publicKey = { algorithm: impl.name, bytes: publicKey, keyId: keyId(impl.name, publicKey) };
  }

  /** A fresh key pair of `algorithm`. */
  static generate(algorithm: string, registry: AlgorithmRegistry = defaultAlgorithms): PrivateKey {
    const impl = registry.get(algorithm);
    const material = impl.keygen();
    return new PrivateKey(impl, material.seed, material.publicKey, material.secretKey);
  }

  /** The key pair `seed` derives (deterministic). */
  static fromSeed(
    algorithm: string,
    seed: Uint8Array,
    registry: AlgorithmRegistry = defaultAlgorithms,
  ): PrivateKey {
    const impl = registry.get(algorithm);
    const material = impl.keygen(seed);
    return new PrivateKey(impl, material.seed, material.publicKey, material.secretKey);
  }

  get keyId(): string {
    return this.publicKey.keyId;
  }

  /** The seed (a copy): the whole secret; handle with care. */
  seed(): Uint8Array {
    return Uint8Array.from(this.#seed);
  }

  /** The algorithm's expanded secret key (a copy). */
  secretKey(): Uint8Array {
    this.#secretKey ??= this.#impl.keygen(this.#seed).secretKey;
    return Uint8Array.from(this.#secretKey);
  }

  /** Signs `message`. */
  sign(message: Uint8Array, options?: SignOptions): Uint8Array {
    this.#secretKey ??= this.#impl.keygen(this.#seed).secretKey;
    return this.#impl.sign(this.#secretKey, message, options);
  }
}

/** A fresh key pair of `algorithm` (see {@link PrivateKey}). */
export function generateKeyPair(
  algorithm: string,
  registry: AlgorithmRegistry = defaultAlgorithms,
): PrivateKey {
  return PrivateKey.generate(algorithm, registry);
}

export type PublicKeyInput =
  | { readonly format: 'raw'; readonly algorithm: string; readonly bytes: Uint8Array }
  | { readonly format: 'spki'; readonly der: Uint8Array }
  | { readonly format: 'pem'; readonly pem: string }
  | { readonly format: 'jwk'; readonly jwk: unknown };

export type PrivateKeyInput =
  | { readonly format: 'raw'; readonly algorithm: string; readonly seed: Uint8Array }
  | { readonly format: 'pkcs8'; readonly der: Uint8Array }
  | { readonly format: 'pem'; readonly pem: string }
  | { readonly format: 'jwk'; readonly jwk: unknown };

/** Exports a public key: raw bytes, SPKI DER, SPKI PEM, or (Ed25519 only) a JWK. */
export function exportPublicKey(
  key: PublicKey,
  format: 'raw' | 'spki',
  registry?: AlgorithmRegistry,
): Uint8Array;
export function exportPublicKey(key: PublicKey, format: 'pem', registry?: AlgorithmRegistry): string;
export function exportPublicKey(key: PublicKey, format: 'jwk', registry?: AlgorithmRegistry): Ed25519Jwk;
export function exportPublicKey(
  key: PublicKey,
  format: 'raw' | 'spki' | 'pem' | 'jwk',
  registry: AlgorithmRegistry = defaultAlgorithms,
): Uint8Array | string | Ed25519Jwk {
  const alg = registry.get(key.algorithm);
  switch (format) {
    case 'raw':
      return Uint8Array.from(key.bytes);
    case 'spki':
      return encodeSpki(alg.oid, key.bytes);
    case 'pem':
      return toPem('PUBLIC KEY', encodeSpki(alg.oid, key.bytes));
    case 'jwk':
      requireEd25519(key.algorithm);
      return { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(key.bytes) };
  }
}

/** Imports a public key from raw bytes, SPKI DER or PEM (algorithm from the OID), or an Ed25519 JWK. */
export function importPublicKey(
  input: PublicKeyInput,
  registry: AlgorithmRegistry = defaultAlgorithms,
): PublicKey {
  switch (input.format) {
    case 'raw':
      return publicKeyFromBytes(input.algorithm, input.bytes, registry);
    case 'spki':
      return publicFromSpki(input.der, registry);
    case 'pem': {
      const der = fromPem(input.pem, 'PUBLIC KEY');
      if (der === undefined) throw new ForgeError('FORGE_KEY_FORMAT', 'not a PEM "PUBLIC KEY" block');
      return publicFromSpki(der, registry);
    }
    case 'jwk': {
      const jwk = readEd25519Jwk(input.jwk);
      return publicKeyFromBytes('ed25519', fromBase64Url(jwk.x, 'jwk.x'), registry);
    }
  }
}

/** Exports a private key: its raw seed, PKCS#8 DER or PEM, or (Ed25519 only) a JWK. */
export function exportPrivateKey(
  key: PrivateKey,
  format: 'raw' | 'pkcs8',
  registry?: AlgorithmRegistry,
): Uint8Array;
export function exportPrivateKey(key: PrivateKey, format: 'pem', registry?: AlgorithmRegistry): string;
export function exportPrivateKey(key: PrivateKey, format: 'jwk', registry?: AlgorithmRegistry): Ed25519Jwk;
export function exportPrivateKey(
  key: PrivateKey,
  format: 'raw' | 'pkcs8' | 'pem' | 'jwk',
  registry: AlgorithmRegistry = defaultAlgorithms,
): Uint8Array | string | Ed25519Jwk {
  const alg = registry.get(key.algorithm);
  switch (format) {
    case 'raw':
      return key.seed();
    case 'pkcs8':
      return encodePkcs8(alg.oid, pkcs8Inner(alg, key));
    case 'pem':
      return toPem('PRIVATE KEY', encodePkcs8(alg.oid, pkcs8Inner(alg, key)));
    case 'jwk':
      requireEd25519(key.algorithm);
      return { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(key.publicKey.bytes), d: toBase64Url(key.seed()) };
  }
}

/** Imports a private key from its seed, PKCS#8 DER or PEM, or an Ed25519 JWK. */
export function importPrivateKey(
  input: PrivateKeyInput,
  registry: AlgorithmRegistry = defaultAlgorithms,
): PrivateKey {
  switch (input.format) {
    case 'raw':
      return PrivateKey.fromSeed(input.algorithm, input.seed, registry);
    case 'pkcs8':
      return privateFromPkcs8(input.der, registry);
    case 'pem': {
      const der = fromPem(input.pem, 'PRIVATE KEY');
      if (der === undefined) throw new ForgeError('FORGE_KEY_FORMAT', 'not a PEM "PRIVATE KEY" block');
      return privateFromPkcs8(der, registry);
    }
    case 'jwk': {
      const jwk = readEd25519Jwk(input.jwk);
      if (jwk.d === undefined) throw new ForgeError('FORGE_KEY_FORMAT', 'the JWK has no private part "d"');
      const key = PrivateKey.fromSeed('ed25519', fromBase64Url(jwk.d, 'jwk.d'), registry);
      if (toBase64Url(key.publicKey.bytes) !== jwk.x) {
        throw new ForgeError(
          'FORGE_KEY_FORMAT',
          'the JWK public part "x" does not match its private part "d"',
        );
      }
      return key;
    }
  }
}

function requireEd25519(algorithm: string): void {
  if (algorithm !== 'ed25519')
    throw new ForgeError('FORGE_KEY_FORMAT', `JWK export exists only for ed25519, not ${algorithm}`);
}

function readEd25519Jwk(value: unknown): { x: string; d?: string } {
  const jwk = value as Partial<Record<string, unknown>> | null;
  if (
    typeof jwk !== 'object' ||
    jwk === null ||
    jwk.kty !== 'OKP' ||
    jwk.crv !== 'Ed25519' ||
    typeof jwk.x !== 'string'
  ) {
    throw new ForgeError('FORGE_KEY_FORMAT', 'not an Ed25519 JWK ({"kty":"OKP","crv":"Ed25519","x":...})');
  }
  if (jwk.d !== undefined && typeof jwk.d !== 'string')
    throw new ForgeError('FORGE_KEY_FORMAT', 'JWK "d" must be a string');
  return jwk.d === undefined ? { x: jwk.x } : { x: jwk.x, d: jwk.d };
}

function publicFromSpki(der: Uint8Array, registry: AlgorithmRegistry): PublicKey {
  for (const name of registry.names()) {
    const alg = registry.get(name);
    const prefix = spkiPrefix(alg.oid, alg.sizes.publicKey);
    if (der.length === prefix.length + alg.sizes.publicKey && hasPrefix(der, prefix)) {
      return publicKeyFromBytes(name, der.subarray(prefix.length), registry);
    }
  }
  throw new ForgeError('FORGE_KEY_FORMAT', 'the SPKI names no supported algorithm or has the wrong key size');
}

// What sits inside PKCS#8's privateKey OCTET STRING: Ed25519 wraps its seed in another OCTET
// STRING (RFC 8410), ML-DSA uses the [0] seed choice (RFC 9881), SLH-DSA the raw 4n-byte key (RFC 9909).
function pkcs8InnerPrefix(alg: SignatureAlgorithm): { prefix: Uint8Array; length: number } {
  if (alg.name === 'ed25519') return { prefix: octetStringHeader(32), length: 32 };
  if (alg.name.startsWith('ml-dsa-'))
    return { prefix: contextPrimitive0(alg.sizes.seed), length: alg.sizes.seed };
  return { prefix: new Uint8Array(0), length: alg.sizes.secretKey };
}

function pkcs8Inner(alg: SignatureAlgorithm, key: PrivateKey): Uint8Array {
  const { prefix } = pkcs8InnerPrefix(alg);
  const material = alg.name.startsWith('slh-dsa-') ? key.secretKey() : key.seed();
  const out = new Uint8Array(prefix.length + material.length);
  out.set(prefix);
  out.set(material, prefix.length);
  return out;
}

function privateFromPkcs8(der: Uint8Array, registry: AlgorithmRegistry): PrivateKey {
  for (const name of registry.names()) {
    const alg = registry.get(name);
    const inner = pkcs8InnerPrefix(alg);
    const prefix = pkcs8Prefix(alg.oid, inner.prefix, inner.length);
    if (der.length !== prefix.length + inner.length || !hasPrefix(der, prefix)) continue;
    const material = der.subarray(prefix.length);
    if (!name.startsWith('slh-dsa-')) return PrivateKey.fromSeed(name, material, registry);
    // An SLH-DSA key is SK.seed || SK.prf || PK.seed || PK.root; the first three are the seed.
    const key = PrivateKey.fromSeed(name, material.subarray(0, alg.sizes.seed), registry);
    if (Buffer.compare(key.secretKey(), material) !== 0) {
      throw new ForgeError(
        'FORGE_KEY_FORMAT',
        'the SLH-DSA private key is inconsistent (PK.root does not match)',
      );
    }
    return key;
  }
  throw new ForgeError(
    'FORGE_KEY_FORMAT',
    'the PKCS#8 key names no supported algorithm or has an unsupported layout',
  );
}
