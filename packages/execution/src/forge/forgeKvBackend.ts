import { ForgeError } from '@forgeone/common';
import type { ForgeErrno } from './forgeErrno';

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
 * quota accounting inside. Synchronous because the guest is blocked in the call. There is one per
 * namespace, on the main thread: a guest in an isolation worker reaches it through a synchronous
 * bridge (each call applied before the guest's call returns), so every argument and result stays
 * plain data.
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
  /**
   * Optional, for a caller that can wait for its answer (the main thread serving a worker guest):
   * runs `apply` (calls on this backend) and gives its result to `settle` once the writes it made
   * or can see are durable. A backend that commits writes of several callers together (group
   * commit) has it; without it, every call's result is final when it returns.
   */
  grouped?<T>(apply: () => T, settle: (outcome: KvGroupOutcome<T>) => void): void;
}

/** What `KvBackend.grouped` settles with: the calls' result, or why committing their writes failed. */
export type KvGroupOutcome<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/**
 * What a backend throws to answer one kv call with an errno of its own (TOO_LARGE for a value it
 * cannot hand over, UNAVAILABLE with a reason); anything else it throws answers UNAVAILABLE. Like
 * GuestFault it never leaves the syscall that caught it.
 */
export class KvRefusal extends Error {
  override readonly name = 'KvRefusal';

  constructor(
    readonly errno: ForgeErrno,
    message: string,
  ) {
    super(message);
  }
}

export const defaultKvQuota: KvQuota = { maxBytes: 1024 * 1024, maxKeys: 1024 };

/** Namespace names: safe as a storage namespace (`kv/<name>`) and inside a `kv:` capability. */
export const KV_NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9.-]{0,63}$/;

/** Bytes an entry counts toward the quota. */
export function kvEntryBytes(key: string, value: Uint8Array): number {
  // Counted without encoding: this runs on every put.
  return Buffer.byteLength(key, 'utf8') + value.byteLength;
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
export class MemoryKvBackend implements KvBackend {
  readonly namespace: string;
  readonly quota: KvQuota;
  readonly #entries = new Map<string, Uint8Array>();
  #bytes = 0;

  constructor(namespace: string, quota: Partial<KvQuota> = {}) {
    this.quota = checkKvConfig(namespace, quota);
    this.namespace = namespace;
  }

  get(key: string): Uint8Array | undefined {
    return this.#entries.get(key);
  }

  put(key: string, value: Uint8Array): KvPutStatus {
    return this.putWithin(this.quota, key, value);
  }

  /**
   * `put` against `quota` instead of the namespace's own: for a namespace several containers share
   * while each keeps the quota it was given.
   */
  putWithin(quota: KvQuota, key: string, value: Uint8Array): KvPutStatus {
    const old = this.#entries.get(key);
    const keyBytes = Buffer.byteLength(key, 'utf8');
    const oldBytes = old === undefined ? 0 : keyBytes + old.byteLength;
    const newBytes = keyBytes + value.byteLength;
    const bytes = this.#bytes - oldBytes + newBytes;
    const keys = this.#entries.size + (old === undefined ? 1 : 0);
    // A namespace loaded over a since-lowered quota may still shrink; it may not grow.
    const growsBytes = bytes > quota.maxBytes && newBytes > oldBytes;
    const growsKeys = keys > quota.maxKeys && old === undefined;
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
}
