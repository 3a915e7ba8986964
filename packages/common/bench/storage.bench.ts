// Append throughput of SqliteStore against raw better-sqlite3 doing the same SQL work, measured in
// the same run. Run: `npx vitest bench --run --project common` from the repository root. The
// summary vitest prints under each group is the ratio to read ("x times faster than").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, bench, describe } from 'vitest';
import { SqliteStore, type JsonValue, type SqliteDurability } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'forgeone-bench-'));
let files = 0;

/** A typical audit entry (about 200 bytes of JSON). */
const entry: JsonValue = {
  kind: 'syscall.decided',
  containerId: 'ctr_01hx3v5k8q2w9e7r6t4y3u2i1o',
  syscall: 'wasi.fd_write',
  args: { fd: 1, bytes: 512 },
  decision: 'allow',
  reasons: [{ policy: 'default', message: 'fd 1 is stdout' }],
};
const batch: JsonValue[] = Array.from({ length: 100 }, () => entry);

/**
 * The baseline: what SqliteStore.append does, written directly against better-sqlite3 with the
 * same schema and pragmas (one immediate transaction: read the head, insert, commit).
 */
function rawAppender(durability: SqliteDurability): (data: readonly JsonValue[]) => void {
  const db = new Database(join(dir, `raw-${(files += 1)}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  db.exec(
    'CREATE TABLE logs (log TEXT NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (log, seq)) STRICT',
  );
  const head = db.prepare('SELECT COALESCE(MAX(seq), 0) FROM logs WHERE log = ?').pluck();
  const insert = db.prepare('INSERT INTO logs (log, seq, time, data) VALUES (?, ?, ?, ?)');
  const append = db.transaction((data: readonly JsonValue[]) => {
    const first = (head.get('audit') as number) + 1;
    const time = Date.now();
    data.forEach((value, i) => insert.run('audit', first + i, time, JSON.stringify(value)));
  });
  closers.push(() => db.close());
  return (data) => append.immediate(data);
}

async function store(durability: SqliteDurability): Promise<SqliteStore> {
  const opened = await SqliteStore.open(join(dir, `store-${(files += 1)}.db`), { durability });
  closers.push(() => opened.close());
  return opened;
}

const closers: (() => unknown)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
  rmSync(dir, { recursive: true, force: true });
});

for (const durability of ['full', 'normal'] as const) {
  const raw = rawAppender(durability);
  const rawBatch = rawAppender(durability);
  const single = await store(durability);
  const batched = await store(durability);

  describe(`append 1 entry, durability ${durability}`, () => {
    bench('raw better-sqlite3 (baseline)', () => raw([entry]));
    bench('SqliteStore.append', async () => {
      await single.append('audit', [entry]);
    });
  });

  describe(`append a batch of 100, durability ${durability}`, () => {
    bench('raw better-sqlite3 (baseline)', () => rawBatch(batch));
    bench('SqliteStore.append', async () => {
      await batched.append('audit', batch);
    });
  });
}

const full = await store('full');
const normal = await store('normal');
describe('SqliteStore.append 1 entry: durability full vs normal', () => {
  bench('full (baseline)', async () => {
    await full.append('audit', [entry]);
  });
  bench('normal', async () => {
    await normal.append('audit', [entry]);
  });
});
