import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { ForgeError } from '@forgeone/common';
import type { KeyMaterial, SignOptions, SignatureAlgorithm, VerifyOptions } from '../signatureAlgorithm';
import { toHex } from './bytes';
import { requireLength, verifyInputsWellFormed } from './checks';

const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
// Group order L, little-endian, for the S < L check (RFC 8032 §5.1.7 step 1).
const L_BYTES = Uint8Array.from(
  Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex'),
);

function ensureSyncHash(): void {
  // noble's synchronous API needs a SHA-512; set lazily so importing this package has no side effect.
  if (ed.hashes.sha512 === undefined) ed.hashes.sha512 = sha512;
}

/** S must be canonical: S < L, compared as 256-bit little-endian integers. */
function scalarIsCanonical(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const a = s[i] as number;
    const b = L_BYTES[i] as number;
    if (a !== b) return a < b;
  }
  return false;
}

/**
 * Public keys checked once (canonical encoding, not of small order) and turned into node KeyObjects.
 * Bounded: trust roots hold a handful of keys, so a full cache is simply dropped.
 */
const keyCache = new Map<string, KeyObject | null>();
const KEY_CACHE_LIMIT = 1024;

function keyObjectFor(publicKey: Uint8Array): KeyObject | null {
  const id = toHex(publicKey);
  const cached = keyCache.get(id);
  if (cached !== undefined) return cached;
  let key: KeyObject | null = null;
  try {
    // Strict decoding (y < p, no x = 0 with the sign bit) and no small-order keys, as noble's
    // RFC 8032 branch requires; node:crypto alone would accept a small-order A.
    const point = ed.Point.fromBytes(publicKey, false);
    if (!point.isSmallOrder()) {
      const der = new Uint8Array(SPKI_PREFIX.length + 32);
      der.set(SPKI_PREFIX);
      der.set(publicKey, SPKI_PREFIX.length);
      key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
    }
  } catch {
    key = null;
  }
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
  keyCache.set(id, key);
  return key;
}

/**
 * Ed25519 with strict RFC 8032 verification. Verify runs on node:crypto (OpenSSL: S < L, R compared
 * by its canonical encoding, cofactorless equation) after noble's strict key checks; the
 * conformance suite checks it agrees with `@noble/ed25519` `{ zip215: false }` on every vector.
 */
export const ed25519: SignatureAlgorithm = {
  name: 'ed25519',
  postQuantum: false,
  oid: '1.3.101.112',
  sizes: { seed: 32, publicKey: 32, secretKey: 32, signature: 64 },

  keygen(seed?: Uint8Array): KeyMaterial {
    ensureSyncHash();
    if (seed !== undefined) requireLength(seed, 32, 'an ed25519 seed');
    const secret = seed === undefined ? ed.utils.randomSecretKey() : Uint8Array.from(seed);
    return { seed: secret, publicKey: ed.getPublicKey(secret), secretKey: secret };
  },

  sign(secretKey: Uint8Array, message: Uint8Array, options: SignOptions = {}): Uint8Array {
    ensureSyncHash();
    requireLength(secretKey, 32, 'an ed25519 secret key');
    if (options.context !== undefined && options.context.length > 0) {
      throw new ForgeError('FORGE_CRYPTO_BAD_INPUT', 'ed25519 (pure) takes no context');
    }
    return ed.sign(message, secretKey);
  },

  verify(
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    options: VerifyOptions = {},
  ): boolean {
    // Ed25519 (pure) has no context: only an empty one is accepted.
    if (!verifyInputsWellFormed(ed25519.sizes, publicKey, message, signature, options.context, 0))
      return false;
    if (!scalarIsCanonical(signature.subarray(32))) return false;
    const key = keyObjectFor(publicKey);
    if (key === null) return false;
    try {
      return nodeVerify(null, message, key, signature);
    } catch {
      return false;
    }
  },
};
