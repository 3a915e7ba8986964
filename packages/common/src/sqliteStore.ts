import { createRequire } from 'node:module';
// Types only: the driver itself is loaded lazily in open(), so importing @forgeone/common never
// needs the native module.
import type BetterSqlite3 from 'better-sqlite3';
import { systemClock, type Clock } from './clock';
import { ForgeError, isForgeError } from './forgeError';
import {
  EngineStore,
  type PutOutcome,
  type RawLogEntry,
  type RawRecord,
  type RawWrite,
  type StorageEngine,
} from './internal/engineStore';

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement<unknown[], unknown>;

/** How hard a commit works to survive failures. */
export type SqliteDurability = 'full' | 'normal';

export interface SqliteStoreOptions {
  /**
   * `full` (default): a resolved write survives a process kill and a power loss (SQLite
   * `synchronous=FULL`). `normal`: faster; survives a process kill, but the last writes may be lost
   * on power loss or an OS crash.
   */
  readonly durability?: SqliteDurability;
  /** How long a write waits for another process holding the database lock. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** Source of append times. Default: the system clock. */
  readonly clock?: Clock;
}

interface Migration {
  readonly version: number;
  readonly sql: string;
}

/** Schema changes in order; a database records each one it has applied in `forge_schema_version`. */
const migrations: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE logs (
        log TEXT NOT NULL,
        seq INTEGER NOT NULL,
        time INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (log, seq)
      ) STRICT;
      CREATE TABLE records (
        ns TEXT NOT NULL,
        key TEXT NOT NULL,
        version INTEGER NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (ns, key)
      ) STRICT;
      CREATE TABLE blobs (
        digest TEXT PRIMARY KEY NOT NULL,
        bytes BLOB NOT NULL,
        size INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    // trimLog: the lowest seq still kept per trimmed log, so that the head survives a trim of every
    // entry and sequence numbers are never reused.
    version: 2,
    sql: `
      CREATE TABLE log_trims (
        log TEXT PRIMARY KEY NOT NULL,
        before_seq INTEGER NOT NULL
      ) STRICT;
    `,
  },
];

const DRIVER_HINT = 'install it next to @forgeone/common with `npm install better-sqlite3@12`';

function loadDriver(): typeof BetterSqlite3 {
  try {
    const requireHere = createRequire(import.meta.url);
    return requireHere('better-sqlite3') as typeof BetterSqlite3;
  } catch (err) {
    throw new ForgeError(
      'FORGE_STORAGE_DRIVER_MISSING',
      `SqliteStore needs the optional peer dependency better-sqlite3, which could not be loaded (${(err as Error).message.split('\n')[0]}); ${DRIVER_HINT} (it builds a native module, so a C/C++ toolchain or a prebuilt binary for this Node.js is required)`,
      { cause: err },
    );
  }
}

/** Maps a driver failure to the ForgeError users see. */
function describeSqliteFailure(err: unknown, operation: string, path: string): ForgeError {
  const code =
    typeof (err as { code?: unknown } | null)?.code === 'string' ? (err as { code: string }).code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (code?.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new ForgeError(
      'FORGE_STORAGE_CORRUPT',
      `the SQLite store ${path} is damaged or not a ForgeOne store (${code}: ${message}); restore it from a backup or move it aside`,
      { cause: err, details: { path, sqliteCode: code } },
    );
  }
  const hint = code?.startsWith('SQLITE_BUSY')
    ? '; another process held the database lock too long: stop it or raise busyTimeoutMs'
    : code === 'SQLITE_FULL'
      ? '; the disk is full'
      : code?.startsWith('SQLITE_READONLY')
        ? '; the file or its directory is not writable'
        : '';
  return new ForgeError(
    'FORGE_STORAGE_IO',
    `SQLite store ${path}: ${operation} failed: ${code ? `${code}: ` : ''}${message}${hint}`,
    { cause: err, details: { path, operation, sqliteCode: code ?? null } },
  );
}

/** The database's schema version, refusing one written by a ForgeOne newer than `latest`. */
function schemaVersion(db: Database, path: string, latest: number): number {
  const current = db
    .prepare('SELECT COALESCE(MAX(version), 0) FROM forge_schema_version')
    .pluck()
    .get() as number;
  if (current > latest) {
    throw new ForgeError(
      'FORGE_STORAGE_VERSION',
      `the SQLite store ${path} has schema version ${current}, but this ForgeOne knows versions up to ${latest}; upgrade ForgeOne to open it`,
      { details: { path, version: current, supported: latest } },
    );
  }
  return current;
}

/** Brings a database to the newest schema, refusing one written by a newer ForgeOne. */
function migrate(db: Database, path: string, now: number): void {
  const latest = migrations[migrations.length - 1]!.version;
  db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS forge_schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT',
    );
    const current = schemaVersion(db, path, latest);
    const record = db.prepare('INSERT INTO forge_schema_version (version, applied_at) VALUES (?, ?)');
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, now);
    }
  }).immediate();
}

/** One better-sqlite3 connection; every write runs in a (nested, when needed) SQLite transaction. */
class SqliteEngine implements StorageEngine {
  readonly #db: Database;
  readonly #path: string;
  readonly #statements = new Map<string, Statement>();
  readonly #appendAll: BetterSqlite3.Transaction<
    (log: string, json: readonly string[], time: number) => number
  >;
  readonly #commitRecords: BetterSqlite3.Transaction<(ns: string, writes: readonly RawWrite[]) => void>;
  readonly #trimLog: BetterSqlite3.Transaction<(log: string, beforeSeq: number) => number>;
  readonly #putChecked: BetterSqlite3.Transaction<
    (ns: string, key: string, json: string, expectedVersion: number | undefined) => PutOutcome
  >;

  /** False for a read-only open of a store from before trimLog (schema 1): nothing was trimmed there. */
  readonly #trims: boolean;

  constructor(db: Database, path: string, trims = true) {
    this.#db = db;
    this.#path = path;
    this.#trims = trims;
    // Called inside a running transaction, better-sqlite3 makes these savepoints, so each call stays atomic.
    this.#appendAll = db.transaction((log: string, json: readonly string[], time: number) => {
      const head = this.logHead(log);
      const insert = this.#stmt('INSERT INTO logs (log, seq, time, data) VALUES (?, ?, ?, ?)');
      for (const [i, data] of json.entries()) insert.run(log, head + 1 + i, time, data);
      return head;
    });
    // One statement per write (no read of the version first): this runs for every acknowledged kv write.
    this.#commitRecords = db.transaction((ns: string, writes: readonly RawWrite[]) => {
      const upsert = this.#stmt(
        'INSERT INTO records (ns, key, version, value) VALUES (?, ?, 1, ?) ' +
          'ON CONFLICT (ns, key) DO UPDATE SET version = version + 1, value = excluded.value',
      );
      const remove = this.#stmt('DELETE FROM records WHERE ns = ? AND key = ?');
      for (const { key, json } of writes) {
        if (json === undefined) remove.run(ns, key);
        else upsert.run(ns, key, json);
      }
    });
    this.#trimLog = db.transaction((log: string, beforeSeq: number) => {
      const before = Math.min(beforeSeq, this.logHead(log) + 1);
      const removed = this.#stmt('DELETE FROM logs WHERE log = ? AND seq < ?').run(log, before).changes;
      if (removed > 0) {
        this.#stmt(
          'INSERT INTO log_trims (log, before_seq) VALUES (?, ?) ' +
            'ON CONFLICT (log) DO UPDATE SET before_seq = MAX(before_seq, excluded.before_seq)',
        ).run(log, before);
      }
      return removed;
    });
    this.#putChecked = db.transaction(
      (ns: string, key: string, json: string, expectedVersion: number | undefined) => {
        const current = (this.#stmt('SELECT version FROM records WHERE ns = ? AND key = ?')
          .pluck()
          .get(ns, key) ?? 0) as number;
        if (expectedVersion !== undefined && expectedVersion !== current)
          return { ok: false, current } as const;
        const version = current + 1;
        this.#stmt(
          'INSERT INTO records (ns, key, version, value) VALUES (?, ?, ?, ?) ' +
            'ON CONFLICT (ns, key) DO UPDATE SET version = excluded.version, value = excluded.value',
        ).run(ns, key, version, json);
        return { ok: true, version } as const;
      },
    );
  }

  /** A prepared statement, compiled once per connection. */
  #stmt(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  append(log: string, json: readonly string[], time: number): { firstSeq: number; lastSeq: number } {
    // IMMEDIATE takes the write lock before reading the head, so two processes cannot pick the same seq.
    const head = this.#appendAll.immediate(log, json, time);
    return { firstSeq: head + 1, lastSeq: head + json.length };
  }

  readLog(log: string, fromSeq: number, limit: number): RawLogEntry[] {
    return this.#stmt(
      'SELECT seq, time, data AS json FROM logs WHERE log = ? AND seq >= ? ORDER BY seq LIMIT ?',
    ).all(log, fromSeq, limit) as RawLogEntry[];
  }

  logHead(log: string): number {
    const last = this.#stmt('SELECT COALESCE(MAX(seq), 0) FROM logs WHERE log = ?')
      .pluck()
      .get(log) as number;
    if (!this.#trims) return last;
    const before = this.#stmt('SELECT before_seq FROM log_trims WHERE log = ?').pluck().get(log) as
      number | undefined;
    return before === undefined ? last : Math.max(last, before - 1);
  }

  trimLog(log: string, beforeSeq: number): number {
    return this.#trimLog.immediate(log, beforeSeq);
  }

  getRecord(namespace: string, key: string): RawRecord | undefined {
    return this.#stmt('SELECT key, version, value AS json FROM records WHERE ns = ? AND key = ?').get(
      namespace,
      key,
    ) as RawRecord | undefined;
  }

  putRecord(namespace: string, key: string, json: string, expectedVersion: number | undefined): PutOutcome {
    return this.#putChecked.immediate(namespace, key, json, expectedVersion);
  }

  deleteRecord(namespace: string, key: string): boolean {
    return this.#stmt('DELETE FROM records WHERE ns = ? AND key = ?').run(namespace, key).changes > 0;
  }

  commitRecords(namespace: string, writes: readonly RawWrite[]): void {
    // IMMEDIATE: the write lock is taken first, so the commit cannot fail halfway on a lock upgrade.
    this.#commitRecords.immediate(namespace, writes);
  }

  listRecords(namespace: string, prefix: string, after: string | undefined, limit: number): RawRecord[] {
    // Text compares as UTF-8 bytes (code point order), so [prefix, successor(prefix)) is exactly the
    // keys with that prefix, and the primary-key index serves it as one range scan.
    const upper = prefixSuccessor(prefix);
    const base = 'SELECT key, version, value AS json FROM records WHERE ns = ? AND key >= ? AND key > ?';
    const args: unknown[] = [namespace, prefix, after ?? ''];
    const sql =
      upper === undefined ? `${base} ORDER BY key LIMIT ?` : `${base} AND key < ? ORDER BY key LIMIT ?`;
    if (upper !== undefined) args.push(upper);
    args.push(limit);
    return this.#stmt(sql).all(...args) as RawRecord[];
  }

  putBlob(digest: string, bytes: Uint8Array): void {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#stmt('INSERT OR IGNORE INTO blobs (digest, bytes, size) VALUES (?, ?, ?)').run(
      digest,
      buffer,
      bytes.byteLength,
    );
  }

  getBlob(digest: string): Uint8Array | undefined {
    const buffer = this.#stmt('SELECT bytes FROM blobs WHERE digest = ?').pluck().get(digest) as
      Buffer | undefined;
    return buffer && new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  hasBlob(digest: string): boolean {
    return this.#stmt('SELECT 1 FROM blobs WHERE digest = ?').pluck().get(digest) !== undefined;
  }

  deleteBlob(digest: string): boolean {
    return this.#stmt('DELETE FROM blobs WHERE digest = ?').run(digest).changes > 0;
  }

  begin(): void {
    this.#stmt('BEGIN IMMEDIATE').run();
  }

  commit(): void {
    this.#stmt('COMMIT').run();
  }

  rollback(): void {
    // SQLite may already have rolled back on its own (e.g. after SQLITE_FULL); then there is nothing to undo.
    if (this.#db.inTransaction) this.#stmt('ROLLBACK').run();
  }

  close(): void {
    this.#statements.clear();
    this.#db.close();
  }

  describeFailure(err: unknown, operation: string): ForgeError {
    return describeSqliteFailure(err, operation, this.#path);
  }
}

/**
 * The smallest string greater than every string that starts with `prefix`, in code point order;
 * undefined when there is none (empty prefix, or only U+10FFFF).
 */
function prefixSuccessor(prefix: string): string | undefined {
  const points = [...prefix].map((char) => char.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < 0x10ffff) {
      // The successor of U+D7FF skips the surrogate range, which no stored key can contain.
      points.push(last === 0xd7ff ? 0xe000 : last + 1);
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}

function checkOpenOptions(
  path: unknown,
  options: SqliteStoreOptions,
): { durability: SqliteDurability; busyTimeoutMs: number } {
  const invalid = (message: string) => new ForgeError('FORGE_STORAGE_INVALID', message);
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw invalid('SqliteStore.open takes a file path (or ":memory:"), got an empty or non-string path');
  }
  const durability = options.durability ?? 'full';
  if (durability !== 'full' && durability !== 'normal') {
    throw invalid(
      `SqliteStore option durability must be "full" or "normal", got ${JSON.stringify(durability)}`,
    );
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw invalid(`SqliteStore option busyTimeoutMs must be an integer >= 0, got ${String(busyTimeoutMs)}`);
  }
  return { durability, busyTimeoutMs };
}

/**
 * The embedded default StoragePort: one SQLite file in WAL mode through better-sqlite3 (an
 * optional peer dependency, loaded on first open). A write has reached the disk when its promise
 * resolves (with the default durability). Several processes may open the same file.
 */
export class SqliteStore extends EngineStore {
  readonly kind = 'sqlite';
  /** The database file, or `:memory:`. */
  readonly path: string;
  readonly durability: SqliteDurability;

  private constructor(engine: SqliteEngine, path: string, durability: SqliteDurability, clock: Clock) {
    super('SqliteStore', engine, clock);
    this.path = path;
    this.durability = durability;
  }

  /**
   * Opens (creating when absent) the store at `path`, or a private in-memory one for `:memory:`.
   * Throws FORGE_STORAGE_DRIVER_MISSING when better-sqlite3 cannot be loaded.
   */
  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const { durability, busyTimeoutMs } = checkOpenOptions(path, options);
    const clock = options.clock ?? systemClock;
    const Driver = loadDriver();
    let db: Database;
    try {
      db = new Driver(path);
    } catch (err) {
      throw describeSqliteFailure(err, 'open', path);
    }
    try {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma('foreign_keys = ON');
      migrate(db, path, clock.now());
    } catch (err) {
      db.close();
      throw isForgeError(err) ? err : describeSqliteFailure(err, 'open', path);
    }
    return new SqliteStore(new SqliteEngine(db, path), path, durability, clock);
  }

  /**
   * Opens an existing store for reading only: nothing is created, migrated or checkpointed, so the
   * file's bytes stay as they were (a reader that writes cannot vouch for what it read). Refuses a
   * missing file (FORGE_STORAGE_IO, ENOENT), a file that is not SQLite or has no ForgeOne schema
   * (FORGE_STORAGE_CORRUPT) and a newer schema (FORGE_STORAGE_VERSION). Writes through it fail.
   */
  static async openReadOnly(
    path: string,
    options: Pick<SqliteStoreOptions, 'busyTimeoutMs' | 'clock'> = {},
  ): Promise<SqliteStore> {
    const { busyTimeoutMs } = checkOpenOptions(path, options);
    if (path === ':memory:') {
      throw new ForgeError('FORGE_STORAGE_INVALID', 'SqliteStore.openReadOnly needs a file, not :memory:');
    }
    const Driver = loadDriver();
    let db: Database;
    try {
      db = new Driver(path, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw describeSqliteFailure(err, 'open', path);
    }
    let trims: boolean;
    try {
      // No journal_mode or synchronous pragma: either would be a write (or need one).
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      trims = checkSchema(db, path);
    } catch (err) {
      db.close();
      throw isForgeError(err) ? err : describeSqliteFailure(err, 'open', path);
    }
    return new SqliteStore(new SqliteEngine(db, path, trims), path, 'full', options.clock ?? systemClock);
  }
}

/**
 * A read-only open's check that `db` is a ForgeOne store this version can read (no migration);
 * true when it has the table of trimmed logs (schema 2 on).
 */
function checkSchema(db: Database, path: string): boolean {
  const tables = new Set(
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[],
  );
  const missing = ['forge_schema_version', 'logs', 'records', 'blobs'].filter((t) => !tables.has(t));
  if (missing.length > 0) {
    throw new ForgeError(
      'FORGE_STORAGE_CORRUPT',
      `${path} is not a ForgeOne store (${tables.size === 0 ? 'it holds no tables' : `no ${missing.join(', ')} table`}); give the .db file a ForgeOne command wrote`,
      { details: { path, missing: missing.join(',') } },
    );
  }
  schemaVersion(db, path, migrations[migrations.length - 1]!.version);
  return tables.has('log_trims');
}
