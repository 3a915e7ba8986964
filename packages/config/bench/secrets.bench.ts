// Secret store speed, each against a baseline in the same run. Run: `npx vitest bench --run
// --project config` from the repository root; the summary under each group is the ratio to read.
//  (c) resolve of one secret  vs  reading its record from the same store (what crypto adds);
//      rotation of 1,000 secrets  vs  rewriting the same 1,000 records in one transaction;
//      scrypt, paid once per open with a passphrase, is its own group (open with a key file as base).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { MemoryStore, SqliteStore, type JsonValue, type StoragePort } from '@forgeone/common';
import {
  SECRETS_NAMESPACE,
  SecretStore,
  defaultScryptParams,
  passphraseKeySource,
  type SecretKeySource,
} from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'forgeone-secrets-bench-'));
const closers: StoragePort[] = [];
afterAll(async () => {
  for (const store of closers) await store.close();
  rmSync(dir, { recursive: true, force: true });
});
const key = (): SecretKeySource => ({ kind: 'key', key: Uint8Array.from(randomBytes(32)) });
let files = 0;
async function sqlite(): Promise<SqliteStore> {
  const store = await SqliteStore.open(join(dir, `s${(files += 1)}.db`));
  closers.push(store);
  return store;
}

for (const [kind, make] of [
  ['memory', async (): Promise<StoragePort> => new MemoryStore()],
  ['sqlite', sqlite],
] as const) {
  const store: StoragePort = await make();
  const secrets = await SecretStore.open(store, key());
  await secrets.set('db.password', 'a 32-character database password');
  describe(`(c) resolve one secret (${kind})`, () => {
    bench('baseline: getRecord of the same record', async () => {
      await store.getRecord(SECRETS_NAMESPACE, 'db.password');
    });
    bench('SecretStore.resolve (unwrap + decrypt)', async () => {
      (await secrets.resolve('db.password')).reveal();
    });
  });
}

const rotationStore = await sqlite();
const rotating = await SecretStore.open(rotationStore, key());
for (let i = 0; i < 1000; i += 1)
  await rotating.set(`secret-${i}`, `value number ${i} of the rotation bench`);
const baselineStore = await sqlite();
await baselineStore.transaction(async (tx) => {
  for (let i = 0; i < 1000; i += 1) await tx.putRecord(SECRETS_NAMESPACE, `secret-${i}`, { n: i });
});

describe('(c) key rotation of 1,000 secrets (sqlite, key file: no scrypt)', () => {
  bench(
    'baseline: read and rewrite 1,000 records in one transaction',
    async () => {
      await baselineStore.transaction(async (tx) => {
        for (const record of await tx.listRecords(SECRETS_NAMESPACE, { limit: 1000 }))
          await tx.putRecord(SECRETS_NAMESPACE, record.key, record.value as JsonValue, {
            expectedVersion: record.version,
          });
      });
    },
    { iterations: 10, time: 2000 },
  );
  bench(
    'SecretStore.rotateKey: unwrap + rewrap 1,000 data keys',
    async () => {
      await rotating.rotateKey(key());
    },
    { iterations: 10, time: 2000 },
  );
});

const passStore = new MemoryStore();
await (await SecretStore.open(passStore, passphraseKeySource('bench passphrase'))).set('a', 'v');
const keySource = key();
const keyStore = new MemoryStore();
await (await SecretStore.open(keyStore, keySource)).set('a', 'v');
const { logN, r, p } = defaultScryptParams;
describe(`key derivation, once per open (scrypt logN=${logN} r=${r} p=${p})`, () => {
  bench('baseline: open with a key file', async () => {
    await SecretStore.open(keyStore, keySource);
  });
  bench(
    'open with a passphrase (scrypt)',
    async () => {
      await SecretStore.open(passStore, passphraseKeySource('bench passphrase'));
    },
    { iterations: 3, time: 1000 },
  );
});
