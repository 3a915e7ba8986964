import { describe, expect, it } from 'vitest';
import {
  algorithmNames,
  AlgorithmRegistry,
  defaultAlgorithms,
  exportPrivateKey,
  exportPublicKey,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  keyId,
  PrivateKey,
  publicKeyFromBytes,
  type SignatureAlgorithm,
} from '../index';
import { key, codeOf } from './fixtures';

const message = Buffer.from('forge one');
// SLH-DSA-SHA2-128s signs in seconds; it gets one round trip below, the rest use the fast sets.
const fastAlgorithms = algorithmNames.filter((n) => n !== 'slh-dsa-sha2-128s');

describe('signature algorithms', () => {
  it('registers the six algorithms and refuses unknown names with a code', () => {
    expect(algorithmNames).toEqual([
      'ed25519',
      'ml-dsa-44',
      'ml-dsa-65',
      'ml-dsa-87',
      'slh-dsa-sha2-128f',
      'slh-dsa-sha2-128s',
    ]);
    expect(codeOf(() => defaultAlgorithms.get('rsa'))).toBe('FORGE_CRYPTO_UNKNOWN_ALGORITHM');
  });

  it.each(fastAlgorithms)('%s: sign then verify; a changed message or signature fails', (name) => {
    const alg = defaultAlgorithms.get(name);
    const keys = alg.keygen();
    expect(keys.publicKey).toHaveLength(alg.sizes.publicKey);
    const sig = alg.sign(keys.secretKey, message);
    expect(sig).toHaveLength(alg.sizes.signature);
    expect(alg.verify(keys.publicKey, message, sig)).toBe(true);
    expect(alg.verify(keys.publicKey, Buffer.from('forge two'), sig)).toBe(false);
    const bad = Uint8Array.from(sig);
    bad[bad.length >> 1] = (bad[bad.length >> 1] as number) ^ 1;
    expect(alg.verify(keys.publicKey, message, bad)).toBe(false);
  });

  it('slh-dsa-sha2-128s round-trips', () => {
    const k = key('slh-dsa-sha2-128s', 'slow');
    expect(k.publicKey.bytes).toHaveLength(32);
    const sig = k.sign(message);
    expect(defaultAlgorithms.get('slh-dsa-sha2-128s').verify(k.publicKey.bytes, message, sig)).toBe(true);
  });

  it.each(algorithmNames)('%s: malformed keys and signatures verify false, never throw', (name) => {
    const alg = defaultAlgorithms.get(name);
    const junk = [
      new Uint8Array(0),
      new Uint8Array(alg.sizes.publicKey),
      new Uint8Array(alg.sizes.publicKey + 1),
    ];
    for (const pk of junk)
      for (const sig of [new Uint8Array(0), new Uint8Array(alg.sizes.signature)]) {
        expect(alg.verify(pk, message, sig)).toBe(false);
      }
    expect(alg.verify('x' as unknown as Uint8Array, message, new Uint8Array(1))).toBe(false);
    expect(codeOf(() => alg.keygen(new Uint8Array(3)))).toBe('FORGE_CRYPTO_BAD_KEY');
    expect(codeOf(() => alg.sign(new Uint8Array(3), message))).toBe('FORGE_CRYPTO_BAD_KEY');
  });

  it('ed25519 rejects a non-canonical S (S + L), which a ZIP-215 or lax verifier might take', () => {
    const k = key('ed25519', 'one');
    const sig = k.sign(message);
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString('hex')}`);
    const l = 2n ** 252n + 27742317777372353535851937790883648493n;
    const sPlusL = Buffer.from((s + l).toString(16).padStart(64, '0'), 'hex').reverse();
    const malleable = Uint8Array.from([...sig.subarray(0, 32), ...sPlusL]);
    expect(defaultAlgorithms.get('ed25519').verify(k.publicKey.bytes, message, malleable)).toBe(false);
  });

  it('ed25519 rejects small-order public keys (the identity signs anything)', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const sig = new Uint8Array(64);
    sig[0] = 1; // R = identity, S = 0: valid under a cofactorless check with A = identity
    expect(defaultAlgorithms.get('ed25519').verify(identity, message, sig)).toBe(false);
  });

  it('a registry can be extended without touching the default one', () => {
    const fake: SignatureAlgorithm = { ...defaultAlgorithms.get('ed25519'), name: 'test-ed' };
    const extended = defaultAlgorithms.with(fake);
    expect(extended.has('test-ed')).toBe(true);
    expect(defaultAlgorithms.has('test-ed')).toBe(false);
    expect(codeOf(() => new AlgorithmRegistry([fake, fake]))).toBe('FORGE_INVALID_INPUT');
  });
});

describe('keys', () => {
  it('key ids hash the algorithm together with the key bytes', () => {
    const k = key('ed25519', 'one');
    expect(k.keyId).toMatch(/^[0-9a-f]{64}$/);
    expect(keyId('ed25519', k.publicKey.bytes)).toBe(k.keyId);
    expect(keyId('ml-dsa-65', k.publicKey.bytes)).not.toBe(k.keyId);
  });

  it.each(fastAlgorithms)('%s: raw, SPKI and PEM export/import round-trip', (name) => {
    const k = generateKeyPair(name);
    const pem = exportPublicKey(k.publicKey, 'pem');
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(importPublicKey({ format: 'pem', pem }).keyId).toBe(k.keyId);
    expect(importPublicKey({ format: 'spki', der: exportPublicKey(k.publicKey, 'spki') }).keyId).toBe(
      k.keyId,
    );
    expect(
      importPublicKey({ format: 'raw', algorithm: name, bytes: exportPublicKey(k.publicKey, 'raw') }).keyId,
    ).toBe(k.keyId);
    const privatePem = exportPrivateKey(k, 'pem');
    expect(importPrivateKey({ format: 'pem', pem: privatePem }).keyId).toBe(k.keyId);
    expect(importPrivateKey({ format: 'raw', algorithm: name, seed: exportPrivateKey(k, 'raw') }).keyId).toBe(
      k.keyId,
    );
  });

  it('ed25519 keys interoperate with node:crypto through PEM and JWK', async () => {
    const { createPrivateKey, createPublicKey, sign } = await import('node:crypto');
    const k = generateKeyPair('ed25519');
    const nodePrivate = createPrivateKey(exportPrivateKey(k, 'pem'));
    const sig = sign(null, message, nodePrivate);
    expect(defaultAlgorithms.get('ed25519').verify(k.publicKey.bytes, message, sig)).toBe(true);
    const jwk = createPublicKey(exportPublicKey(k.publicKey, 'pem')).export({ format: 'jwk' });
    expect(jwk).toEqual(exportPublicKey(k.publicKey, 'jwk'));
    expect(importPrivateKey({ format: 'jwk', jwk: exportPrivateKey(k, 'jwk') }).keyId).toBe(k.keyId);
    expect(importPublicKey({ format: 'jwk', jwk }).keyId).toBe(k.keyId);
  });

  it('refuses malformed or mismatched key documents with FORGE_KEY_FORMAT', () => {
    const k = key('ed25519', 'one');
    expect(codeOf(() => importPublicKey({ format: 'pem', pem: 'hello' }))).toBe('FORGE_KEY_FORMAT');
    expect(codeOf(() => importPublicKey({ format: 'spki', der: new Uint8Array(44) }))).toBe(
      'FORGE_KEY_FORMAT',
    );
    expect(codeOf(() => importPublicKey({ format: 'jwk', jwk: { kty: 'RSA' } }))).toBe('FORGE_KEY_FORMAT');
    expect(codeOf(() => exportPublicKey(key('ml-dsa-65', 'one').publicKey, 'jwk'))).toBe('FORGE_KEY_FORMAT');
    const jwk = {
      ...exportPrivateKey(k, 'jwk'),
      x: exportPublicKey(key('ed25519', 'two').publicKey, 'jwk').x,
    };
    expect(codeOf(() => importPrivateKey({ format: 'jwk', jwk }))).toBe('FORGE_KEY_FORMAT');
    expect(codeOf(() => publicKeyFromBytes('ed25519', new Uint8Array(31)))).toBe('FORGE_CRYPTO_BAD_KEY');
  });

  it('PrivateKey.fromSeed is deterministic', () => {
    const seed = new Uint8Array(32).fill(7);
    expect(PrivateKey.fromSeed('ml-dsa-44', seed).keyId).toBe(PrivateKey.fromSeed('ml-dsa-44', seed).keyId);
  });
});
