import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MemoryStore, SqliteStore, isForgeError, type StoragePort } from '@forgeone/common';
import { passphraseKeySource, type SecretKeySource } from '../../index';

/** The cheapest scrypt the bounds allow: tests run many derivations. */
export const testScrypt = { logN: 10, r: 1, p: 1 } as const;

export const randomKey = (): SecretKeySource => ({ kind: 'key', key: Uint8Array.from(randomBytes(32)) });
export const passphrase = (text: string): SecretKeySource => passphraseKeySource(text, testScrypt);

/** Both real stores: the in-memory one and SQLite in a temporary directory. */
export const storeKinds: ReadonlyArray<{ kind: string; make: () => Promise<StoragePort> }> = [
  { kind: 'memory', make: async () => new MemoryStore() },
  {
    kind: 'sqlite',
    make: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'forge-secrets-'));
      const store = await SqliteStore.open(join(dir, 'kernel.db'));
      const close = store.close.bind(store);
      return Object.assign(store, {
        close: async () => {
          await close();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    },
  },
];

/** The ForgeError code `work` fails with (the test fails when it succeeds or throws something else). */
export async function codeOf(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (error) {
    if (isForgeError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a ForgeError, and it succeeded');
}
