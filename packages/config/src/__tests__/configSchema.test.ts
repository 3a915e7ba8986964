import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigContext,
  SecretStore,
  configSection,
  defineConfigSchema,
  logConfigSection,
  type SecretResolver,
} from '../index';
import { admin, testSchema } from './support/kernelSchema';

describe('sections and the composed schema', () => {
  it('fills every section with its defaults', () => {
    const config = testSchema.parse({});
    expect(config.mode).toBe('enforce');
    expect(config.limits.timeoutMs).toBe(1000);
    expect(config.log.level).toBe('warn');
    expect(config.db).toEqual({ hosts: ['localhost'], ratio: 0.5, tls: true, replica: null });
  });

  it('refuses a second section of the same name, naming both owners', () => {
    const again = configSection('log', z.object({}).default({}), { owner: '@other/pkg' });
    expect(() => defineConfigSchema([logConfigSection, again])).toThrow(
      expect.objectContaining({
        code: 'FORGE_CONFIG_DUPLICATE_SECTION',
        details: expect.objectContaining({ section: 'log' }),
      }),
    );
    expect(() => testSchema.extend([again])).toThrow(
      expect.objectContaining({ code: 'FORGE_CONFIG_DUPLICATE_SECTION' }),
    );
  });

  it('refuses a section without a default, a bad name and a reserved name', () => {
    expect(() => configSection('x', z.object({ a: z.number() }), { owner: 't' })).toThrow(
      expect.objectContaining({ code: 'FORGE_CONFIG_SECTION_INVALID' }),
    );
    expect(() => configSection('Bad-Name', z.number().default(1), { owner: 't' })).toThrow(
      expect.objectContaining({ code: 'FORGE_CONFIG_SECTION_INVALID' }),
    );
    expect(() => configSection('changePolicies', z.number().default(1), { owner: 't' })).toThrow(
      expect.objectContaining({ code: 'FORGE_CONFIG_SECTION_INVALID' }),
    );
  });

  it('lets a package add a section by extending, without touching the others', async () => {
    const extended = testSchema.extend([
      configSection(
        'metrics',
        z
          .object({ port: z.number().int().default(9100) })
          .strict()
          .default({ port: 9100 }),
        { owner: 'pkg' },
      ),
    ]);
    const ctx = await ConfigContext.open({ schema: extended });
    expect(ctx.get('metrics.port')).toBe(9100);
    expect(extended.ownerOf('metrics.port')).toBe('pkg');
    expect(extended.ownerOf('log.level')).toBe('@forgeone/config');
  });

  it('types get by path; an unknown path is a compile error and, at run time, FORGE_CONFIG_UNKNOWN_PATH', async () => {
    const ctx = await ConfigContext.open({ schema: testSchema });
    expectTypeOf(ctx.get('limits.timeoutMs')).toEqualTypeOf<number>();
    expectTypeOf(ctx.get('mode')).toEqualTypeOf<'enforce' | 'audit' | 'permissive'>();
    expectTypeOf(ctx.get('db.hosts')).toEqualTypeOf<string[]>();
    expectTypeOf(ctx.get('db.replica')).toEqualTypeOf<string | null>();
    // @ts-expect-error not a path of the schema
    expect(() => ctx.get('limits.nope')).toThrow(
      expect.objectContaining({ code: 'FORGE_CONFIG_UNKNOWN_PATH' }),
    );
    const fromOutside: string = 'no.such.path';
    await expect(ctx.set(fromOutside, 1, admin)).rejects.toMatchObject({ code: 'FORGE_CONFIG_UNKNOWN_PATH' });
    expect(ctx.get('db.password')).toBeUndefined(); // known, optional, absent
  });

  it('reports every issue with its own code: unknown keys, wrong types, secrets without echoing them', () => {
    const issues = testSchema.issues({
      limits: { timeoutMs: 'slow', bogus: 1 },
      db: { password: 'hunter2' },
      extra: {},
    });
    expect(issues.map((i) => [i.code, i.path])).toEqual(
      expect.arrayContaining([
        ['FORGE_CONFIG_INVALID', 'limits.timeoutMs'],
        ['FORGE_CONFIG_UNKNOWN_KEY', 'limits.bogus'],
        ['FORGE_CONFIG_UNKNOWN_KEY', 'extra'],
        ['FORGE_CONFIG_SECRET_LITERAL', 'db.password'],
      ]),
    );
    expect(JSON.stringify(issues)).not.toContain('hunter2');
  });
});

describe('SecretResolver', () => {
  it('is implemented structurally by the SecretStore', () => {
    // Compile-time: the secret store can be handed to a ConfigContext as its resolver.
    expectTypeOf<SecretStore>().toExtend<SecretResolver>();
    expect(typeof SecretStore.prototype.resolve).toBe('function');
  });
});
