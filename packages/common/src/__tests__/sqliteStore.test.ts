import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, SqliteStore } from '../index';
import { describeLogTrimContract } from './logTrimContract';
import { describeStorageContract, expectForgeError } from './storageContract';

const dir = mkdtempSync(join(tmpdir(), 'forgeone-sqlite-'));
let files = 0;
/** A path for a new database file in this run's temporary directory. */
const newPath = () => join(dir, `store-${(files += 1)}.db`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The contract runs on real files (WAL, synchronous=FULL), the configuration users get.
describeStorageContract('SqliteStore', (clock) => SqliteStore.open(newPath(), { clock }));
describeLogTrimContract('SqliteStore', (clock) => SqliteStore.open(newPath(), { clock }));

describe('SqliteStore', () => {
  it('keeps everything across close and reopen', async () => {
    const path = newPath();
    const clock = new ManualClock(1_000);
    const first = await SqliteStore.open(path, { clock });
    expect([first.kind, first.path, first.durability]).toEqual(['sqlite', path, 'full']);
    await first.append('audit', [{ n: 1 }, { n: 2 }]);
    await first.putRecord('ns', 'k', 'v1');
    await first.putRecord('ns', 'k', 'v2');
    const digest = await first.putBlob(new Uint8Array([1, 2, 3]));
    await first.close();

    const second = await SqliteStore.open(path, { clock });
    expect(await second.readLog('audit')).toEqual([
      { seq: 1, time: 1_000, data: { n: 1 } },
      { seq: 2, time: 1_000, data: { n: 2 } },
    ]);
    expect(await second.getRecord('ns', 'k')).toEqual({ key: 'k', version: 2, value: 'v2' });
    expect(await second.getBlob(digest)).toEqual(new Uint8Array([1, 2, 3]));
    expect(await second.append('audit', [3])).toEqual({ firstSeq: 3, lastSeq: 3 });
    expect(await second.putRecord('ns', 'k', 'v3', { expectedVersion: 2 })).toBe(3);
    await second.close();
  });

  it('uses WAL and records its schema version', async () => {
    const path = newPath();
    await (await SqliteStore.open(path)).close();
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.prepare('SELECT version FROM forge_schema_version').pluck().all()).toEqual([1, 2]);
    } finally {
      raw.close();
    }
  });

  it('refuses a database from a newer schema without touching it', async () => {
    const path = newPath();
    await (await SqliteStore.open(path)).close();
    const raw = new Database(path);
    raw.prepare('INSERT INTO forge_schema_version (version, applied_at) VALUES (99, 0)').run();
    raw.close();
    await expectForgeError(
      SqliteStore.open(path),
      'FORGE_STORAGE_VERSION',
      /schema version 99.*upgrade ForgeOne/,
    );
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT MAX(version) FROM forge_schema_version').pluck().get()).toBe(99);
    check.close();
  });

  it('detects a tampered blob and a damaged log entry', async () => {
    const path = newPath();
    const store = await SqliteStore.open(path);
    const digest = await store.putBlob(new TextEncoder().encode('the original bytes'));
    await store.append('audit', [{ ok: true }]);

    // A second connection flips one byte behind the store's back.
    const raw = new Database(path);
    const bytes = raw.prepare('SELECT bytes FROM blobs WHERE digest = ?').pluck().get(digest) as Buffer;
    bytes[0] = bytes[0]! ^ 0x01;
    raw.prepare('UPDATE blobs SET bytes = ? WHERE digest = ?').run(bytes, digest);
    raw.prepare("UPDATE logs SET data = '{\"ok\": tru' WHERE log = 'audit' AND seq = 1").run();
    raw.close();

    await expectForgeError(
      store.getBlob(digest),
      'FORGE_STORAGE_CORRUPT',
      new RegExp(`blob ${digest} is corrupt`),
    );
    expect(await store.hasBlob(digest)).toBe(true);
    await expectForgeError(
      store.readLog('audit'),
      'FORGE_STORAGE_CORRUPT',
      /entry 1 of log audit is not valid JSON/,
    );

    // The way out the message suggests works.
    expect(await store.deleteBlob(digest)).toBe(true);
    await store.putBlob(new TextEncoder().encode('the original bytes'));
    expect(new TextDecoder().decode(await store.getBlob(digest))).toBe('the original bytes');
    await store.close();
  });

  it('reports a file that is not a database as corrupt', async () => {
    const path = newPath();
    writeFileSync(path, 'this is not a SQLite database, just some text that is long enough'.repeat(100));
    await expectForgeError(SqliteStore.open(path), 'FORGE_STORAGE_CORRUPT', /not a ForgeOne store/);
  });

  it('reports an unusable path and bad options clearly', async () => {
    await expectForgeError(
      SqliteStore.open(join(dir, 'missing-dir', 'x.db')),
      'FORGE_STORAGE_IO',
      /open failed: .*directory/,
    );
    await expectForgeError(SqliteStore.open(''), 'FORGE_STORAGE_INVALID', /file path/);
    await expectForgeError(
      SqliteStore.open(':memory:', { durability: 'fast' as never }),
      'FORGE_STORAGE_INVALID',
      /durability must be "full" or "normal"/,
    );
    await expectForgeError(
      SqliteStore.open(':memory:', { busyTimeoutMs: -1 }),
      'FORGE_STORAGE_INVALID',
      /busyTimeoutMs/,
    );
  });

  it('works in memory and with durability normal', async () => {
    const store = await SqliteStore.open(':memory:', { durability: 'normal' });
    expect(store.durability).toBe('normal');
    await store.append('audit', [1]);
    expect(await store.logHead('audit')).toBe(1);
    await store.close();
  });

  it('shares one file between connections without reusing sequence numbers', async () => {
    const path = newPath();
    const a = await SqliteStore.open(path);
    const b = await SqliteStore.open(path);
    for (let i = 0; i < 10; i += 1) await (i % 2 === 0 ? a : b).append('audit', [i, i]);
    expect((await a.readLog('audit')).map((e) => [e.seq, e.data])).toEqual(
      Array.from({ length: 20 }, (_, k) => [k + 1, Math.floor(k / 2)]),
    );
    await b.putRecord('ns', 'k', 'from b');
    await expectForgeError(
      a.putRecord('ns', 'k', 'from a', { expectedVersion: 0 }),
      'FORGE_STORAGE_CONFLICT',
    );
    await a.close();
    await b.close();
  });

  it('turns a lock held too long by another connection into FORGE_STORAGE_IO', async () => {
    const path = newPath();
    const holder = await SqliteStore.open(path);
    const waiter = await SqliteStore.open(path, { busyTimeoutMs: 20 });
    await holder.transaction(async (tx) => {
      await tx.append('audit', ['holding the write lock']);
      await expectForgeError(
        waiter.append('audit', ['blocked']),
        'FORGE_STORAGE_IO',
        /SQLITE_BUSY.*busyTimeoutMs/,
      );
    });
    // Once the lock is released the waiter carries on where the holder stopped.
    expect(await waiter.append('audit', ['after'])).toEqual({ firstSeq: 2, lastSeq: 2 });
    await holder.close();
    await waiter.close();
  });
});

describe('SqliteStore: a store from before trimLog (schema 1)', () => {
  function schemaOneStore(): string {
    const path = newPath();
    const raw = new Database(path);
    raw.exec(`
      CREATE TABLE forge_schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;
      INSERT INTO forge_schema_version VALUES (1, 0);
      CREATE TABLE logs (log TEXT NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (log, seq)) STRICT;
      CREATE TABLE records (ns TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (ns, key)) STRICT;
      CREATE TABLE blobs (digest TEXT PRIMARY KEY NOT NULL, bytes BLOB NOT NULL, size INTEGER NOT NULL) STRICT;
      INSERT INTO logs VALUES ('t', 1, 0, '"a"'), ('t', 2, 0, '"b"');
    `);
    raw.close();
    return path;
  }

  it('is read as it is read-only, and migrated (entries kept) when opened to write', async () => {
    const path = schemaOneStore();
    const reader = await SqliteStore.openReadOnly(path);
    expect(await reader.logHead('t')).toBe(2);
    await reader.close();
    const store = await SqliteStore.open(path);
    expect(await store.trimLog('t', 2)).toBe(1);
    expect((await store.readLog('t')).map((e) => e.data)).toEqual(['b']);
    expect(await store.logHead('t')).toBe(2);
    await store.close();
  });
});
