import type { StoragePort } from '@forgeone/common';
import {
  StorageKvBackend,
  checkKvConfig,
  type KvBackend,
  type KvFlushResult,
  type KvPutStatus,
  type KvQuota,
  type KvUsage,
} from '@forgeone/execution';

/** What one container did to its namespace (each changed key counted once, by its last change). */
export interface KvLeaseChanges {
  readonly written: number;
  readonly deleted: number;
  /** Calls that answered UNAVAILABLE: the backend failed, or the main thread did not answer in time. */
  readonly unavailable: number;
}

/**
 * One container's hold on a namespace it shares with every other live container of the runtime:
 * reads and writes go to the one backend (so each sees the others' writes at once), checked
 * against this container's own quota, and counted for its report.
 */
export class KvLease implements KvBackend {
  readonly namespace: string;
  readonly #shared: StorageKvBackend;
  readonly #quota: KvQuota;
  readonly #changed = new Map<string, 'put' | 'delete'>();
  #unavailable = 0;
  #release: (() => void) | undefined;

  constructor(shared: StorageKvBackend, quota: KvQuota, release: () => void) {
    this.namespace = shared.namespace;
    this.#shared = shared;
    this.#quota = quota;
    this.#release = release;
  }

  get(key: string): Uint8Array | undefined {
    return this.#counted(() => this.#shared.get(key));
  }

  put(key: string, value: Uint8Array): KvPutStatus {
    const status = this.#counted(() => this.#shared.putWithin(this.#quota, key, value));
    if (status === 'ok') this.#changed.set(key, 'put');
    return status;
  }

  delete(key: string): boolean {
    const existed = this.#counted(() => this.#shared.delete(key));
    if (existed) this.#changed.set(key, 'delete');
    return existed;
  }

  usage(): KvUsage {
    return this.#shared.usage();
  }

  /** Counts a kv call the guest stopped waiting for (it got UNAVAILABLE; nothing was applied). */
  noteUnanswered(): void {
    this.#unavailable += 1;
  }

  changes(): KvLeaseChanges {
    let written = 0;
    for (const change of this.#changed.values()) if (change === 'put') written += 1;
    return { written, deleted: this.#changed.size - written, unavailable: this.#unavailable };
  }

  /**
   * Writes the namespace's pending changes to the store (this container's, and any other's made
   * so far) and gives the hold back; a failed write still gives it back. Closing again only flushes.
   */
  async close(): Promise<KvFlushResult> {
    try {
      return await this.#shared.flush();
    } finally {
      this.#release?.();
      this.#release = undefined;
    }
  }

  #counted<T>(call: () => T): T {
    try {
      return call();
    } catch (error) {
      this.#unavailable += 1;
      throw error;
    }
  }
}

/**
 * The kv namespaces of one runtime's store: each is loaded once while containers use it and
 * shared by all of them, so concurrent runs on one namespace see each other's writes and none
 * overwrites another's with a stale copy. It is read from the store again once no container holds it.
 */
export class KvNamespaces {
  readonly #store: StoragePort;
  readonly #open = new Map<string, { readonly backend: Promise<StorageKvBackend>; leases: number }>();

  constructor(store: StoragePort) {
    this.#store = store;
  }

  /** A hold on `namespace` checked against `quota`; close it when the container ends. */
  async lease(namespace: string, quota: Partial<KvQuota> = {}): Promise<KvLease> {
    const checked = checkKvConfig(namespace, quota);
    let entry = this.#open.get(namespace);
    if (entry === undefined) {
      // Its own quota is never used: every write is checked against the writing container's.
      entry = { backend: StorageKvBackend.load(this.#store, namespace), leases: 0 };
      this.#open.set(namespace, entry);
    }
    entry.leases += 1;
    const held = entry;
    const release = () => {
      held.leases -= 1;
      if (held.leases === 0 && this.#open.get(namespace) === held) this.#open.delete(namespace);
    };
    let backend: StorageKvBackend;
    try {
      backend = await held.backend;
    } catch (error) {
      release();
      throw error;
    }
    return new KvLease(backend, checked, release);
  }

  /** Namespaces some container holds now (for tests and diagnostics). */
  get openCount(): number {
    return this.#open.size;
  }
}
