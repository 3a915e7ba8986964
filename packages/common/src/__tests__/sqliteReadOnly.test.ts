import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../index';
import { expectForgeError } from './storageContract';

const dir = mkdtempSync(join(tmpdir(), 'forgeone-sqlite-ro-'));
let files = 0;
const newPath = () => join(dir, `store-${(files += 1)}.db`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * What a reader must not change: the database file's bytes and times, and what its WAL holds (SQLite
 * may create an empty -wal/-shm pair for a read-only reader of a WAL database; they hold nothing).
 */
function fingerprint(path: string) {
  const info = statSync(path);
  const wal = `${path}-wal`;
  return {
    sha256: digest(path),
    mtimeMs: info.mtimeMs,
    size: info.size,
    wal: existsSync(wal) && statSync(wal).size > 0 ? digest(wal) : 'empty',
  };
}

describe('SqliteStore.openReadOnly', () => {
  it('reads a store without changing a byte of it', async () => {
    const path = newPath();
    const writer = await SqliteStore.open(path);
    await writer.append('audit', [{ n: 1 }, { n: 2 }]);
    await writer.close();
    const before = fingerprint(path);

    const reader = await SqliteStore.openReadOnly(path);
    expect(await reader.readLog('audit')).toHaveLength(2);
    expect(await reader.logHead('audit')).toBe(2);
    // A write is refused, and refused without touching the file.
    await expect(reader.append('audit', [{ n: 3 }])).rejects.toMatchObject({ code: 'FORGE_STORAGE_IO' });
    await reader.close();

    expect(fingerprint(path)).toEqual(before);
  });

  it('reads writes still in the WAL of a live writer, leaving the WAL as it was', async () => {
    const path = newPath();
    const writer = await SqliteStore.open(path);
    await writer.append('audit', [{ n: 1 }]);
    const before = fingerprint(path);
    expect(before.wal).not.toBe('empty');
    const reader = await SqliteStore.openReadOnly(path);
    expect(await reader.readLog('audit')).toEqual([expect.objectContaining({ seq: 1, data: { n: 1 } })]);
    await reader.close();
    expect(fingerprint(path)).toEqual(before);
    await writer.close();
  });

  it('refuses a 0-byte file and leaves it empty (open() would write a schema into it)', async () => {
    const path = newPath();
    writeFileSync(path, '');
    await expectForgeError(SqliteStore.openReadOnly(path), 'FORGE_STORAGE_CORRUPT', /not a ForgeOne store/);
    expect(statSync(path).size).toBe(0);
  });

  it('refuses a file that is not SQLite, an SQLite file of another program, and a missing file', async () => {
    const text = newPath();
    writeFileSync(text, 'hello, not a database\n'.repeat(100));
    await expectForgeError(SqliteStore.openReadOnly(text), 'FORGE_STORAGE_CORRUPT');

    const other = newPath();
    const raw = new Database(other);
    raw.exec('CREATE TABLE things (x)');
    raw.close();
    const before = fingerprint(other);
    await expectForgeError(
      SqliteStore.openReadOnly(other),
      'FORGE_STORAGE_CORRUPT',
      /no forge_schema_version/,
    );
    expect(fingerprint(other)).toEqual(before);

    const missing = newPath();
    await expectForgeError(SqliteStore.openReadOnly(missing), 'FORGE_STORAGE_IO');
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a store written by a newer ForgeOne', async () => {
    const path = newPath();
    await (await SqliteStore.open(path)).close();
    const raw = new Database(path);
    raw.prepare('INSERT INTO forge_schema_version (version, applied_at) VALUES (99, 0)').run();
    raw.close();
    await expectForgeError(SqliteStore.openReadOnly(path), 'FORGE_STORAGE_VERSION');
  });
});
