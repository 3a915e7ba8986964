import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, MemoryStore, SqliteStore, type StoragePort } from '@forgeone/common';
import { SELFTEST_NAMESPACE, runSelfTest } from '../index';

describe('runSelfTest', () => {
  it('passes on this machine and reports each check', async () => {
    const report = await runSelfTest();
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(['webassembly', 'randomness', 'clock']);
  });

  it('fails the clock check on a clock that reads zero, and keeps running the others', async () => {
    const report = await runSelfTest({ clock: new ManualClock(0) });
    expect(report.ok).toBe(false);
    const clock = report.checks.find((c) => c.name === 'clock');
    expect(clock).toMatchObject({ ok: false });
    expect(clock?.detail).toMatch(/^FORGE_INTERNAL: wall clock reads 0/);
    expect(report.checks.find((c) => c.name === 'webassembly')?.ok).toBe(true);
  });

  it('reports a store that loses writes', async () => {
    const lossy = {
      kind: 'lossy',
      append: async () => ({ firstSeq: 1, lastSeq: 1 }),
      readLog: async () => [],
    } as unknown as StoragePort;
    const report = await runSelfTest({ store: lossy });
    expect(report.checks.find((c) => c.name === 'storage')).toMatchObject({ ok: false });
  });

  it('leaves at most one record in the store however often it runs, and no log entries', async () => {
    const sqlite = await SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'selftest-')), 'kernel.db'));
    for (const store of [new MemoryStore(), sqlite]) {
      for (let i = 0; i < 200; i++) {
        const report = await runSelfTest({ store });
        expect(report.checks.find((c) => c.name === 'storage')).toMatchObject({ ok: true });
      }
      expect(await store.logHead(SELFTEST_NAMESPACE)).toBe(0);
      expect(await store.listRecords(SELFTEST_NAMESPACE)).toHaveLength(1);
      await store.close();
    }
  });
});
