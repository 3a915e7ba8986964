import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConfigContext, ConfigWatcher, type ReloadResult } from '../index';
import { testSchema } from './support/kernelSchema';

const root = mkdtempSync(join(tmpdir(), 'forge-config-watch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => {
  const dir = join(root, `d${dirs++}`);
  mkdirSync(dir);
  return dir;
};

/** Waits until `check` holds, polling; fails after 20 s instead of hanging. */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the watcher');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('ConfigWatcher', () => {
  it('applies valid writes, refuses invalid ones as a whole, and debounces a burst', async () => {
    const dir = freshDir();
    const file = join(dir, 'forgeone.yaml');
    writeFileSync(file, 'mode: audit\n');
    const context = await ConfigContext.open({ schema: testSchema, initial: { mode: 'audit' } });
    const results: ReloadResult[] = [];
    const watcher = new ConfigWatcher({ file, context, debounceMs: 50, onResult: (r) => results.push(r) });
    try {
      writeFileSync(file, 'mode: audit\nlimits: { timeoutMs: 400 }\n');
      await until(() => results.length >= 1);
      expect(results[0]).toEqual({ applied: true, version: 2, changed: ['limits.timeoutMs'] });

      writeFileSync(file, 'mode: audit\nlimits: { timeoutMs: -1 }\n');
      await until(() => results.length >= 2);
      expect(results[1]).toMatchObject({
        applied: false,
        code: 'FORGE_CONFIG_INVALID',
        message: expect.stringContaining(`${file}:2:22`),
      });
      expect(context.get('limits.timeoutMs')).toBe(400);

      // A burst: many writes inside the quiet time, the last one valid, is one reload of the last.
      const before = results.length;
      for (let i = 1; i <= 20; i++)
        writeFileSync(file, `limits: { timeoutMs: ${i === 20 ? 777 : 'oops'} }\n`);
      await until(() => context.get('limits.timeoutMs') === 777);
      await watcher.idle();
      expect(results.length - before).toBeLessThanOrEqual(3);
      expect(results.at(-1)).toMatchObject({ applied: true });

      // Replaced by rename (how editors save): noticed and applied.
      writeFileSync(join(dir, 'next.tmp'), 'limits: { timeoutMs: 888 }\n');
      renameSync(join(dir, 'next.tmp'), file);
      await until(() => context.get('limits.timeoutMs') === 888);

      // Deleted, then a directory in its place: refused with their codes, the configuration stays.
      const seen = results.length;
      rmSync(file);
      await until(() => results.length > seen);
      expect(results.at(-1)).toMatchObject({ applied: false, code: 'FORGE_CONFIG_FILE_NOT_FOUND' });
      mkdirSync(file);
      await until(() => results.some((r) => !r.applied && r.code === 'FORGE_CONFIG_FILE_NOT_REGULAR'));
      expect(context.get('limits.timeoutMs')).toBe(888);
    } finally {
      watcher.close();
    }
  });

  it('refuses a changed changePolicies list rather than ignoring it', async () => {
    const dir = freshDir();
    const file = join(dir, 'forgeone.yaml');
    writeFileSync(file, 'changePolicies: [{ path: mode, frozen: true }]\n');
    const context = await ConfigContext.open({ schema: testSchema });
    const watcher = new ConfigWatcher({ file, context, onResult: () => undefined });
    try {
      expect(await watcher.reload()).toMatchObject({ applied: false, code: 'FORGE_CONFIG_POLICY_INVALID' });
    } finally {
      watcher.close();
    }
  });

  it('property: after any sequence of valid and invalid writes, the live configuration is the last valid file', async () => {
    const write = fc.oneof(
      fc.record({
        valid: fc.constant(true),
        timeoutMs: fc.integer({ min: 1, max: 5000 }),
        mode: fc.constantFrom('enforce', 'audit'),
      }),
      fc.record({
        valid: fc.constant(false),
        text: fc.constantFrom('limits: { timeoutMs: 0 }\n', 'mode: [\n', 'bogus: 1\n', 'a: &a [*a]\n'),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 8 }), async (writes) => {
        const dir = freshDir();
        const file = join(dir, 'forgeone.yaml');
        const context = await ConfigContext.open({ schema: testSchema });
        const watcher = new ConfigWatcher({ file, context, onResult: () => undefined });
        let expected = context.value();
        try {
          for (const w of writes) {
            writeFileSync(
              file,
              w.valid ? `mode: ${w.mode}\nlimits: { timeoutMs: ${w.timeoutMs} }\n` : w.text,
            );
            const result = await watcher.reload();
            expect(result.applied).toBe(w.valid);
            if (w.valid) expected = testSchema.parse({ mode: w.mode, limits: { timeoutMs: w.timeoutMs } });
            expect(context.value()).toEqual(expected);
          }
        } finally {
          watcher.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
