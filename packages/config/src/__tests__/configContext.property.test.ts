import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryStore, isForgeError } from '@forgeone/common';
import { ConfigContext, parseConfigText, resolveConfig } from '../index';
import { admin, operator, testSchema } from './support/kernelSchema';

type Op =
  | { kind: 'set'; path: string; value: unknown; meta: typeof admin }
  | { kind: 'replace'; value: unknown; meta: typeof admin }
  | { kind: 'rollback'; version: number; meta: typeof admin };

const meta = fc.constantFrom(admin, operator);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    path: fc.constant('limits.timeoutMs'),
    value: fc.oneof(fc.integer({ min: -5, max: 4_000_000 }), fc.constant('x')),
    meta,
  }),
  fc.record({
    kind: fc.constant('set' as const),
    path: fc.constant('mode'),
    value: fc.constantFrom('enforce', 'audit', 'permissive', 'off'),
    meta,
  }),
  fc.record({
    kind: fc.constant('set' as const),
    path: fc.constant('limits.memoryPages'),
    value: fc.integer({ min: 0, max: 40_000 }),
    meta,
  }),
  fc.record({
    kind: fc.constant('set' as const),
    path: fc.constantFrom('log.level', 'nope.path'),
    value: fc.constantFrom('info', 'loud'),
    meta,
  }),
  fc.record({
    kind: fc.constant('replace' as const),
    value: fc.record(
      {
        mode: fc.constantFrom('enforce', 'audit', 'bogus'),
        limits: fc.record({ timeoutMs: fc.integer({ min: 0, max: 5000 }) }, { requiredKeys: [] }),
        resources: fc.record({ memoryPages: fc.integer({ min: 1, max: 20_000 }) }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    ),
    meta,
  }),
  fc.record({ kind: fc.constant('rollback' as const), version: fc.integer({ min: 0, max: 12 }), meta }),
);

const rules = [
  { path: 'mode', leaveValue: 'enforce', requireRole: 'admin' },
  { path: 'limits.memoryPages', maxPath: 'resources.memoryPages' },
] as const;

describe('ConfigContext property: the live configuration is the last accepted one, and history replays to it', () => {
  it('holds for any sequence of valid and invalid set / replace / rollback calls', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const store = new MemoryStore();
        const ctx = await ConfigContext.open({ schema: testSchema, store, rules: [...rules] });
        let expected = ctx.value();
        const versions = [expected];
        for (const step of ops) {
          try {
            const before = ctx.version;
            if (step.kind === 'set') await ctx.set(step.path, step.value, step.meta);
            else if (step.kind === 'replace') await ctx.replace(step.value, step.meta);
            else await ctx.rollback(step.version, step.meta);
            if (ctx.version !== before) versions.push(ctx.value());
            expected = ctx.value();
          } catch (error) {
            // A refusal is a ForgeError with a code, and leaves the configuration as it was.
            expect(isForgeError(error)).toBe(true);
            expect(ctx.value()).toEqual(expected);
          }
          // The invariants that policies guard hold after every step.
          expect(ctx.get('limits.memoryPages')).toBeLessThanOrEqual(ctx.get('resources.memoryPages'));
        }
        expect(ctx.version).toBe(versions.length);
        // Replaying the history's changes from nothing gives the live configuration's leaves.
        const leaves = new Map<string, unknown>();
        for (const entry of await ctx.history())
          for (const change of entry.changes) {
            if (change.new === undefined) leaves.delete(change.path);
            else leaves.set(change.path, change.new);
          }
        const live = new Map<string, unknown>();
        const walk = (value: unknown, prefix: string): void => {
          if (
            typeof value === 'object' &&
            value !== null &&
            !Array.isArray(value) &&
            Object.keys(value).length > 0
          )
            for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
          else live.set(prefix, value);
        };
        walk(ctx.value(), '');
        expect(Object.fromEntries(leaves)).toEqual(Object.fromEntries(live));
        // A context opened again on the store resumes at the same version and value.
        const again = await ConfigContext.open({ schema: testSchema, store });
        expect(again.version).toBe(ctx.version);
        expect(again.value()).toEqual(ctx.value());
      }),
      { numRuns: 60 },
    );
  });
});

describe('parser property: arbitrary text gives a value or a ForgeError, never anything else', () => {
  const yamlish = fc
    .array(
      fc.constantFrom(
        'mode',
        ': ',
        'limits',
        '\n',
        '  ',
        '- ',
        '[',
        ']',
        '{',
        '}',
        '&a ',
        '*a',
        '"',
        "'",
        '#',
        '---',
        'timeoutMs',
        '5',
        'secret:x',
        '!!str ',
        '? ',
        ',',
      ),
      { maxLength: 40 },
    )
    .map((parts) => parts.join(''));
  it('parseConfigText', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 100 }), yamlish),
        (text) => {
          try {
            const parsed = parseConfigText(text, 'f.yaml');
            // Whatever it parsed to, validating it reports issues rather than throwing.
            testSchema.issues(parsed.value);
            parsed.locate(['limits', 'timeoutMs']);
          } catch (error) {
            expect(isForgeError(error), String(error)).toBe(true);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('resolveConfig never rejects on hostile environment and flags', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom(
            'FORGEONE_MODE',
            'FORGEONE_LIMITS__TIMEOUT_MS',
            'FORGEONE_DB__HOSTS',
            'FORGEONE_X__Y',
            'FORGEONE_LIMITS',
          ),
          fc.string({ maxLength: 30 }),
        ),
        fc.array(fc.string({ maxLength: 30 }), { maxLength: 4 }),
        async (env, sets) => {
          const result = await resolveConfig({ schema: testSchema, env, sets });
          for (const problem of result.problems) expect(problem.code).toMatch(/^FORGE_/);
          expect(result.ok).toBe(result.problems.length === 0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
