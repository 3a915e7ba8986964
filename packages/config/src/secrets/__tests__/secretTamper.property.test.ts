import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore, isForgeError, type JsonValue } from '@forgeone/common';
import { SECRETS_META_NAMESPACE, SECRETS_NAMESPACE, SecretStore } from '../../index';
import { passphrase, randomKey } from './secretFixtures';

const NEVER_A_VALUE = new Set([
  'FORGE_SECRET_TAMPERED',
  'FORGE_SECRET_KEY_WRONG',
  'FORGE_SECRET_KDF_REFUSED',
]);

/** `value` with one byte of one field changed: a bit of a string's character, or of a number. */
function flip(value: JsonValue, bit: number, at: number): JsonValue {
  if (typeof value === 'number') return value ^ (1 << (bit % 31)) || value + 1;
  if (typeof value === 'string') {
    if (value.length === 0) return 'x';
    const i = at % value.length;
    return (
      value.slice(0, i) + String.fromCharCode(value.charCodeAt(i) ^ (1 << (bit % 7))) + value.slice(i + 1)
    );
  }
  if (value === null) return 'x';
  if (typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const key = keys[at % keys.length]!;
    return { ...value, [key]: flip(value[key]!, bit, Math.floor(at / keys.length)) };
  }
  return value;
}

const secretText = fc
  .string({ minLength: 1, maxLength: 40 })
  .filter((s) => !s.includes('\0') && !/[\uD800-\uDFFF]/u.test(s));

describe('secret store invariants', () => {
  it('any single change to any stored field of a secret never yields a value', async () => {
    const key = randomKey();
    await fc.assert(
      fc.asyncProperty(
        secretText,
        fc.constantFrom(
          'actor',
          'reason',
          'version',
          'createdAt',
          'updatedAt',
          'keyId',
          'wrappedKey',
          'nonce',
          'ciphertext',
          'format',
        ),
        fc.nat(),
        fc.nat(),
        async (value, field, bit, at) => {
          const store = new MemoryStore();
          const secrets = await SecretStore.open(store, key);
          await secrets.set('target', value, { actor: 'ops', reason: 'why' });
          const record = (await store.getRecord(SECRETS_NAMESPACE, 'target'))!.value as Record<
            string,
            JsonValue
          >;
          const edited = { ...record, [field]: flip(record[field]!, bit, at) };
          await store.putRecord(SECRETS_NAMESPACE, 'target', edited);
          const outcome = await (await SecretStore.open(store, key)).get('target').then(
            (got) => got.reveal(),
            (error: unknown) => error,
          );
          expect(isForgeError(outcome) && NEVER_A_VALUE.has(outcome.code), String(outcome)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("any single change to the store's key record never yields a value", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.nat(), fc.nat(), async (usePassphrase, bit, at) => {
        const store = new MemoryStore();
        const key = usePassphrase ? passphrase('pw') : randomKey();
        await (await SecretStore.open(store, key)).set('target', 'the value');
        const record = (await store.getRecord(SECRETS_META_NAMESPACE, 'kek'))!.value;
        await store.putRecord(SECRETS_META_NAMESPACE, 'kek', flip(record, bit, at));
        const outcome = await SecretStore.open(store, key).then(
          async (secrets) => (await secrets.get('target')).reveal(),
          (error: unknown) => error,
        );
        // rotatedAt and createdAt are informative: a change there opens, but then the value is the right one.
        if (typeof outcome === 'string') expect(outcome).toBe('the value');
        else expect(isForgeError(outcome) && NEVER_A_VALUE.has(outcome.code), String(outcome)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('rotate then get returns the same values, through any chain of keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9._-]{0,20}$/), secretText, {
          minKeys: 1,
          maxKeys: 8,
        }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
        async (values, chain) => {
          const store = new MemoryStore();
          let key = randomKey();
          const secrets = await SecretStore.open(store, key);
          for (const [name, value] of Object.entries(values)) await secrets.set(name, value);
          for (const usePassphrase of chain) {
            key = usePassphrase ? passphrase(`pw${Math.random()}`) : randomKey();
            await secrets.rotateKey(key);
          }
          const reopened = await SecretStore.open(store, key);
          for (const [name, value] of Object.entries(values))
            expect((await reopened.get(name)).reveal()).toBe(value);
        },
      ),
      { numRuns: 40 },
    );
  });
});
