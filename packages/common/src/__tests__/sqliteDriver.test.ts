import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, fixture, runNode } from './builtPackage';

interface Outcome {
  esmImported: boolean;
  cjsImported: boolean;
  esm: 'opened' | { code: string; message: string };
  cjs: 'opened' | { code: string; message: string };
}

async function openInChild(blockDriver: boolean): Promise<Outcome> {
  const preload = blockDriver ? ['--require', fixture('blockBetterSqlite.cjs')] : [];
  const { code, stdout, stderr } = await runNode([...preload, fixture('openWithoutDriver.mjs')]);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  return JSON.parse(stdout) as Outcome;
}

describe('SqliteStore driver loading (built package)', () => {
  beforeAll(assertBuilt);

  it('imports without better-sqlite3 and explains how to install it on open', async () => {
    const outcome = await openInChild(true);
    expect(outcome.esmImported).toBe(true);
    expect(outcome.cjsImported).toBe(true);
    for (const result of [outcome.esm, outcome.cjs]) {
      expect(result).toMatchObject({
        code: 'FORGE_STORAGE_DRIVER_MISSING',
        message: expect.stringContaining('npm install better-sqlite3@12'),
      });
    }
  });

  it('opens from both builds when the driver is installed', async () => {
    const outcome = await openInChild(false);
    expect([outcome.esm, outcome.cjs]).toEqual(['opened', 'opened']);
  });
});
