import {
  ForgeError,
  isForgeError,
  storageLimits,
  type RecordWrite,
  type StoragePort,
} from '@forgeone/common';
import {
  MemoryKvBackend,
  checkKvConfig,
  type KvBackend,
  type KvGroupOutcome,
  type KvPutStatus,
  type KvQuota,
  type KvUsage,
} from './forgeKvBackend';
import { parseKvDurability, type KvCommitPolicy, type KvDurability } from './kvDurability';

/** What one `flush()` wrote to the store. */
export interface KvFlushResult {
  readonly written: number;
  readonly deleted: number;
}

/** The storage namespace a kv namespace lives in. */
export function kvStorageNamespace(namespace: string): string {
  return `kv/${namespace}`;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeValue(namespace: string, key: string, value: unknown): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw new ForgeError(
      'FORGE_KV_STORE_CORRUPT',
      `kv record ${JSON.stringify(key.slice(0, 80))} in namespace ${namespace} is not base64 bytes; delete it or restore the namespace`,
      { details: { namespace, key: key.slice(0, 200) } },
    );
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/** A key changed since the last commit. */
interface Uncommitted {
  /**
   * What the key goes back to if the commit fails: its value before the first write no caller has
   * been told about yet (the committed one, or the last relaxed write, which was acknowledged).
   */
  acked: Uint8Array | undefined;
  /** A relaxed write to it was acknowledged: it must reach the store even after a failed commit. */
  owed: boolean;
}

/** Grouped callers waiting for the commit of what they wrote or read. */
type Waiter = (error: unknown) => void;

/**
 * A KvBackend over the storage port. The namespace is loaded into memory at launch (`load`) and
 * reads are served from memory. What a write is promised depends on its durability
 * (see KvDurability): with `commit`, the default, `put` and `delete` return only once the change is
 * committed to the store (`commitRecordsNow`), and callers that can wait for their answer
 * (`grouped`, the main thread serving worker guests) share one commit per turn of the event loop;
 * with `relaxed-<N>ms` a write is acknowledged at once and committed within N ms or on `flush()`.
 * Values are stored as base64 strings.
 */
export class StorageKvBackend implements KvBackend {
  readonly namespace: string;
  /** The durability of `put` and `delete` when the caller names none. */
  readonly durability: KvCommitPolicy;
  readonly #store: StoragePort & Required<Pick<StoragePort, 'commitRecordsNow'>>;
  readonly #storageNamespace: string;
  readonly #memory: MemoryKvBackend;
  #uncommitted = new Map<string, Uncommitted>();
  /** A `commit` write is not committed yet: grouped answers wait for the next commit. */
  #awaitingCommit = false;
  #waiters: Waiter[] = [];
  /** > 0 while `grouped` runs its calls: their `commit` writes wait for the group commit. */
  #grouping = 0;
  #groupCommit: NodeJS.Immediate | NodeJS.Timeout | undefined;
  #relaxedTimer: NodeJS.Timeout | undefined;
  #relaxedDue = Number.POSITIVE_INFINITY;

  private constructor(
    store: StoragePort & Required<Pick<StoragePort, 'commitRecordsNow'>>,
    memory: MemoryKvBackend,
    durability: KvCommitPolicy,
  ) {
    this.#store = store;
    this.#memory = memory;
    this.namespace = memory.namespace;
    this.#storageNamespace = kvStorageNamespace(memory.namespace);
    this.durability = durability;
  }

  /**
   * Reads the whole namespace from `store` (paged) and returns a backend serving it. The store must
   * commit synchronously (`commitRecordsNow`): a write is then kept the moment it is acknowledged.
   */
  static async load(
    store: StoragePort,
    namespace: string,
    quota: Partial<KvQuota> = {},
    options: { readonly durability?: KvDurability } = {},
  ): Promise<StorageKvBackend> {
    const memory = new MemoryKvBackend(namespace, checkKvConfig(namespace, quota));
    const durability = parseKvDurability(options.durability);
    if (typeof store.commitRecordsNow !== 'function') {
      throw new ForgeError(
        'FORGE_KV_CONFIG_INVALID',
        `the ${store.kind} store cannot commit synchronously, so it cannot keep a kv namespace's acknowledged writes; use a SqliteStore or a MemoryStore`,
        { details: { field: 'store' } },
      );
    }
    const storageNamespace = kvStorageNamespace(namespace);
    let after: string | undefined;
    for (;;) {
      const page = await store.listRecords(storageNamespace, {
        limit: storageLimits.maxPage,
        ...(after === undefined ? {} : { after }),
      });
      for (const record of page) memory.load(record.key, decodeValue(namespace, record.key, record.value));
      if (page.length < storageLimits.maxPage) break;
      after = page[page.length - 1]?.key;
    }
    return new StorageKvBackend(
      store as StoragePort & Required<Pick<StoragePort, 'commitRecordsNow'>>,
      memory,
      durability,
    );
  }

  get quota(): KvQuota {
    return this.#memory.quota;
  }

  get(key: string): Uint8Array | undefined {
    return this.#memory.get(key);
  }

  put(key: string, value: Uint8Array): KvPutStatus {
    return this.putWithin(this.quota, key, value);
  }

  /**
   * `put` against `quota` instead of the namespace's own (see MemoryKvBackend.putWithin), kept as
   * `durability` says. With `commit`, a failed commit undoes the write and throws.
   */
  putWithin(
    quota: KvQuota,
    key: string,
    value: Uint8Array,
    durability: KvCommitPolicy = this.durability,
  ): KvPutStatus {
    let status: KvPutStatus = 'quota';
    this.#write(key, durability, () => (status = this.#memory.putWithin(quota, key, value)) === 'ok');
    return status;
  }

  delete(key: string, durability: KvCommitPolicy = this.durability): boolean {
    let existed = false;
    this.#write(key, durability, () => (existed = this.#memory.delete(key)));
    return existed;
  }

  usage(): KvUsage {
    return this.#memory.usage();
  }

  /**
   * For a caller that can wait for its answer (the main thread answering a worker guest): runs
   * `apply` (calls on this backend), and gives its result to `settle` once every `commit` write
   * made so far is committed. Writes of every caller in the same turn of the event loop share that
   * commit. An answer never reveals a write that is not committed yet; when the commit fails its
   * writes are undone and `settle` gets the error.
   */
  grouped<T>(apply: () => T, settle: (outcome: KvGroupOutcome<T>) => void): void {
    let value: T;
    this.#grouping += 1;
    try {
      value = apply();
    } catch (error) {
      settle({ ok: false, error });
      return;
    } finally {
      this.#grouping -= 1;
    }
    if (!this.#awaitingCommit) {
      settle({ ok: true, value });
      return;
    }
    this.#waiters.push((error) => settle(error === undefined ? { ok: true, value } : { ok: false, error }));
    this.#groupCommit ??= setImmediate(() => this.#runGroupCommit());
  }

  /** Keys written or deleted and not committed yet. */
  get pendingWrites(): number {
    return this.#uncommitted.size;
  }

  /**
   * Commits every pending change now (relaxed writes, and a group commit not run yet); resolves
   * with what it wrote. On failure the changes stay pending and it rejects.
   */
  async flush(): Promise<KvFlushResult> {
    for (;;) {
      try {
        return this.#commit();
      } catch (error) {
        // A transaction of someone else's holds the store: wait for it rather than fail a close.
        if (!isForgeError(error) || error.code !== 'FORGE_STORAGE_BUSY') throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  #write(key: string, durability: KvCommitPolicy, apply: () => boolean): void {
    const before = this.#memory.get(key);
    if (!apply()) return;
    let entry = this.#uncommitted.get(key);
    if (entry === undefined) {
      entry = { acked: before, owed: false };
      this.#uncommitted.set(key, entry);
    }
    if (durability.kind === 'relaxed') {
      entry.acked = this.#memory.get(key);
      entry.owed = true;
      this.#commitWithin(durability.windowMs);
      return;
    }
    this.#awaitingCommit = true;
    // A grouped caller waits for the group commit; anyone else gets its answer after this one.
    if (this.#grouping === 0) this.#commit();
  }

  /**
   * Commits every uncommitted change in one transaction, then wakes the grouped callers waiting for
   * it. On failure, writes nobody was told about are undone (relaxed ones stay pending), the
   * waiters get the error, and it throws. `retryWhenBusy` (the group commit, whose callers can
   * wait): a store busy in a transaction wrote nothing, so the same commit is tried again shortly.
   */
  #commit(retryWhenBusy = false): KvFlushResult {
    const batch = this.#uncommitted;
    const waiters = this.#waiters;
    this.#cancelGroupCommit();
    let written = 0;
    const writes: RecordWrite[] = [];
    for (const key of batch.keys()) {
      const value = this.#memory.get(key);
      if (value !== undefined) written += 1;
      writes.push({ key, value: value === undefined ? undefined : Buffer.from(value).toString('base64') });
    }
    try {
      if (writes.length > 0) this.#store.commitRecordsNow(this.#storageNamespace, writes);
    } catch (error) {
      if (retryWhenBusy && isForgeError(error) && error.code === 'FORGE_STORAGE_BUSY') {
        this.#groupCommit = setTimeout(() => this.#runGroupCommit(), 1);
        return { written: 0, deleted: 0 };
      }
      for (const [key, entry] of batch) {
        if (entry.acked === undefined) this.#memory.delete(key);
        else this.#memory.load(key, entry.acked);
        if (!entry.owed) batch.delete(key);
      }
      this.#waiters = [];
      this.#awaitingCommit = false;
      for (const waiter of waiters) waiter(error);
      throw error;
    }
    this.#uncommitted = new Map();
    this.#waiters = [];
    this.#awaitingCommit = false;
    if (this.#relaxedTimer !== undefined) clearTimeout(this.#relaxedTimer);
    this.#relaxedTimer = undefined;
    this.#relaxedDue = Number.POSITIVE_INFINITY;
    for (const waiter of waiters) waiter(undefined);
    return { written, deleted: writes.length - written };
  }

  #cancelGroupCommit(): void {
    if (this.#groupCommit === undefined) return;
    clearImmediate(this.#groupCommit as NodeJS.Immediate);
    clearTimeout(this.#groupCommit as NodeJS.Timeout);
    this.#groupCommit = undefined;
  }

  #runGroupCommit(): void {
    this.#groupCommit = undefined;
    try {
      this.#commit(true);
    } catch {
      // The waiters were given the error (and their writes undone); there is no caller to tell.
    }
  }

  /** Makes sure the pending relaxed writes are committed within `windowMs`. */
  #commitWithin(windowMs: number): void {
    const due = Date.now() + windowMs;
    if (this.#relaxedTimer !== undefined && this.#relaxedDue <= due) return;
    if (this.#relaxedTimer !== undefined) clearTimeout(this.#relaxedTimer);
    this.#relaxedDue = due;
    this.#relaxedTimer = setTimeout(() => {
      this.#relaxedTimer = undefined;
      this.#relaxedDue = Number.POSITIVE_INFINITY;
      try {
        this.#commit();
      } catch {
        // Acknowledged already: they stay pending and are tried again (a lasting failure fails flush()).
        this.#commitWithin(windowMs);
      }
    }, windowMs);
    // A pending commit must not keep a finished process alive: closing the namespace flushes.
    this.#relaxedTimer.unref();
  }
}
