import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePrivateKeyFile, isEncryptedKeyFile, readPublicKeyFile } from '@forgeone/crypto';
import { cli } from './support/inProcess';

describe('forgeone keygen', () => {
  it('writes <out>.key (0600) and <out>.pub and prints the key id; unencrypted with a warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-cli-'));
    const run = await cli(['keygen', '--alg', 'ed25519', '--out', 'signer'], dir);
    expect(run.code).toBe(0);
    expect(run.out).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    expect(run.err).toEqual([
      expect.stringMatching(/^warning: FORGEONE_PASSPHRASE is not set: .*UNENCRYPTED/),
    ]);
    expect((await stat(join(dir, 'signer.key'))).mode & 0o777).toBe(0o600);
    expect((await readPublicKeyFile(join(dir, 'signer.pub'))).keyId).toBe(run.out[0]);
    expect(isEncryptedKeyFile(await readFile(join(dir, 'signer.key')))).toBe(false);
  });

  it('encrypts with FORGEONE_PASSPHRASE and reports JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-cli-'));
    const run = await cli(['keygen', '--alg', 'ml-dsa-44', '--out', 'pq', '--json'], dir, {
      FORGEONE_PASSPHRASE: 'secret',
    });
    expect(run.code).toBe(0);
    expect(run.err).toEqual([]);
    const body = JSON.parse(run.out[0] as string) as Record<string, unknown>;
    expect(body).toMatchObject({ ok: true, code: 'OK', algorithm: 'ml-dsa-44', encrypted: true });
    const text = await readFile(join(dir, 'pq.key'));
    expect(decodePrivateKeyFile(text, 'secret').keyId).toBe(body.keyId);
    expect(() => decodePrivateKeyFile(text, 'wrong')).toThrow(
      expect.objectContaining({ code: 'FORGE_KEY_PASSPHRASE' }),
    );
  });

  it('refuses an unknown algorithm (usage, exit 2) and an existing key (exit 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-cli-'));
    const bad = await cli(['keygen', '--alg', 'rsa', '--out', 'k'], dir);
    expect(bad.code).toBe(2);
    expect(bad.err[0]).toMatch(/^FORGE_CLI_USAGE: unknown --alg rsa/);
    expect((await cli(['keygen', '--alg', 'ed25519', '--out', 'k'], dir)).code).toBe(0);
    const again = await cli(['keygen', '--alg', 'ed25519', '--out', 'k'], dir);
    expect(again.code).toBe(1);
    expect(again.err.at(-1)).toMatch(/^FORGE_KEY_EXISTS: /);
    expect((await cli(['keygen', '--alg', 'ed25519', '--out', 'k', '--force'], dir)).code).toBe(0);
  });
});
