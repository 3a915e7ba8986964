import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '@forgeone/common';
import { SecretStore, passphraseKeySource, readSecretKeyFile } from '../../index';
import { codeOf } from './secretFixtures';

const dir = mkdtempSync(join(tmpdir(), 'forge-keyfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = randomBytes(32);
function keyFile(name: string, text: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode); // the umask may have cut bits from the mode asked for
  return path;
}
const sync = (work: () => unknown) => codeOf(async () => work());

describe('readSecretKeyFile', () => {
  it('reads 32 bytes written in hex or base64, with or without a newline', () => {
    for (const [name, text] of [
      ['hex', key.toString('hex')],
      ['hex-upper-nl', `${key.toString('hex').toUpperCase()}\n`],
      ['b64', key.toString('base64')],
      ['b64-crlf', `${key.toString('base64')}\r\n`],
    ] as const) {
      const source = readSecretKeyFile(keyFile(name, text));
      expect(source.kind).toBe('key');
      expect(source.kind === 'key' && Buffer.from(source.key).equals(key)).toBe(true);
    }
    expect(readSecretKeyFile(keyFile('ro', key.toString('hex'), 0o400)).kind).toBe('key');
  });

  it('refuses a file others may read, a symlink, a directory and a FIFO: FORGE_SECRET_KEY_FILE_UNSAFE', async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o606])
      expect(
        await sync(() => readSecretKeyFile(keyFile(`m${mode.toString(8)}`, key.toString('hex'), mode))),
      ).toBe('FORGE_SECRET_KEY_FILE_UNSAFE');
    const target = keyFile('target', key.toString('hex'));
    symlinkSync(target, join(dir, 'link'));
    expect(await sync(() => readSecretKeyFile(join(dir, 'link')))).toBe('FORGE_SECRET_KEY_FILE_UNSAFE');
    mkdirSync(join(dir, 'adir'), { mode: 0o700 });
    expect(await sync(() => readSecretKeyFile(join(dir, 'adir')))).toBe('FORGE_SECRET_KEY_FILE_UNSAFE');
    execFileSync('mkfifo', ['-m', '600', join(dir, 'fifo')]);
    expect(await sync(() => readSecretKeyFile(join(dir, 'fifo')))).toBe('FORGE_SECRET_KEY_FILE_UNSAFE');
  });

  it('refuses a missing file and anything but 32 key bytes: FORGE_SECRET_KEY_FILE_INVALID', async () => {
    expect(await sync(() => readSecretKeyFile(join(dir, 'absent')))).toBe('FORGE_SECRET_KEY_FILE_INVALID');
    for (const [name, text] of [
      ['empty', ''],
      ['short', key.subarray(0, 31).toString('hex')],
      ['long', Buffer.concat([key, key]).toString('hex')],
      ['spaces', ` ${key.toString('hex')}`],
      ['two-lines', `${key.toString('hex')}\n\n`],
      ['b64-url', key.toString('base64url')],
      ['binary', key.toString('latin1')],
      ['huge', 'a'.repeat(5000)],
    ] as const)
      expect(await sync(() => readSecretKeyFile(keyFile(name, text))), name).toBe(
        'FORGE_SECRET_KEY_FILE_INVALID',
      );
  });

  it('a key file opens the store it made and no other', async () => {
    const store = new MemoryStore();
    const path = keyFile('store-key', key.toString('hex'));
    await (await SecretStore.open(store, readSecretKeyFile(path))).set('a', 'v');
    expect((await (await SecretStore.open(store, readSecretKeyFile(path))).get('a')).reveal()).toBe('v');
    const other = keyFile('other-key', randomBytes(32).toString('base64'));
    expect(await codeOf(() => SecretStore.open(store, readSecretKeyFile(other)))).toBe(
      'FORGE_SECRET_KEY_WRONG',
    );
  });
});

describe('passphraseKeySource', () => {
  it('refuses an empty passphrase and out-of-bounds scrypt parameters', async () => {
    expect(await sync(() => passphraseKeySource(''))).toBe('FORGE_SECRET_KEY_MISSING');
    expect(await sync(() => passphraseKeySource('pw', { logN: 9, r: 8, p: 1 }))).toBe(
      'FORGE_SECRET_KDF_REFUSED',
    );
    expect(await sync(() => passphraseKeySource('pw', { logN: 20, r: 8, p: 1 }))).toBe(
      'FORGE_SECRET_KDF_REFUSED',
    );
    expect(passphraseKeySource('pw', { logN: 18, r: 8, p: 1 }).kind).toBe('passphrase');
  });
});
