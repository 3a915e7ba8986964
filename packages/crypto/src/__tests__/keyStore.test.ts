import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodePrivateKeyFile,
  decodePublicKeyFile,
  encodePrivateKeyFile,
  exportPublicKey,
  isEncryptedKeyFile,
  readPrivateKeyFile,
  readPublicKeyFile,
  writeKeyFiles,
} from '../index';
import { key, asyncCodeOf } from './fixtures';

const fastScrypt = { N: 1024, r: 8, p: 1 };

describe('key store', () => {
  it('encrypts the seed: right passphrase decrypts, wrong one is a clear coded error', async () => {
    const k = key('ml-dsa-65', 'one');
    const text = encodePrivateKeyFile(k, { passphrase: 'correct horse', scrypt: fastScrypt });
    expect(isEncryptedKeyFile(text)).toBe(true);
    expect(text).not.toContain(Buffer.from(k.seed()).toString('base64url'));
    expect(decodePrivateKeyFile(text, 'correct horse').keyId).toBe(k.keyId);
    expect(await asyncCodeOf(() => decodePrivateKeyFile(text, 'wrong horse'))).toBe('FORGE_KEY_PASSPHRASE');
    expect(await asyncCodeOf(() => decodePrivateKeyFile(text))).toBe('FORGE_KEY_PASSPHRASE_REQUIRED');
  });

  it('authenticates the metadata: a swapped public key fails as a wrong passphrase would', async () => {
    const k = key('ed25519', 'one');
    const doc = JSON.parse(encodePrivateKeyFile(k, { passphrase: 'pw', scrypt: fastScrypt })) as Record<
      string,
      unknown
    >;
    const other = key('ed25519', 'two');
    const tampered = JSON.stringify({
      ...doc,
      keyid: other.keyId,
      public: Buffer.from(other.publicKey.bytes).toString('hex'),
    });
    expect(await asyncCodeOf(() => decodePrivateKeyFile(tampered, 'pw'))).toBe('FORGE_KEY_PASSPHRASE');
  });

  it('refuses a key file that demands an unbounded scrypt cost', async () => {
    const doc = JSON.parse(
      encodePrivateKeyFile(key('ed25519', 'one'), { passphrase: 'pw', scrypt: fastScrypt }),
    ) as { encryption: Record<string, unknown> };
    doc.encryption.N = 2 ** 30;
    expect(await asyncCodeOf(() => decodePrivateKeyFile(JSON.stringify(doc), 'pw'))).toBe('FORGE_KEY_FORMAT');
  });

  it('unencrypted files hold the seed in the clear and still check consistency', async () => {
    const k = key('ed25519', 'one');
    const text = encodePrivateKeyFile(k);
    expect(isEncryptedKeyFile(text)).toBe(false);
    expect(decodePrivateKeyFile(text).keyId).toBe(k.keyId);
    const doc = JSON.parse(text) as Record<string, unknown>;
    const lying = JSON.stringify({
      ...doc,
      public: Buffer.from(key('ed25519', 'two').publicKey.bytes).toString('hex'),
    });
    expect(await asyncCodeOf(() => decodePrivateKeyFile(lying))).toBe('FORGE_KEY_FORMAT');
  });

  it('writes <base>.key with mode 0600 and <base>.pub, and never overwrites by default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-keys-'));
    const k = key('ed25519', 'one');
    const out = await writeKeyFiles(join(dir, 'signer'), k, { passphrase: 'pw', scrypt: fastScrypt });
    expect((await stat(out.privatePath)).mode & 0o777).toBe(0o600);
    expect((await readPublicKeyFile(out.publicPath)).keyId).toBe(k.keyId);
    expect((await readPrivateKeyFile(out.privatePath, { passphrase: () => 'pw' })).keyId).toBe(k.keyId);
    expect(await asyncCodeOf(() => writeKeyFiles(join(dir, 'signer'), k))).toBe('FORGE_KEY_EXISTS');
    await writeKeyFiles(join(dir, 'signer'), k, { overwrite: true });
    expect(isEncryptedKeyFile(await readFile(out.privatePath))).toBe(false);
    expect((await stat(out.privatePath)).mode & 0o777).toBe(0o600);
  });

  it('public key files may also be SPKI PEM or JWK; junk is FORGE_KEY_FORMAT', async () => {
    const k = key('ed25519', 'one');
    expect(decodePublicKeyFile(exportPublicKey(k.publicKey, 'pem')).keyId).toBe(k.keyId);
    expect(decodePublicKeyFile(JSON.stringify(exportPublicKey(k.publicKey, 'jwk'))).keyId).toBe(k.keyId);
    expect(await asyncCodeOf(() => decodePublicKeyFile('{"type":"forgeone-public-key"}'))).toBe(
      'FORGE_KEY_FORMAT',
    );
    expect(await asyncCodeOf(() => decodePublicKeyFile(Uint8Array.from([0xff])))).toBe('FORGE_KEY_FORMAT');
    const dir = await mkdtemp(join(tmpdir(), 'forge-keys-'));
    await writeFile(join(dir, 'big.key'), Buffer.alloc(100_000, 32));
    expect(await asyncCodeOf(() => readPrivateKeyFile(join(dir, 'big.key')))).toBe('FORGE_KEY_FORMAT');
    expect(await asyncCodeOf(() => readPrivateKeyFile(join(dir, 'missing.key')))).toBe('FORGE_KEY_IO');
  });
});
