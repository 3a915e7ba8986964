import { ForgeError } from '@forgeone/common';

/** How much one kv namespace may hold. */
export interface KvQuota {
  /** Bytes of keys (UTF-8) plus values, summed over every entry. Default 1 MiB. */
  readonly maxBytes: number;
  /** Number of keys. Default 1,024. */
  readonly maxKeys: number;
}

/** What a namespace holds now. */
export interface KvUsage {
  readonly bytes: number;
  readonly keys: number;
}

/** `quota` when the write would take the namespace over its bytes or keys; nothing was written. */
export type KvPutStatus = 'ok' | 'quota';

/**
 * The synchronous key-value store the `forge.kv_*` syscalls use: one namespace, bytes in and out,
 * quota accounting inside. Synchronous because the guest is blocked in the call. Under worker
 * isolation the guest is served from a copy (`SnapshotKvBackend.snapshot()`) and every change the
 * copy accepts is applied to the original on the main thread, in order; so every argument and
 * result stays plain data.
 */
export interface KvBackend {
  /** The namespace this backend serves (what policies see as `namespace`). */
  readonly namespace: string;
  /** The value under `key`, or undefined. Callers must not modify the returned bytes. */
  get(key: string): Uint8Array | undefined;
  /** Stores a copy of `value` under `key`, unless that takes the namespace over its quota. */
  put(key: string, value: Uint8Array): KvPutStatus;
  /** Removes `key`; true when it existed. */
  delete(key: string): boolean;
  usage(): KvUsage;
}

/** One change a namespace accepted, as plain data (what a worker sends back to the main thread). */
export type KvChange =
  | { readonly op: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly op: 'delete'; readonly key: string };

/** A whole namespace as plain data: what an isolation worker is given to serve a guest from. */
export interface KvSnapshot {
  readonly namespace: string;
  readonly quota: KvQuota;
  readonly entries: readonly (readonly [string, Uint8Array])[];
}

/** A KvBackend that can hand over its namespace as plain data, so a guest in a worker can use it. */
export interface SnapshotKvBackend extends KvBackend {
  /** A copy of every entry, with the quota. */
  snapshot(): KvSnapshot;
}

export const defaultKvQuota: KvQuota = { maxBytes: 1024 * 1024, maxKeys: 1024 };

/** Namespace names: safe as a storage namespace (`kv/<name>`) and inside a `kv:` capability. */
export const KV_NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9.-]{0,63}$/;

const utf8 = new TextEncoder();

/** Bytes an entry counts toward the quota. */
export function kvEntryBytes(key: string, value: Uint8Array): number {
  return utf8.encode(key).byteLength + value.byteLength;
}

/** Checks a namespace name and a partial quota from the caller, once, and fills in defaults. */
export function checkKvConfig(namespace: string, quota: Partial<KvQuota> = {}): KvQuota {
  if (typeof namespace !== 'string' || !KV_NAMESPACE_PATTERN.test(namespace)) {
    throw new ForgeError(
      'FORGE_KV_CONFIG_INVALID',
      `kv namespace ${JSON.stringify(String(namespace).slice(0, 80))} is invalid: use 1-64 of a-z 0-9 . - starting with a letter or digit`,
      { details: { field: 'namespace' } },
    );
  }
  const full = { ...defaultKvQuota, ...quota };
  for (const [field, value] of Object.entries(full)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ForgeError('FORGE_KV_CONFIG_INVALID', `kv quota ${field} must be an integer >= 0`, {
        details: { field: `quota.${field}` },
      });
    }
  }
  return full;
}

/**
 * A KvBackend held in memory: the quota accounting every backend shares. Used alone for
 * throw-away namespaces and tests, and inside StorageKvBackend for persistent ones.
 */
export class MemoryKvBackend implements SnapshotKvBackend {
  readonly namespace: string;
  readonly quota: KvQuota;
  readonly #entries = new Map<string, Uint8Array>();
  #bytes = 0;

  constructor(namespace: string, quota: Partial<KvQuota> = {}) {
    this.quota = checkKvConfig(namespace, quota);
    this.namespace = namespace;
  }

  /** A backend holding what `snapshot` holds (loaded as is: a namespace over a lowered quota may only shrink). */
  static fromSnapshot(snapshot: KvSnapshot): MemoryKvBackend {
    const backend = new MemoryKvBackend(snapshot.namespace, snapshot.quota);
    for (const [key, value] of snapshot.entries) backend.load(key, value);
    return backend;
  }

  get(key: string): Uint8Array | undefined {
    return this.#entries.get(key);
  }

  put(key: string, value: Uint8Array): KvPutStatus {
    const old = this.#entries.get(key);
    const oldBytes = old === undefined ? 0 : kvEntryBytes(key, old);
    const newBytes = kvEntryBytes(key, value);
    const bytes = this.#bytes - oldBytes + newBytes;
    const keys = this.#entries.size + (old === undefined ? 1 : 0);
    // A namespace loaded over a since-lowered quota may still shrink; it may not grow.
    const growsBytes = bytes > this.quota.maxBytes && newBytes > oldBytes;
    const growsKeys = keys > this.quota.maxKeys && old === undefined;
    if (growsBytes || growsKeys) return 'quota';
    this.#entries.set(key, value.slice());
    this.#bytes = bytes;
    return 'ok';
  }

  delete(key: string): boolean {
    const old = this.#entries.get(key);
    if (old === undefined) return false;
    this.#entries.delete(key);
    this.#bytes -= kvEntryBytes(key, old);
    return true;
  }

  usage(): KvUsage {
    return { bytes: this.#bytes, keys: this.#entries.size };
  }

  /** Sets an entry without the quota check: for loading what a store already holds. */
  load(key: string, value: Uint8Array): void {
    this.delete(key);
    this.#entries.set(key, value);
    this.#bytes += kvEntryBytes(key, value);
  }

  /** Every entry, in insertion order (for flushing and tests). */
  entries(): IterableIterator<[string, Uint8Array]> {
    return this.#entries.entries();
  }

  snapshot(): KvSnapshot {
    const entries = [...this.#entries].map(([key, value]) => [key, value.slice()] as const);
    return { namespace: this.namespace, quota: this.quota, entries };
  }
}

/** Applies a change another copy of the namespace accepted; false when this copy refuses it (quota). */
export function applyKvChange(backend: KvBackend, change: KvChange): boolean {
  if (change.op === 'put') return backend.put(change.key, change.value) === 'ok';
  backend.delete(change.key);
  return true;
}

/** `inner`, telling `onChange` of every change it accepts, in order (refused writes are not changes). */
export function observedKvBackend(inner: KvBackend, onChange: (change: KvChange) => void): KvBackend {
  return {
    namespace: inner.namespace,
    get: (key) => inner.get(key),
    put: (key, value) => {
      const status = inner.put(key, value);
      if (status === 'ok') onChange({ op: 'put', key, value });
      return status;
    },
    delete: (key) => {
      const existed = inner.delete(key);
      if (existed) onChange({ op: 'delete', key });
      return existed;
    },
    usage: () => inner.usage(),
  };
}
