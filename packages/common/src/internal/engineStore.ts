import { createHash } from 'node:crypto';
import type { Clock } from '../clock';
import { ForgeError, isForgeError } from '../forgeError';
import type {
  JsonValue,
  ListRecordsOptions,
  LogEntry,
  PutRecordOptions,
  ReadLogOptions,
  RecordWrite,
  StoragePort,
  StorageTransaction,
  StoredRecord,
} from '../storagePort';
import { StoreGate, type TransactionScope } from './storeGate';
import {
  checkAppendBatch,
  checkBeforeSeq,
  checkBlob,
  checkDigest,
  checkExpectedVersion,
  checkFromSeq,
  checkKey,
  checkKeyBound,
  checkName,
  checkOptions,
  checkPageLimit,
  serializeValue,
} from './storageValidation';

/** A stored JSON value as the engine keeps it: serialized. */
export interface RawLogEntry {
  readonly seq: number;
  readonly time: number;
  readonly json: string;
}

export interface RawRecord {
  readonly key: string;
  readonly version: number;
  readonly json: string;
}

/** One write of a batch as the engine gets it: serialized, or undefined for a delete. */
export interface RawWrite {
  readonly key: string;
  readonly json: string | undefined;
}

/** Outcome of a compare-and-set write; the store turns a refusal into FORGE_STORAGE_CONFLICT. */
export type PutOutcome =
  { readonly ok: true; readonly version: number } | { readonly ok: false; readonly current: number };

/**
 * The synchronous storage primitives an implementation provides. Arguments arrive validated and
 * values serialized; each call must be atomic on its own (all or nothing), also inside a
 * transaction. Keys sort by Unicode code point (the same as UTF-8 byte order).
 */
export interface StorageEngine {
  append(log: string, json: readonly string[], time: number): { firstSeq: number; lastSeq: number };
  readLog(log: string, fromSeq: number, limit: number): RawLogEntry[];
  logHead(log: string): number;
  /** Deletes entries below `beforeSeq` (at most head + 1) and returns how many went; the head stays. */
  trimLog(log: string, beforeSeq: number): number;
  getRecord(namespace: string, key: string): RawRecord | undefined;
  putRecord(namespace: string, key: string, json: string, expectedVersion: number | undefined): PutOutcome;
  deleteRecord(namespace: string, key: string): boolean;
  /**
   * Applies every write (`json` undefined: delete) in one transaction and commits it before
   * returning; all or nothing. Called only while no transaction is open.
   */
  commitRecords(namespace: string, writes: readonly RawWrite[]): void;
  /** Keys starting with `prefix` and strictly greater than `after` (when given), in key order. */
  listRecords(namespace: string, prefix: string, after: string | undefined, limit: number): RawRecord[];
  /** Stores bytes under `digest` unless present; may keep `bytes` only if it copies them. */
  putBlob(digest: string, bytes: Uint8Array): void;
  /** Bytes the caller may keep and mutate. */
  getBlob(digest: string): Uint8Array | undefined;
  hasBlob(digest: string): boolean;
  deleteBlob(digest: string): boolean;
  begin(): void;
  commit(): void;
  rollback(): void;
  close(): void;
  /** Turns a failure of the engine itself (not a ForgeError) into the ForgeError users see. */
  describeFailure(err: unknown, operation: string): ForgeError;
}

/** SHA-256 of `bytes` as lower-case hex. */
function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parseStored(json: string, where: string): JsonValue {
  try {
    return JSON.parse(json) as JsonValue;
  } catch (err) {
    throw new ForgeError(
      'FORGE_STORAGE_CORRUPT',
      `${where} is not valid JSON in the store; it was damaged outside ForgeOne`,
      {
        cause: err,
      },
    );
  }
}

function toRecord(namespace: string, raw: RawRecord): StoredRecord {
  return {
    key: raw.key,
    version: raw.version,
    value: parseStored(raw.json, `record ${JSON.stringify(raw.key)} of namespace ${namespace}`),
  };
}

/**
 * The port's operations, validated, over one engine. Values leave as freshly parsed JSON, so a
 * caller never shares objects with the store.
 */
class EngineOps {
  readonly #engine: StorageEngine;
  readonly #clock: Clock;

  constructor(engine: StorageEngine, clock: Clock) {
    this.#engine = engine;
    this.#clock = clock;
  }

  /** Runs an engine call, translating the engine's own failures. */
  #call<T>(operation: string, fn: (engine: StorageEngine) => T): T {
    try {
      return fn(this.#engine);
    } catch (err) {
      throw isForgeError(err) ? err : this.#engine.describeFailure(err, operation);
    }
  }

  append(log: unknown, data: unknown): { firstSeq: number; lastSeq: number } {
    const name = checkName('log', log);
    const json = checkAppendBatch(data).map((entry, i) =>
      serializeValue(entry, () => `entry ${i} of the append to log ${name}`),
    );
    const now = this.#clock.now();
    if (!Number.isFinite(now)) {
      throw new ForgeError(
        'FORGE_INTERNAL',
        `the store's clock returned ${now}; a Clock must return finite ms since the epoch`,
      );
    }
    // Times are whole milliseconds in every store (SQLite keeps them in an INTEGER column).
    const time = Math.floor(now);
    return this.#call('append', (engine) => engine.append(name, json, time));
  }

  readLog(log: unknown, options: unknown): LogEntry[] {
    const name = checkName('log', log);
    const opts = checkOptions<ReadLogOptions>('readLog', options);
    const fromSeq = checkFromSeq(opts.fromSeq);
    const limit = checkPageLimit(opts.limit);
    return this.#call('readLog', (engine) => engine.readLog(name, fromSeq, limit)).map((raw) => ({
      seq: raw.seq,
      time: raw.time,
      data: parseStored(raw.json, `entry ${raw.seq} of log ${name}`),
    }));
  }

  logHead(log: unknown): number {
    const name = checkName('log', log);
    return this.#call('logHead', (engine) => engine.logHead(name));
  }

  trimLog(log: unknown, beforeSeq: unknown): number {
    const name = checkName('log', log);
    const before = checkBeforeSeq(beforeSeq);
    return this.#call('trimLog', (engine) => engine.trimLog(name, before));
  }

  getRecord(namespace: unknown, key: unknown): StoredRecord | undefined {
    const ns = checkName('namespace', namespace);
    const k = checkKey(key);
    const raw = this.#call('getRecord', (engine) => engine.getRecord(ns, k));
    return raw && toRecord(ns, raw);
  }

  putRecord(namespace: unknown, key: unknown, value: unknown, options: unknown): number {
    const ns = checkName('namespace', namespace);
    const k = checkKey(key);
    const expected = checkExpectedVersion(
      checkOptions<PutRecordOptions>('putRecord', options).expectedVersion,
    );
    const json = serializeValue(value, () => `value of record ${JSON.stringify(k)} in namespace ${ns}`);
    const outcome = this.#call('putRecord', (engine) => engine.putRecord(ns, k, json, expected));
    if (outcome.ok) return outcome.version;
    const current = outcome.current === 0 ? 'it does not exist' : `it is at version ${outcome.current}`;
    throw new ForgeError(
      'FORGE_STORAGE_CONFLICT',
      `record ${JSON.stringify(k)} in namespace ${ns} was expected at version ${expected} but ${current}; read it again and retry`,
      {
        details: {
          namespace: ns,
          key: k,
          expectedVersion: expected ?? null,
          currentVersion: outcome.current,
        },
      },
    );
  }

  deleteRecord(namespace: unknown, key: unknown): boolean {
    const ns = checkName('namespace', namespace);
    const k = checkKey(key);
    return this.#call('deleteRecord', (engine) => engine.deleteRecord(ns, k));
  }

  commitRecords(namespace: unknown, writes: readonly RecordWrite[]): void {
    const ns = checkName('namespace', namespace);
    if (!Array.isArray(writes)) {
      throw new ForgeError('FORGE_STORAGE_INVALID', 'commitRecordsNow takes an array of { key, value }');
    }
    // Every write is checked before any is applied: the batch is all or nothing.
    const raw = writes.map(({ key, value }): RawWrite => {
      const k = checkKey(key);
      return {
        key: k,
        json:
          value === undefined
            ? undefined
            : serializeValue(value, () => `value of record ${JSON.stringify(k)} in namespace ${ns}`),
      };
    });
    if (raw.length > 0) this.#call('commitRecordsNow', (engine) => engine.commitRecords(ns, raw));
  }

  listRecords(namespace: unknown, options: unknown): StoredRecord[] {
    const ns = checkName('namespace', namespace);
    const opts = checkOptions<ListRecordsOptions>('listRecords', options);
    const prefix = opts.prefix === undefined ? '' : checkKeyBound('prefix', opts.prefix);
    const after = opts.after === undefined ? undefined : checkKeyBound('after', opts.after);
    const limit = checkPageLimit(opts.limit);
    return this.#call('listRecords', (engine) => engine.listRecords(ns, prefix, after, limit)).map((raw) =>
      toRecord(ns, raw),
    );
  }

  putBlob(bytes: unknown): string {
    const blob = checkBlob(bytes);
    const digest = sha256Hex(blob);
    this.#call('putBlob', (engine) => engine.putBlob(digest, blob));
    return digest;
  }

  getBlob(digest: unknown): Uint8Array | undefined {
    const d = checkDigest(digest);
    const bytes = this.#call('getBlob', (engine) => engine.getBlob(d));
    if (bytes === undefined) return undefined;
    const actual = sha256Hex(bytes);
    if (actual !== d) {
      throw new ForgeError(
        'FORGE_STORAGE_CORRUPT',
        `blob ${d} is corrupt: its ${bytes.byteLength} stored bytes hash to ${actual}; delete it and store the original again`,
        { details: { digest: d, actual } },
      );
    }
    return bytes;
  }

  hasBlob(digest: unknown): boolean {
    const d = checkDigest(digest);
    return this.#call('hasBlob', (engine) => engine.hasBlob(d));
  }

  deleteBlob(digest: unknown): boolean {
    const d = checkDigest(digest);
    return this.#call('deleteBlob', (engine) => engine.deleteBlob(d));
  }

  begin(): void {
    this.#call('transaction', (engine) => engine.begin());
  }

  commit(): void {
    this.#call('commit', (engine) => engine.commit());
  }

  rollback(): void {
    this.#call('rollback', (engine) => engine.rollback());
  }

  close(): void {
    this.#call('close', (engine) => engine.close());
  }
}

/** The handle a transaction function receives; it refuses work once the transaction has ended. */
function transactionHandle(ops: EngineOps, scope: TransactionScope): StorageTransaction {
  const run = StoreGate.inScope;
  return {
    append: (log, data) => run(scope, 'append', () => ops.append(log, data)),
    readLog: (log, options) => run(scope, 'readLog', () => ops.readLog(log, options)),
    logHead: (log) => run(scope, 'logHead', () => ops.logHead(log)),
    trimLog: (log, beforeSeq) => run(scope, 'trimLog', () => ops.trimLog(log, beforeSeq)),
    getRecord: (ns, key) => run(scope, 'getRecord', () => ops.getRecord(ns, key)),
    putRecord: (ns, key, value, options) =>
      run(scope, 'putRecord', () => ops.putRecord(ns, key, value, options)),
    deleteRecord: (ns, key) => run(scope, 'deleteRecord', () => ops.deleteRecord(ns, key)),
    listRecords: (ns, options) => run(scope, 'listRecords', () => ops.listRecords(ns, options)),
    putBlob: (bytes) => run(scope, 'putBlob', () => ops.putBlob(bytes)),
    getBlob: (digest) => run(scope, 'getBlob', () => ops.getBlob(digest)),
    hasBlob: (digest) => run(scope, 'hasBlob', () => ops.hasBlob(digest)),
    deleteBlob: (digest) => run(scope, 'deleteBlob', () => ops.deleteBlob(digest)),
  };
}

/**
 * A StoragePort over a synchronous engine: validation, serialization, blob verification, call
 * ordering, transactions and close() live here once, so every engine behaves the same.
 */
export abstract class EngineStore implements StoragePort {
  abstract readonly kind: string;
  readonly #ops: EngineOps;
  readonly #gate: StoreGate;

  protected constructor(label: string, engine: StorageEngine, clock: Clock) {
    this.#ops = new EngineOps(engine, clock);
    this.#gate = new StoreGate(label);
  }

  append(log: string, data: readonly JsonValue[]): Promise<{ firstSeq: number; lastSeq: number }> {
    return this.#gate.run('append', () => this.#ops.append(log, data));
  }

  readLog(log: string, options?: ReadLogOptions): Promise<LogEntry[]> {
    return this.#gate.run('readLog', () => this.#ops.readLog(log, options));
  }

  logHead(log: string): Promise<number> {
    return this.#gate.run('logHead', () => this.#ops.logHead(log));
  }

  trimLog(log: string, beforeSeq: number): Promise<number> {
    return this.#gate.run('trimLog', () => this.#ops.trimLog(log, beforeSeq));
  }

  getRecord(namespace: string, key: string): Promise<StoredRecord | undefined> {
    return this.#gate.run('getRecord', () => this.#ops.getRecord(namespace, key));
  }

  putRecord(namespace: string, key: string, value: JsonValue, options?: PutRecordOptions): Promise<number> {
    return this.#gate.run('putRecord', () => this.#ops.putRecord(namespace, key, value, options));
  }

  deleteRecord(namespace: string, key: string): Promise<boolean> {
    return this.#gate.run('deleteRecord', () => this.#ops.deleteRecord(namespace, key));
  }

  listRecords(namespace: string, options?: ListRecordsOptions): Promise<StoredRecord[]> {
    return this.#gate.run('listRecords', () => this.#ops.listRecords(namespace, options));
  }

  /** See StoragePort.commitRecordsNow: committed (on disk, for a file store) when it returns. */
  commitRecordsNow(namespace: string, writes: readonly RecordWrite[]): void {
    this.#gate.runNow('commitRecordsNow', () => this.#ops.commitRecords(namespace, writes));
  }

  putBlob(bytes: Uint8Array): Promise<string> {
    return this.#gate.run('putBlob', () => this.#ops.putBlob(bytes));
  }

  getBlob(digest: string): Promise<Uint8Array | undefined> {
    return this.#gate.run('getBlob', () => this.#ops.getBlob(digest));
  }

  hasBlob(digest: string): Promise<boolean> {
    return this.#gate.run('hasBlob', () => this.#ops.hasBlob(digest));
  }

  deleteBlob(digest: string): Promise<boolean> {
    return this.#gate.run('deleteBlob', () => this.#ops.deleteBlob(digest));
  }

  /**
   * Runs `fn` in one transaction; the store's own methods wait until it ends. Inside `fn` use only
   * `tx`: calling the store itself (or transaction() again) rejects with FORGE_STORAGE_TRANSACTION.
   */
  transaction<T>(fn: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    if (typeof fn !== 'function') {
      return Promise.reject(
        new ForgeError('FORGE_STORAGE_INVALID', 'transaction() takes a function (tx) => Promise'),
      );
    }
    return this.#gate.transaction(this.#ops, (scope) => fn(transactionHandle(this.#ops, scope)));
  }

  /** Waits for accepted work, then releases the store. Idempotent; later calls throw FORGE_STORAGE_CLOSED. */
  close(): Promise<void> {
    return this.#gate.close(() => this.#ops.close());
  }
}
