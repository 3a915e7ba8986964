import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ManualClock,
  isForgeError,
  type JsonValue,
  type StoragePort,
  type StorageTransaction,
} from '@forgeone/common';
import { SECRETS_META_NAMESPACE, SECRETS_NAMESPACE, SecretStore, SecretValue } from '../../index';
import { codeOf, passphrase, randomKey, storeKinds, testScrypt } from './secretFixtures';

const CANARY = 'canary-7f3e9a2b-do-not-leak';

describe.each(storeKinds)('SecretStore over $kind', ({ make }) => {
  let store: StoragePort;
  afterEach(async () => store?.close());

  it('sets, gets, versions and lists secrets without their values', async () => {
    store = await make();
    const clock = new ManualClock(1_000);
    const secrets = await SecretStore.open(store, randomKey(), { clock });
    expect(await SecretStore.hasKey(store)).toBe(false);
    const first = await secrets.set('db.password', 'hunter2', { actor: 'ops', reason: 'initial' });
    expect(first).toEqual({
      name: 'db.password',
      version: 1,
      createdAt: 1_000,
      updatedAt: 1_000,
      actor: 'ops',
      reason: 'initial',
    });
    expect(await SecretStore.hasKey(store)).toBe(true);
    clock.advance(500);
    const second = await secrets.set('db.password', 'correct horse ✓');
    expect(second).toMatchObject({
      version: 2,
      createdAt: 1_000,
      updatedAt: 1_500,
      actor: null,
      reason: null,
    });
    await secrets.set('api-token', CANARY);
    expect((await secrets.get('db.password')).reveal()).toBe('correct horse ✓');
    expect((await secrets.resolve('api-token')).reveal()).toBe(CANARY);
    const listed = await secrets.list();
    expect(listed.map((info) => [info.name, info.version])).toEqual([
      ['api-token', 1],
      ['db.password', 2],
    ]);
    expect(JSON.stringify(listed)).not.toContain(CANARY);
    // At rest the value is nowhere in clear.
    const raw = JSON.stringify(await store.listRecords(SECRETS_NAMESPACE));
    expect(raw).not.toContain(CANARY);
    expect(raw).not.toContain('hunter2');
  });

  it('removes a secret; a missing one is FORGE_SECRET_NOT_FOUND', async () => {
    store = await make();
    const secrets = await SecretStore.open(store, randomKey());
    await secrets.set('a', 'x');
    await secrets.remove('a');
    expect(await codeOf(() => secrets.get('a'))).toBe('FORGE_SECRET_NOT_FOUND');
    expect(await codeOf(() => secrets.remove('a'))).toBe('FORGE_SECRET_NOT_FOUND');
    expect(await codeOf(() => secrets.resolve('never-set'))).toBe('FORGE_SECRET_NOT_FOUND');
    expect(await secrets.list()).toEqual([]);
  });

  it('refuses bad names, values and notes without echoing them', async () => {
    store = await make();
    const secrets = await SecretStore.open(store, randomKey());
    for (const name of ['', '1abc', 'a b', 'a/b', `a${'b'.repeat(64)}`, 'é', CANARY.replace(/-/g, ' ')]) {
      let message = '';
      expect(
        await codeOf(() =>
          secrets.set(name, 'v').catch((error: unknown) => {
            message = (error as Error).message;
            throw error;
          }),
        ),
      ).toBe('FORGE_SECRET_NAME_INVALID');
      if (name.length > 3) expect(message).not.toContain(name);
    }
    for (const value of ['', 'a\0b', '\uD800x', 'x'.repeat(64 * 1024 + 1)])
      expect(await codeOf(() => secrets.set('ok', value))).toBe('FORGE_SECRET_VALUE_INVALID');
    expect((await secrets.set('ok', 'é'.repeat(32 * 1024))).version).toBe(1); // exactly 64 KiB
    expect(await codeOf(() => secrets.set('ok', 'v', { actor: 'a\nb' }))).toBe('FORGE_SECRET_META_INVALID');
    expect(await codeOf(() => secrets.set('ok', 'v', { reason: 'r'.repeat(201) }))).toBe(
      'FORGE_SECRET_META_INVALID',
    );
    expect(await codeOf(() => secrets.set('ok', 'v', { extra: 1 } as unknown as { actor: string }))).toBe(
      'FORGE_SECRET_META_INVALID',
    );
  });

  it('a wrong key or passphrase is FORGE_SECRET_KEY_WRONG, and so is the other kind of key', async () => {
    store = await make();
    const key = randomKey();
    await (await SecretStore.open(store, key)).set('a', CANARY);
    expect(await codeOf(() => SecretStore.open(store, randomKey()))).toBe('FORGE_SECRET_KEY_WRONG');
    expect(await codeOf(() => SecretStore.open(store, passphrase('pw')))).toBe('FORGE_SECRET_KEY_WRONG');
    expect((await (await SecretStore.open(store, key)).get('a')).reveal()).toBe(CANARY);
  });

  it('a passphrase store opens with the passphrase only, and its stored scrypt parameters are bounded', async () => {
    store = await make();
    await (await SecretStore.open(store, passphrase('right horse'))).set('a', CANARY);
    expect(await codeOf(() => SecretStore.open(store, passphrase('wrong horse')))).toBe(
      'FORGE_SECRET_KEY_WRONG',
    );
    // The parameters come from the store, not the source: another cost still opens it.
    const other = await SecretStore.open(store, { kind: 'passphrase', passphrase: 'right horse' });
    expect((await other.get('a')).reveal()).toBe(CANARY);
    const record = (await store.getRecord(SECRETS_META_NAMESPACE, 'kek'))!.value as Record<string, JsonValue>;
    const scrypt = record.scrypt as Record<string, JsonValue>;
    expect(scrypt).toMatchObject(testScrypt);
    for (const absurd of [{ logN: 30 }, { logN: 20, r: 16 }, { p: 1000 }, { logN: 4 }, { r: 0 }]) {
      await store.putRecord(SECRETS_META_NAMESPACE, 'kek', { ...record, scrypt: { ...scrypt, ...absurd } });
      expect(await codeOf(() => SecretStore.open(store, passphrase('right horse')))).toBe(
        'FORGE_SECRET_KDF_REFUSED',
      );
    }
  });

  it('a ciphertext moved to another name, or its metadata edited, is FORGE_SECRET_TAMPERED', async () => {
    store = await make();
    const secrets = await SecretStore.open(store, randomKey());
    await secrets.set('a', CANARY);
    await secrets.set('b', 'other');
    const a = (await store.getRecord(SECRETS_NAMESPACE, 'a'))!.value as Record<string, JsonValue>;
    await store.putRecord(SECRETS_NAMESPACE, 'b', a);
    expect(await codeOf(() => secrets.get('b'))).toBe('FORGE_SECRET_TAMPERED');
    await store.putRecord(SECRETS_NAMESPACE, 'a', { ...a, actor: 'someone else' });
    expect(await codeOf(() => secrets.get('a'))).toBe('FORGE_SECRET_TAMPERED');
    await store.putRecord(SECRETS_NAMESPACE, 'a', { ...a, version: 7 });
    expect(await codeOf(() => secrets.get('a'))).toBe('FORGE_SECRET_TAMPERED');
    await store.putRecord(SECRETS_NAMESPACE, 'a', { ...a, unexpected: true });
    expect(await codeOf(() => secrets.get('a'))).toBe('FORGE_SECRET_TAMPERED');
    await store.deleteRecord(SECRETS_META_NAMESPACE, 'kek');
    await store.putRecord(SECRETS_NAMESPACE, 'a', a);
    expect(await codeOf(() => secrets.set('c', 'v'))).toBe('FORGE_SECRET_TAMPERED');
  });

  it('rotateKey rewraps every secret: same values under the new key, the old key no longer opens', async () => {
    store = await make();
    const oldKey = passphrase('old');
    const secrets = await SecretStore.open(store, oldKey);
    const values = new Map(Array.from({ length: 25 }, (_, i) => [`s${i}`, `value ${i} ${CANARY}`] as const));
    for (const [name, value] of values) await secrets.set(name, value);
    const before = await secrets.list();
    const ciphertexts = JSON.stringify(
      (await store.listRecords(SECRETS_NAMESPACE)).map((r) => (r.value as { ciphertext: string }).ciphertext),
    );
    const newKey = randomKey();
    expect(await secrets.rotateKey(newKey)).toEqual({ rewrapped: 25 });
    // The instance goes on with the new key; a fresh open needs it.
    for (const [name, value] of values) expect((await secrets.get(name)).reveal()).toBe(value);
    const reopened = await SecretStore.open(store, newKey);
    for (const [name, value] of values) expect((await reopened.get(name)).reveal()).toBe(value);
    expect(await reopened.list()).toEqual(before);
    expect(
      JSON.stringify(
        (await store.listRecords(SECRETS_NAMESPACE)).map(
          (r) => (r.value as { ciphertext: string }).ciphertext,
        ),
      ),
    ).toBe(ciphertexts);
    expect(await codeOf(() => SecretStore.open(store, oldKey))).toBe('FORGE_SECRET_KEY_WRONG');
    await reopened.set('after', 'rotation');
    expect((await (await SecretStore.open(store, newKey)).get('after')).reveal()).toBe('rotation');
  });

  it('a writer holding a key rotated elsewhere is FORGE_SECRET_KEY_ROTATED and writes nothing', async () => {
    store = await make();
    const key = randomKey();
    const a = await SecretStore.open(store, key);
    await a.set('x', 'one');
    const b = await SecretStore.open(store, key);
    await a.rotateKey(randomKey());
    expect(await codeOf(() => b.set('x', 'two'))).toBe('FORGE_SECRET_KEY_ROTATED');
    expect(await codeOf(() => b.get('x'))).toBe('FORGE_SECRET_KEY_ROTATED');
    expect(await codeOf(() => b.rotateKey(randomKey()))).toBe('FORGE_SECRET_KEY_ROTATED');
    expect((await a.get('x')).reveal()).toBe('one');
  });

  it('a store opened before its first secret picks up the key another writer made', async () => {
    store = await make();
    const key = randomKey();
    const early = await SecretStore.open(store, key);
    const other = await SecretStore.open(store, key);
    await other.set('x', 'made elsewhere');
    expect((await early.get('x')).reveal()).toBe('made elsewhere');
    const stranger = await SecretStore.open(
      new (await import('@forgeone/common')).MemoryStore(),
      randomKey(),
    );
    expect(await stranger.list()).toEqual([]);
    const late = await SecretStore.open(store, randomKey()).catch((error: unknown) => error);
    expect(isForgeError(late) && late.code).toBe('FORGE_SECRET_KEY_WRONG');
  });

  it('rotation of a store with no secrets makes the new key the store key', async () => {
    store = await make();
    const secrets = await SecretStore.open(store, randomKey());
    const next = randomKey();
    expect(await secrets.rotateKey(next)).toEqual({ rewrapped: 0 });
    await secrets.set('a', 'v');
    expect((await (await SecretStore.open(store, next)).get('a')).reveal()).toBe('v');
  });
});

describe('SecretStore rotation failing part-way', () => {
  it('leaves every secret under the old key when a write fails mid-rotation (SQLite)', async () => {
    const sqlite = storeKinds.find((kind) => kind.kind === 'sqlite')!;
    const store = await sqlite.make();
    try {
      const oldKey = randomKey();
      const secrets = await SecretStore.open(store, oldKey);
      for (let i = 0; i < 30; i += 1) await secrets.set(`s${i}`, `v${i}`);
      // A store that fails the 17th write of the transaction: the disk filling up mid-rotation.
      let writes = 0;
      const failing = withTransaction(store, (tx) =>
        withMethod(tx, 'putRecord', (...args: Parameters<typeof tx.putRecord>) => {
          writes += 1;
          if (writes === 17) throw new Error('disk full');
          return tx.putRecord(...args);
        }),
      );
      const rotating = await SecretStore.open(failing, oldKey);
      await expect(rotating.rotateKey(randomKey())).rejects.toThrow('disk full');
      const reopened = await SecretStore.open(store, oldKey);
      for (let i = 0; i < 30; i += 1) expect((await reopened.get(`s${i}`)).reveal()).toBe(`v${i}`);
      // The failed rotation left the instance on the old key too.
      expect((await rotating.get('s0')).reveal()).toBe('v0');
    } finally {
      await store.close();
    }
  });
});

describe('SecretValue', () => {
  it('shows its name, never its text, in every accidental form', () => {
    const value = new SecretValue('db.password', CANARY);
    const forms = [
      String(value),
      `${value}`,
      value + '',
      JSON.stringify({ value }),
      inspect(value),
      inspect({ nested: [value] }, { depth: 5 }),
      inspect(value, { showHidden: true }),
      JSON.stringify({ ...value }),
      Object.keys(value).join(),
      JSON.stringify(structuredClone({ ...value })),
    ];
    for (const form of forms) expect(form).not.toContain(CANARY);
    expect(String(value)).toBe('[secret db.password]');
    expect(JSON.stringify(value)).toBe('"[secret db.password]"');
    expect(value.reveal()).toBe(CANARY);
  });

  it('errors of every failing operation never carry the value', async () => {
    const store = new (await import('@forgeone/common')).MemoryStore();
    const secrets = await SecretStore.open(store, randomKey());
    await secrets.set('a', CANARY);
    const record = (await store.getRecord(SECRETS_NAMESPACE, 'a'))!.value as Record<string, JsonValue>;
    await store.putRecord(SECRETS_NAMESPACE, 'b', record);
    const errors = await Promise.all(
      [
        () => secrets.get('b'),
        () => secrets.set('a', `${CANARY}\0`),
        () => secrets.set(`${CANARY} x`, 'x'),
        () => secrets.set('a', CANARY.repeat(5000)),
        () => SecretStore.open(store, randomKey()),
      ].map((work) =>
        work().then(
          () => undefined,
          (error: unknown) => error,
        ),
      ),
    );
    for (const error of errors) {
      expect(isForgeError(error)).toBe(true);
      expect(inspect(error, { depth: 10 })).not.toContain(CANARY);
      expect(JSON.stringify(error)).not.toContain(CANARY);
    }
  });
});

/** `target` with one method replaced (a Proxy: the stores keep private fields, so no prototype tricks). */
function withMethod<T extends object>(target: T, name: keyof T, method: unknown): T {
  return new Proxy(target, {
    get(object, key) {
      if (key === name) return method;
      const value: unknown = Reflect.get(object, key, object);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(object) : value;
    },
  });
}

/** `store` whose transactions hand `fn` the transaction as `wrap` changes it. */
function withTransaction(
  store: StoragePort,
  wrap: (tx: StorageTransaction) => StorageTransaction,
): StoragePort {
  return withMethod(store, 'transaction', <T>(fn: (tx: StorageTransaction) => Promise<T>) =>
    store.transaction((tx) => fn(wrap(tx))),
  );
}
