import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, MemoryStore, SqliteStore, ForgeError } from '@forgeone/common';
import { ConfigContext, type ChangePolicy, type SubscriberFailure } from '../index';
import { admin, operator, testSchema, type TestConfig } from './support/kernelSchema';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('ConfigContext: get, set, replace', () => {
  it('sets a value validated against the whole configuration, and refuses a bad one as a whole', async () => {
    const ctx = await ConfigContext.open({ schema: testSchema });
    expect(ctx.version).toBe(1);
    const result = await ctx.set('limits.timeoutMs', 250, admin);
    expect(result).toEqual({ version: 2, changes: [{ path: 'limits.timeoutMs', old: 1000, new: 250 }] });
    expect(ctx.get('limits.timeoutMs')).toBe(250);
    expect(ctx.get('limits').timeoutMs).toBe(250);
    await expect(ctx.set('limits.timeoutMs', 0, admin)).rejects.toMatchObject({
      code: 'FORGE_CONFIG_INVALID',
      details: { path: 'limits.timeoutMs' },
    });
    // A burst needs a rate: the section's cross-field rule sees the whole next configuration.
    await ctx.set('limits.syscallsPerSecond', 0, admin);
    await expect(ctx.set('limits.syscallBurst', 10, admin)).rejects.toMatchObject({
      code: 'FORGE_CONFIG_INVALID',
    });
    expect(ctx.get('limits.syscallBurst')).toBe(0);
    expect(ctx.version).toBe(3);
  });

  it('keeps values frozen, so a reader cannot change the live configuration', async () => {
    const ctx = await ConfigContext.open({ schema: testSchema });
    const limits = ctx.get('limits') as { timeoutMs: number };
    expect(() => {
      limits.timeoutMs = 5;
    }).toThrow(TypeError);
    expect(ctx.get('limits.timeoutMs')).toBe(1000);
  });

  it('replaces everything at once or nothing', async () => {
    const ctx = await ConfigContext.open({ schema: testSchema, initial: { mode: 'audit' } });
    await expect(ctx.replace({ mode: 'permissive', limits: { timeoutMs: -1 } }, admin)).rejects.toMatchObject(
      { code: 'FORGE_CONFIG_INVALID' },
    );
    expect(ctx.get('mode')).toBe('audit');
    const done = await ctx.replace({ mode: 'permissive', log: { level: 'debug' } }, admin);
    expect(done.changes.map((c) => c.path)).toEqual(['log.level', 'mode']);
    expect(ctx.get('mode')).toBe('permissive');
    expect(ctx.get('log.level')).toBe('debug');
    // `replace` is whole: what it leaves out returns to its default.
    await ctx.replace({}, admin);
    expect(ctx.get('mode')).toBe('enforce');
  });

  it('makes no version for a change that changes nothing, and refuses bad metadata', async () => {
    const ctx = await ConfigContext.open({ schema: testSchema });
    expect(await ctx.set('limits.timeoutMs', 1000, admin)).toEqual({ version: 1, changes: [] });
    await expect(
      ctx.set('limits.timeoutMs', 5, { actor: { id: '', roles: [] }, reason: 'x' }),
    ).rejects.toMatchObject({ code: 'FORGE_INVALID_INPUT' });
    await expect(
      ctx.set('limits.timeoutMs', 5, { actor: { id: 'a', roles: [] }, reason: '' }),
    ).rejects.toMatchObject({ code: 'FORGE_INVALID_INPUT' });
  });
});

describe('ConfigContext: subscribers', () => {
  it('tells subscribers of a path and of its parents, with new and old values', async () => {
    const ctx = await ConfigContext.open({ schema: testSchema });
    const seen: unknown[] = [];
    ctx.subscribe('limits.timeoutMs', (next, old, change) => seen.push(['leaf', next, old, change.version]));
    ctx.subscribe('limits', (next, old) => seen.push(['section', next.timeoutMs, old.timeoutMs]));
    ctx.subscribe('mode', () => seen.push(['mode']));
    await ctx.set('limits.timeoutMs', 300, admin);
    expect(seen).toEqual([
      ['leaf', 300, 1000, 2],
      ['section', 300, 1000],
    ]);
  });

  it('a subscriber that throws or rejects blocks neither the others nor the change, and is reported', async () => {
    const failures: SubscriberFailure[] = [];
    const ctx = await ConfigContext.open({ schema: testSchema, onSubscriberError: (f) => failures.push(f) });
    const calls: string[] = [];
    ctx.subscribe('mode', () => {
      calls.push('first');
      throw new Error('boom');
    });
    ctx.subscribe('mode', async () => {
      calls.push('second');
      throw new Error('later boom');
    });
    const unsubscribe = ctx.subscribe('mode', (next) => calls.push(`third:${next}`));
    const result = await ctx.set('mode', 'audit', admin);
    expect(result.version).toBe(2);
    expect(ctx.get('mode')).toBe('audit');
    expect(calls).toEqual(['first', 'second', 'third:audit']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures.map((f) => [f.path, f.version, (f.error as Error).message])).toEqual([
      ['mode', 2, 'boom'],
      ['mode', 2, 'later boom'],
    ]);
    unsubscribe();
    await ctx.set('mode', 'permissive', admin);
    expect(calls.filter((c) => c.startsWith('third'))).toHaveLength(1);
  });
});

describe('ConfigContext: change policies', () => {
  const rules = [
    { path: 'mode', leaveValue: 'enforce', requireRole: 'admin' },
    { path: 'limits.memoryPages', maxPath: 'resources.memoryPages' },
    { name: 'no huge deadlines', path: 'limits.timeoutMs', max: 60_000 },
  ] as const;

  it('mode leaves enforce only with an admin; a refusal names the rule', async () => {
    const ctx = await ConfigContext.open({ schema: testSchema, rules: [...rules] });
    const refusal = await ctx.set('mode', 'permissive', operator).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ForgeError);
    expect(refusal).toMatchObject({
      code: 'FORGE_CONFIG_CHANGE_REFUSED',
      details: { rule: expect.stringContaining('mode leaves enforce') },
    });
    expect(ctx.get('mode')).toBe('enforce');
    await ctx.set('mode', 'audit', admin);
    // Away from audit is not governed by the rule.
    await ctx.set('mode', 'permissive', operator);
    expect(ctx.get('mode')).toBe('permissive');
  });

  it('limits.memoryPages may not exceed resources.memoryPages, whichever side moves', async () => {
    const ctx = await ConfigContext.open({
      schema: testSchema,
      rules: [...rules],
      initial: { resources: { memoryPages: 1024 } },
    });
    await expect(ctx.set('limits.memoryPages', 2048, admin)).rejects.toMatchObject({
      code: 'FORGE_CONFIG_CHANGE_REFUSED',
    });
    await ctx.set('limits.memoryPages', 1024, admin);
    await expect(ctx.set('resources.memoryPages', 512, admin)).rejects.toMatchObject({
      code: 'FORGE_CONFIG_CHANGE_REFUSED',
    });
    await expect(ctx.set('limits.timeoutMs', 120_000, admin)).rejects.toMatchObject({
      details: { rule: 'no huge deadlines' },
    });
  });

  it('the value rules hold for the initial configuration too', async () => {
    await expect(
      ConfigContext.open({
        schema: testSchema,
        rules: [...rules],
        initial: { limits: { timeoutMs: 120_000 } },
      }),
    ).rejects.toMatchObject({
      code: 'FORGE_CONFIG_CHANGE_REFUSED',
    });
  });

  it('runs code policies, fails closed when one throws, and can remove them', async () => {
    const ctx = await ConfigContext.open({ schema: testSchema });
    const noTls: ChangePolicy<TestConfig> = {
      name: 'tls stays on',
      check: ({ after }) => after.db.tls || 'TLS may not be turned off',
    };
    const remove = ctx.addPolicy(noTls);
    await expect(ctx.set('db.tls', false, admin)).rejects.toMatchObject({
      details: { rule: 'tls stays on' },
    });
    const broken = ctx.addPolicy({ name: 'broken', check: () => Promise.reject(new Error('no compiler')) });
    await expect(ctx.set('log.level', 'info', admin)).rejects.toMatchObject({
      code: 'FORGE_CONFIG_CHANGE_REFUSED',
      details: { rule: 'broken' },
    });
    broken();
    remove();
    await ctx.set('db.tls', false, admin);
    expect(ctx.get('db.tls')).toBe(false);
  });

  it('refuses a rule naming an unknown path', async () => {
    await expect(
      ConfigContext.open({ schema: testSchema, rules: [{ path: 'limits.nope', max: 1 }] }),
    ).rejects.toMatchObject({
      code: 'FORGE_CONFIG_POLICY_INVALID',
    });
    await expect(
      ConfigContext.open({ schema: testSchema, rules: [{ path: 'mode', max: 1 }] }),
    ).rejects.toMatchObject({
      code: 'FORGE_CONFIG_POLICY_INVALID',
    });
  });
});

describe('ConfigContext: history and rollback', () => {
  it('keeps every change with time, actor, reason and old/new; history(path) filters; rollback is a new version', async () => {
    const clock = new ManualClock(1_000);
    const ctx = await ConfigContext.open({ schema: testSchema, store: new MemoryStore(), clock });
    clock.advance(5);
    await ctx.set('limits.timeoutMs', 200, { actor: { id: 'alice', roles: ['admin'] }, reason: 'faster' });
    await ctx.set('mode', 'audit', admin);
    await ctx.set('limits.timeoutMs', 300, admin);
    const all = await ctx.history();
    expect(all.map((e) => [e.version, e.kind])).toEqual([
      [1, 'initial'],
      [2, 'set'],
      [3, 'set'],
      [4, 'set'],
    ]);
    expect(all[0]?.time).toBe(1_000);
    expect(all[1]?.time).toBe(1_005);
    expect(all[1]).toMatchObject({
      actor: { id: 'alice', roles: ['admin'] },
      reason: 'faster',
      changes: [{ path: 'limits.timeoutMs', old: 1000, new: 200 }],
    });
    expect((await ctx.history('limits')).map((e) => e.version)).toEqual([1, 2, 4]);
    const back = await ctx.rollback(2, admin);
    expect(back.version).toBe(5);
    expect(ctx.get('limits.timeoutMs')).toBe(200);
    expect(ctx.get('mode')).toBe('enforce');
    expect((await ctx.history()).at(-1)?.kind).toBe('rollback');
    await expect(ctx.rollback(99, admin)).rejects.toMatchObject({ code: 'FORGE_CONFIG_VERSION_NOT_FOUND' });
  });

  it('a rollback passes the change policies like any change', async () => {
    const ctx = await ConfigContext.open({
      schema: testSchema,
      rules: [{ path: 'mode', leaveValue: 'enforce', requireRole: 'admin' }],
      initial: { mode: 'audit' },
    });
    await ctx.set('mode', 'enforce', operator);
    await expect(ctx.rollback(1, operator)).rejects.toMatchObject({ code: 'FORGE_CONFIG_CHANGE_REFUSED' });
    await ctx.rollback(1, admin);
    expect(ctx.get('mode')).toBe('audit');
  });

  it('is durable in SQLite: a context opened again resumes at the last version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-config-'));
    dirs.push(dir);
    const path = join(dir, 'state.db');
    let store = await SqliteStore.open(path);
    const first = await ConfigContext.open({ schema: testSchema, store, initial: { mode: 'audit' } });
    await first.set('limits.timeoutMs', 777, admin);
    await first.set('db.password', 'secret:db-password', admin);
    await store.close();
    store = await SqliteStore.open(path);
    const again = await ConfigContext.open({ schema: testSchema, store, initial: { mode: 'permissive' } });
    expect(again.version).toBe(3);
    expect(again.get('mode')).toBe('audit');
    expect(again.get('limits.timeoutMs')).toBe(777);
    expect(again.get('db.password')).toBe('secret:db-password');
    await again.rollback(1, admin);
    expect(again.get('limits.timeoutMs')).toBe(1000);
    await store.close();
  });

  it('two contexts on one store cannot both write the same version', async () => {
    const store = new MemoryStore();
    const a = await ConfigContext.open({ schema: testSchema, store });
    const b = await ConfigContext.open({ schema: testSchema, store });
    await a.set('mode', 'audit', admin);
    await expect(b.set('mode', 'permissive', admin)).rejects.toMatchObject({ code: 'FORGE_CONFIG_CONFLICT' });
    expect(b.get('mode')).toBe('enforce');
    expect((await ConfigContext.open({ schema: testSchema, store })).get('mode')).toBe('audit');
  });
});

describe('ConfigContext: secrets', () => {
  const store = new Map([['db-password', 'canary-5f1e']]);
  const resolver = {
    resolve(name: string) {
      const value = store.get(name);
      return value === undefined
        ? Promise.reject(new Error(`no secret ${name}`))
        : Promise.resolve({ reveal: () => value });
    },
  };

  it('keeps references in the context and resolves them through the resolver', async () => {
    const ctx = await ConfigContext.open({
      schema: testSchema,
      secrets: resolver,
      initial: { db: { password: 'secret:db-password' } },
    });
    expect(ctx.get('db.password')).toBe('secret:db-password');
    expect((await ctx.resolveSecret('db.password')).reveal()).toBe('canary-5f1e');
    await ctx.checkSecrets();
    const history = JSON.stringify(await ctx.history());
    expect(history).not.toContain('canary-5f1e');
    expect(JSON.stringify(ctx.value())).not.toContain('canary-5f1e');
  });

  it('a reference to an undefined secret, a literal and a missing resolver each have a code', async () => {
    const ctx = await ConfigContext.open({
      schema: testSchema,
      secrets: resolver,
      initial: { db: { password: 'secret:missing' } },
    });
    await expect(ctx.checkSecrets()).rejects.toMatchObject({
      code: 'FORGE_CONFIG_SECRET_UNDEFINED',
      details: { secret: 'missing' },
    });
    const literal = await ctx
      .set('db.password', 'hunter2-literal', admin)
      .catch((e: unknown) => e as ForgeError);
    expect(literal).toMatchObject({ code: 'FORGE_CONFIG_SECRET_LITERAL' });
    expect((literal as ForgeError).message).not.toContain('hunter2');
    const bare = await ConfigContext.open({
      schema: testSchema,
      initial: { db: { password: 'secret:db-password' } },
    });
    await expect(bare.resolveSecret('db.password')).rejects.toMatchObject({
      code: 'FORGE_CONFIG_SECRET_NO_RESOLVER',
    });
  });
});

describe('ConfigContext: readers', () => {
  it('a reader follows every change and is checked once, when it is made', async () => {
    const ctx = await ConfigContext.open({ schema: testSchema });
    const timeoutMs = ctx.reader('limits.timeoutMs');
    expect(timeoutMs()).toBe(1000);
    await ctx.set('limits.timeoutMs', 42, admin);
    expect(timeoutMs()).toBe(42);
    await ctx.rollback(1, admin);
    expect(timeoutMs()).toBe(1000);
    expect(ctx.get('limits')).toBe(ctx.value().limits);
    // @ts-expect-error not a path
    expect(() => ctx.reader('toString')).toThrow(
      expect.objectContaining({ code: 'FORGE_CONFIG_UNKNOWN_PATH' }),
    );
    const outside: string = 'toString';
    expect(() => ctx.get(outside as 'mode')).toThrow(
      expect.objectContaining({ code: 'FORGE_CONFIG_UNKNOWN_PATH' }),
    );
  });
});
