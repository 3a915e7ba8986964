import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryStore } from '@forgeone/common';
import { ConfigContext, SecretStore, isSecretName, passphraseKeySource, secretReferenceName } from '../index';
import { admin, testSchema } from './support/kernelSchema';

describe('ConfigContext with the real SecretStore as its resolver', () => {
  it('resolves a reference, refuses an undefined one with its code, and keeps values out of history', async () => {
    const store = new MemoryStore();
    const secrets = await SecretStore.open(
      store,
      passphraseKeySource('correct horse', { logN: 10, r: 1, p: 1 }),
    );
    await secrets.set('db-password', 'canary-77c1');
    const ctx = await ConfigContext.open({
      schema: testSchema,
      store,
      secrets,
      initial: { db: { password: 'secret:db-password' } },
    });
    expect((await ctx.resolveSecret('db.password')).reveal()).toBe('canary-77c1');
    await ctx.checkSecrets();
    await ctx.set('db.password', 'secret:not-there', admin);
    await expect(ctx.checkSecrets()).rejects.toMatchObject({
      code: 'FORGE_CONFIG_SECRET_UNDEFINED',
      details: { path: 'db.password', secret: 'not-there' },
    });
    const records = JSON.stringify(await store.readLog('config:history'));
    expect(records).not.toContain('canary-77c1');
    expect(JSON.stringify(await ctx.history())).not.toContain('canary-77c1');
  });
});

describe('secret references', () => {
  it('name exactly what the secret store can hold (property)', () => {
    const names = fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[A-Za-z0-9._-]{1,66}$/));
    fc.assert(
      fc.property(names, (name) => {
        expect(secretReferenceName(`secret:${name}`) !== undefined).toBe(isSecretName(name));
      }),
      { numRuns: 500 },
    );
  });
});
