import type { StoragePort } from '@forgeone/common';
import {
  StorageKvBackend,
  checkKvConfig,
  parseKvDurability,
  type KvBackend,
  type KvCommitPolicy,
  type KvDurability,
  type KvFlushResult,
  type KvGroupOutcome,
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

/** What a namespace's leases changed, summed over those that ended (see `KvNamespaces.ended`). */
export interface KvNamespaceChanges extends KvLeaseChanges {
  readonly namespace: string;
  /** False when the last close failed to commit what was pending (only relaxed writes can be). */
  readonly kept: boolean;
}

/**
 * One container's hold on a namespace it shares with every other live container of the runtime:
 * reads and writes go to the one backend (so each sees the others' writes at once), checked
 * against this container's own quota, kept as its own durability says, and counted for its report.
 */
export class KvLease implements KvBackend {
  readonly namespace: string;
  readonly durability: KvCommitPolicy;
  readonly #shared: StorageKvBackend;
  readonly #quota: KvQuota;
  readonly #changed = new Map<string, 'put' | 'delete'>();
  /** Inside `grouped`: changes counted only once their commit succeeds. */
  #staged: [string, 'put' | 'delete'][] | undefined;
  #unavailable = 0;
  #release: ((changes: KvLeaseChanges, kept: boolean) => void) | undefined;

  constructor(
    shared: StorageKvBackend,
    quota: KvQuota,
    durability: KvCommitPolicy,
    release: (changes: KvLeaseChanges, kept: boolean) => void,
  ) {
    this.namespace = shared.namespace;
    this.durability = durability;
    this.#shared = shared;
    this.#quota = quota;
    this.#release = release;
  }

  get(key: string): Uint8Array | undefined {
    return this.#counted(() => this.#shared.get(key));
  }

  put(key: string, value: Uint8Array): KvPutStatus {
    const status = this.#counted(() => this.#shared.putWithin(this.#quota, key, value, this.durability));
    if (status === 'ok') this.#note(key, 'put');
    return status;
  }

  delete(key: string): boolean {
    const existed = this.#counted(() => this.#shared.delete(key, this.durability));
    if (existed) this.#note(key, 'delete');
    return existed;
  }

  /** See KvBackend.grouped: a worker guest's calls, answered once their writes are committed. */
  grouped<T>(apply: () => T, settle: (outcome: KvGroupOutcome<T>) => void): void {
    const staged: [string, 'put' | 'delete'][] = [];
    this.#shared.grouped(
      () => {
        this.#staged = staged;
        try {
          return apply();
        } finally {
          this.#staged = undefined;
        }
      },
      (outcome) => {
        if (outcome.ok) for (const [key, change] of staged) this.#changed.set(key, change);
        else this.#unavailable += 1;
        settle(outcome);
      },
    );
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
   * Commits whatever of the namespace is still pending (relaxed writes, this container's and any
   * other's) and gives the hold back; a failed commit still gives it back. Closing again only commits.
   */
  async close(): Promise<KvFlushResult> {
    let kept = false;
    try {
      const result = await this.#shared.flush();
      kept = true;
      return result;
    } finally {
      this.#release?.(this.changes(), kept);
      this.#release = undefined;
    }
  }

  #note(key: string, change: 'put' | 'delete'): void {
    if (this.#staged !== undefined) this.#staged.push([key, change]);
    else this.#changed.set(key, change);
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
  readonly #ended = new Map<string, KvNamespaceChanges>();

  constructor(store: StoragePort) {
    this.#store = store;
  }

  /**
   * A hold on `namespace` checked against `quota`, its writes kept as `durability` says (default
   * `commit`: committed before the guest's call returns); close it when the container ends.
   */
  async lease(
    namespace: string,
    quota: Partial<KvQuota> = {},
    durability: KvDurability = 'commit',
  ): Promise<KvLease> {
    const checked = checkKvConfig(namespace, quota);
    const policy = parseKvDurability(durability);
    let entry = this.#open.get(namespace);
    if (entry === undefined) {
      // Its own quota is never used: every write is checked against the writing container's.
      entry = { backend: StorageKvBackend.load(this.#store, namespace), leases: 0 };
      this.#open.set(namespace, entry);
    }
    entry.leases += 1;
    const held = entry;
    const release = (changes: KvLeaseChanges, kept: boolean) => {
      const before = this.#ended.get(namespace);
      this.#ended.set(namespace, {
        namespace,
        written: (before?.written ?? 0) + changes.written,
        deleted: (before?.deleted ?? 0) + changes.deleted,
        unavailable: (before?.unavailable ?? 0) + changes.unavailable,
        kept,
      });
      held.leases -= 1;
      if (held.leases === 0 && this.#open.get(namespace) === held) this.#open.delete(namespace);
    };
    let backend: StorageKvBackend;
    try {
      backend = await held.backend;
    } catch (error) {
      held.leases -= 1;
      if (held.leases === 0 && this.#open.get(namespace) === held) this.#open.delete(namespace);
      throw error;
    }
    return new KvLease(backend, checked, policy, release);
  }

  /** What the leases that ended changed, per namespace (for a summary when the process stops). */
  ended(): readonly KvNamespaceChanges[] {
    return [...this.#ended.values()];
  }

  /** Namespaces some container holds now (for tests and diagnostics). */
  get openCount(): number {
    return this.#open.size;
  }
}
