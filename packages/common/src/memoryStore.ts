import { systemClock, type Clock } from './clock';
import { ForgeError } from './forgeError';
import {
  EngineStore,
  type PutOutcome,
  type RawLogEntry,
  type RawRecord,
  type RawWrite,
  type StorageEngine,
} from './internal/engineStore';

export interface MemoryStoreOptions {
  /** Source of append times. Default: the system clock. */
  readonly clock?: Clock;
}

interface StoredValue {
  readonly version: number;
  readonly json: string;
}

/** Orders strings by Unicode code point, as SQLite orders UTF-8 text (`<` compares UTF-16 units). */
function compareCodePoints(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const diff = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (diff !== 0) return diff;
  }
}

/** Keeps everything in maps; a transaction records how to undo each write. */
class MemoryEngine implements StorageEngine {
  /** Per log: the entries kept, and the seq of the first of them (entries below it were trimmed). */
  readonly #logs = new Map<string, { base: number; entries: RawLogEntry[] }>();
  readonly #records = new Map<string, Map<string, StoredValue>>();
  readonly #blobs = new Map<string, Uint8Array>();
  #undo: (() => void)[] | undefined;

  #onRollback(undo: () => void): void {
    this.#undo?.push(undo);
  }

  append(log: string, json: readonly string[], time: number): { firstSeq: number; lastSeq: number } {
    let stored = this.#logs.get(log);
    if (!stored) {
      stored = { base: 1, entries: [] };
      this.#logs.set(log, stored);
    }
    const list = stored.entries;
    const kept = list.length;
    const firstSeq = stored.base + kept;
    for (const [i, data] of json.entries()) list.push({ seq: firstSeq + i, time, json: data });
    this.#onRollback(() => {
      list.length = kept;
    });
    return { firstSeq, lastSeq: firstSeq + json.length - 1 };
  }

  readLog(log: string, fromSeq: number, limit: number): RawLogEntry[] {
    const stored = this.#logs.get(log);
    if (!stored) return [];
    const from = Math.max(0, fromSeq - stored.base);
    return stored.entries.slice(from, from + limit);
  }

  logHead(log: string): number {
    const stored = this.#logs.get(log);
    return stored ? stored.base - 1 + stored.entries.length : 0;
  }

  trimLog(log: string, beforeSeq: number): number {
    const stored = this.#logs.get(log);
    if (!stored) return 0;
    const before = Math.min(beforeSeq, stored.base + stored.entries.length);
    const count = Math.max(0, before - stored.base);
    if (count === 0) return 0;
    const removed = stored.entries.splice(0, count);
    const base = stored.base;
    stored.base += count;
    this.#onRollback(() => {
      stored.entries.unshift(...removed);
      stored.base = base;
    });
    return count;
  }

  getRecord(namespace: string, key: string): RawRecord | undefined {
    const stored = this.#records.get(namespace)?.get(key);
    return stored && { key, version: stored.version, json: stored.json };
  }

  putRecord(namespace: string, key: string, json: string, expectedVersion: number | undefined): PutOutcome {
    let records = this.#records.get(namespace);
    if (!records) {
      records = new Map();
      this.#records.set(namespace, records);
    }
    const previous = records.get(key);
    const current = previous?.version ?? 0;
    if (expectedVersion !== undefined && expectedVersion !== current) return { ok: false, current };
    const version = current + 1;
    records.set(key, { version, json });
    this.#restoreOnRollback(records, key, previous);
    return { ok: true, version };
  }

  deleteRecord(namespace: string, key: string): boolean {
    const records = this.#records.get(namespace);
    const previous = records?.get(key);
    if (!records || !previous) return false;
    records.delete(key);
    this.#restoreOnRollback(records, key, previous);
    return true;
  }

  commitRecords(namespace: string, writes: readonly RawWrite[]): void {
    // Arguments arrive validated, so no write below can fail halfway through the batch.
    for (const { key, json } of writes) {
      if (json === undefined) this.deleteRecord(namespace, key);
      else this.putRecord(namespace, key, json, undefined);
    }
  }

  #restoreOnRollback(
    records: Map<string, StoredValue>,
    key: string,
    previous: StoredValue | undefined,
  ): void {
    this.#onRollback(() => {
      if (previous) records.set(key, previous);
      else records.delete(key);
    });
  }

  listRecords(namespace: string, prefix: string, after: string | undefined, limit: number): RawRecord[] {
    const records = this.#records.get(namespace);
    if (!records) return [];
    const keys = [...records.keys()]
      .filter((key) => key.startsWith(prefix) && (after === undefined || compareCodePoints(key, after) > 0))
      .sort(compareCodePoints)
      .slice(0, limit);
    return keys.map((key) => {
      const stored = records.get(key)!;
      return { key, version: stored.version, json: stored.json };
    });
  }

  putBlob(digest: string, bytes: Uint8Array): void {
    if (this.#blobs.has(digest)) return;
    this.#blobs.set(digest, bytes.slice());
    this.#onRollback(() => this.#blobs.delete(digest));
  }

  getBlob(digest: string): Uint8Array | undefined {
    return this.#blobs.get(digest)?.slice();
  }

  hasBlob(digest: string): boolean {
    return this.#blobs.has(digest);
  }

  deleteBlob(digest: string): boolean {
    const previous = this.#blobs.get(digest);
    if (!previous) return false;
    this.#blobs.delete(digest);
    this.#onRollback(() => this.#blobs.set(digest, previous));
    return true;
  }

  begin(): void {
    this.#undo = [];
  }

  commit(): void {
    this.#undo = undefined;
  }

  rollback(): void {
    const undo = this.#undo ?? [];
    this.#undo = undefined;
    for (let i = undo.length - 1; i >= 0; i -= 1) undo[i]!();
  }

  close(): void {
    this.#logs.clear();
    this.#records.clear();
    this.#blobs.clear();
  }

  describeFailure(err: unknown, operation: string): ForgeError {
    return new ForgeError('FORGE_INTERNAL', `MemoryStore.${operation} failed unexpectedly: ${String(err)}`, {
      cause: err,
    });
  }
}

/**
 * A StoragePort kept in process memory: for tests and short-lived tools. It enforces the same
 * limits and behaviour as SqliteStore; values are copied in and out, so callers never share objects
 * with it. Nothing survives the process.
 */
export class MemoryStore extends EngineStore {
  readonly kind = 'memory';

  constructor(options: MemoryStoreOptions = {}) {
    super('MemoryStore', new MemoryEngine(), options.clock ?? systemClock);
  }
}
