/** A JSON value as stored in logs and records. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One entry of an append-only log. */
export interface LogEntry {
  /** Position in its log: 1 for the first entry, then +1 per entry, never reused. */
  readonly seq: number;
  /** Wall-clock time of the append, in ms since the epoch. */
  readonly time: number;
  readonly data: JsonValue;
}

/** One keyed record with its version (1 on first write, +1 per write). */
export interface StoredRecord {
  readonly key: string;
  readonly version: number;
  readonly value: JsonValue;
}

export interface ReadLogOptions {
  /** First sequence number to return (inclusive). Default 1. */
  readonly fromSeq?: number;
  /** Most entries to return. Default 1000, at most 10,000. */
  readonly limit?: number;
}

export interface ListRecordsOptions {
  /** Only keys that start with this. */
  readonly prefix?: string;
  /** Keys strictly after this one (for paging). */
  readonly after?: string;
  /** Most records to return. Default 1000, at most 10,000. */
  readonly limit?: number;
}

export interface PutRecordOptions {
  /**
   * Compare-and-set: the write succeeds only if the record's current version is this (0 = must not
   * exist); otherwise it throws FORGE_STORAGE_CONFLICT.
   */
  readonly expectedVersion?: number;
}

/** One change of a record in a batch: a new value, or `undefined` to delete the record. */
export interface RecordWrite {
  readonly key: string;
  readonly value: JsonValue | undefined;
}

/** The operations available inside and outside a transaction. */
export interface StorageOps {
  /**
   * Appends entries to `log` atomically and returns their sequence numbers. When the promise
   * resolves the entries are durable: they survive the process being killed.
   */
  append(log: string, data: readonly JsonValue[]): Promise<{ firstSeq: number; lastSeq: number }>;
  /** Entries of `log` in sequence order. */
  readLog(log: string, options?: ReadLogOptions): Promise<LogEntry[]>;
  /**
   * The last sequence number ever given in `log`, 0 when nothing was appended. Trimming does not
   * lower it: sequence numbers are never reused.
   */
  logHead(log: string): Promise<number>;
  /**
   * Deletes the entries of `log` whose seq is below `beforeSeq` (a retention bound: the oldest go
   * first, never a range in the middle) and resolves with how many went; durable when it resolves.
   * The head stays, so later appends go on numbering after it. `beforeSeq` past the head + 1 is
   * taken as the head + 1 (an append cannot be trimmed before it exists).
   */
  trimLog(log: string, beforeSeq: number): Promise<number>;

  getRecord(namespace: string, key: string): Promise<StoredRecord | undefined>;
  /** Writes a record and returns its new version. */
  putRecord(namespace: string, key: string, value: JsonValue, options?: PutRecordOptions): Promise<number>;
  /** Deletes a record; true when it existed. */
  deleteRecord(namespace: string, key: string): Promise<boolean>;
  /** Records of `namespace` in key order (by Unicode code point, which is UTF-8 byte order). */
  listRecords(namespace: string, options?: ListRecordsOptions): Promise<StoredRecord[]>;

  /** Stores bytes under their SHA-256 (lower-case hex), which it returns. Idempotent. */
  putBlob(bytes: Uint8Array): Promise<string>;
  /** The bytes stored under `digest`, verified against it; undefined when absent. */
  getBlob(digest: string): Promise<Uint8Array | undefined>;
  hasBlob(digest: string): Promise<boolean>;
  deleteBlob(digest: string): Promise<boolean>;
}

/** A transaction's view of the store: every operation in it commits or rolls back together. */
export type StorageTransaction = StorageOps;

/**
 * The storage port: where the audit log, traces, quarantine records, snapshots and installed-package
 * versions live. Packages above `common` see only this interface; the embedded default is SQLite,
 * tests use the in-memory store, a fleet can plug in a server-backed one.
 */
export interface StoragePort extends StorageOps {
  /** Short name of the implementation, e.g. `memory` or `sqlite`. */
  readonly kind: string;
  /**
   * Runs `fn` in one transaction. If `fn` throws (or its promise rejects) nothing it wrote is kept.
   * Operations on the store itself wait until the transaction ends.
   */
  transaction<T>(fn: (tx: StorageTransaction) => Promise<T>): Promise<T>;
  /** Flushes and releases the store. Further calls throw FORGE_STORAGE_CLOSED. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional, for callers that cannot await (a guest inside a host call): applies every write of
   * one namespace in one transaction and commits it before returning, so that it survives the
   * process being killed the moment this returns. Runs ahead of queued operations; throws
   * FORGE_STORAGE_BUSY while a transaction holds the store (nothing was written). A store that
   * cannot commit synchronously (a server-backed one) leaves it out.
   */
  commitRecordsNow?(namespace: string, writes: readonly RecordWrite[]): void;
}

/** Limits every implementation enforces, so data moves between stores unchanged. */
export const storageLimits = {
  /** Log and namespace names: `^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`. */
  namePattern: /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/,
  /** Record keys: 1..1024 UTF-8 bytes, no NUL. */
  maxKeyBytes: 1024,
  /** One serialized JSON value (log entry or record): 1 MiB. */
  maxValueBytes: 1024 * 1024,
  /** One blob: 256 MiB. */
  maxBlobBytes: 256 * 1024 * 1024,
  /** Entries in one append call. */
  maxAppendBatch: 10_000,
  /** Page size for readLog and listRecords. */
  maxPage: 10_000,
  defaultPage: 1000,
} as const;
