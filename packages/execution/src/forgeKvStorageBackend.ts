import { ForgeError, storageLimits, type StoragePort } from '@forgeone/common';
import {
  MemoryKvBackend,
  checkKvConfig,
  type KvBackend,
  type KvPutStatus,
  type KvQuota,
  type KvUsage,
} from './forgeKvBackend';

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

/**
 * A KvBackend over the storage port: the namespace is loaded into memory at launch (`load`),
 * guest calls are served from memory synchronously (worker guests' through the bridge to this
 * thread), and writes reach the store only on `flush()` (write-behind). Unflushed writes are lost
 * if the process dies, so the runtime flushes when a container exits and may flush on a timer.
 * Values are stored as base64 strings.
 */
export class StorageKvBackend implements KvBackend {
  readonly namespace: string;
  readonly #store: StoragePort;
  readonly #memory: MemoryKvBackend;
  /** Keys changed since the last flush: `put` or `delete`. */
  #dirty = new Map<string, 'put' | 'delete'>();
  #flushing: Promise<KvFlushResult> = Promise.resolve({ written: 0, deleted: 0 });

  private constructor(store: StoragePort, memory: MemoryKvBackend) {
    this.#store = store;
    this.#memory = memory;
    this.namespace = memory.namespace;
  }

  /** Reads the whole namespace from `store` (paged) and returns a backend serving it. */
  static async load(
    store: StoragePort,
    namespace: string,
    quota: Partial<KvQuota> = {},
  ): Promise<StorageKvBackend> {
    const memory = new MemoryKvBackend(namespace, checkKvConfig(namespace, quota));
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
    return new StorageKvBackend(store, memory);
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

  /** `put` against `quota` instead of the namespace's own (see MemoryKvBackend.putWithin). */
  putWithin(quota: KvQuota, key: string, value: Uint8Array): KvPutStatus {
    const status = this.#memory.putWithin(quota, key, value);
    if (status === 'ok') this.#dirty.set(key, 'put');
    return status;
  }

  delete(key: string): boolean {
    const existed = this.#memory.delete(key);
    if (existed) this.#dirty.set(key, 'delete');
    return existed;
  }

  usage(): KvUsage {
    return this.#memory.usage();
  }

  /** Keys written or deleted since the last successful flush. */
  get pendingWrites(): number {
    return this.#dirty.size;
  }

  /**
   * Writes every change since the last flush to the store in one transaction. Flushes run one at
   * a time; guest writes made meanwhile go to the next flush. On failure the changes stay pending.
   */
  flush(): Promise<KvFlushResult> {
    this.#flushing = this.#flushing.catch(() => undefined).then(() => this.#flushOnce());
    return this.#flushing;
  }

  async #flushOnce(): Promise<KvFlushResult> {
    if (this.#dirty.size === 0) return { written: 0, deleted: 0 };
    const batch = this.#dirty;
    this.#dirty = new Map();
    const storageNamespace = kvStorageNamespace(this.namespace);
    let written = 0;
    let deleted = 0;
    try {
      await this.#store.transaction(async (tx) => {
        for (const [key, change] of batch) {
          const value = this.#memory.get(key);
          if (change === 'put' && value !== undefined) {
            await tx.putRecord(storageNamespace, key, Buffer.from(value).toString('base64'));
            written += 1;
          } else {
            await tx.deleteRecord(storageNamespace, key);
            deleted += 1;
          }
        }
      });
    } catch (error) {
      // Keep what the guest changed since: a newer change to a key wins over the failed one.
      for (const [key, change] of batch) if (!this.#dirty.has(key)) this.#dirty.set(key, change);
      throw error;
    }
    return { written, deleted };
  }
}
