import {
  ForgeError,
  storageLimits,
  toForgeError,
  type JsonValue,
  type StorageOps,
  type StoragePort,
} from '@forgeone/common';
import { canonicalJson, sha256Hex } from '@forgeone/crypto';
import { auditIndexNamespace, auditIndexWrites, indexedDecisionSeq, indexedRequestSeq } from './auditIndex';
import { isKernelAuditEntry, type AuditEntry } from './kernelAuditEntry';

/** The `prev` of the first entry. */
export const AUDIT_GENESIS = '0'.repeat(64);
const FORMAT = 1;

/** One audit entry as stored: its place in the chain and the decision. */
export interface AuditRecord {
  readonly seq: number;
  /** SHA-256 of the previous entry's canonical bytes (zeros for the first). */
  readonly prev: string;
  /** SHA-256 of this entry's canonical bytes `{ v, seq, prev, entry }` (RFC 8785 JSON). */
  readonly hash: string;
  readonly entry: AuditEntry;
}

/** The result of `verify`: the chain is intact up to `head`, or the first broken entry. */
export type AuditVerification =
  | { readonly ok: true; readonly entries: number; readonly head: number; readonly lastHash: string }
  | {
      readonly ok: false;
      /** Entries checked and found intact before the break. */
      readonly entries: number;
      /** The first entry that does not verify. */
      readonly brokenSeq: number;
      readonly reason: string;
    };

export interface AuditLogOptions {
  /** The log's name in the store. Default `audit`. */
  readonly log?: string;
  /** Flush once this many entries are buffered. Default 256. */
  readonly maxBatch?: number;
  /** Flush at most this long after an entry was buffered. Default 50 ms. */
  readonly maxDelayMs?: number;
  /** Told about failures of flushes nobody awaits (size or time triggered) and refused entries. */
  readonly onError?: (error: ForgeError) => void;
}

export interface VerifyOptions {
  /**
   * A (seq, hash) pair recorded earlier (from a previous verify, or published elsewhere). The chain
   * alone cannot reveal that its newest entries were cut off or rewritten from some point on; an
   * anchor can.
   */
  readonly anchor?: { readonly seq: number; readonly hash: string };
}

type StoredAudit = { v: number; seq: number; prev: string; entry: AuditEntry; hash: string };

function hashOf(body: { v: number; seq: number; prev: string; entry: unknown }): string {
  return sha256Hex(canonicalJson(body));
}

/** Whether a stored log entry has the shape of an audit log entry (says nothing of its hash). */
export function isAuditRecordData(data: JsonValue): boolean {
  return isStoredAudit(data);
}

function isStoredAudit(data: JsonValue): data is JsonValue & StoredAudit {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return false;
  return (
    typeof data['v'] === 'number' &&
    typeof data['seq'] === 'number' &&
    typeof data['prev'] === 'string' &&
    typeof data['hash'] === 'string' &&
    typeof data['entry'] === 'object' &&
    data['entry'] !== null
  );
}

/** The log an audit trail is kept in when none is named (what `forgeone audit verify --log` reads). */
export const DEFAULT_AUDIT_LOG = 'audit';

/**
 * The durable, hash-chained audit log of enforcement decisions (and of kernel events such as a
 * boot: `KernelAuditEntry`), over the storage port. `enqueue`
 * is synchronous and cheap (the hot path); `flush` makes everything enqueued durable and resolves
 * only then. Each entry carries the SHA-256 of the one before, so `verify` finds any entry that
 * was changed, removed or reordered. One AuditLog should own a log; several processes appending
 * to the same log still keep one chain (each batch continues from the stored head, in a
 * transaction).
 */
export class AuditLog {
  readonly log: string;
  readonly #store: StoragePort;
  readonly #maxBatch: number;
  readonly #maxDelayMs: number;
  readonly #onError: ((error: ForgeError) => void) | undefined;
  #buffer: AuditEntry[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #head: { seq: number; hash: string } | undefined;
  #closed = false;

  constructor(store: StoragePort, options: AuditLogOptions = {}) {
    this.#store = store;
    this.log = options.log ?? DEFAULT_AUDIT_LOG;
    if (!storageLimits.namePattern.test(this.log)) {
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        `audit log name ${JSON.stringify(this.log)} is not a valid log name`,
      );
    }
    this.#maxBatch = Math.max(1, Math.min(options.maxBatch ?? 256, storageLimits.maxAppendBatch));
    this.#maxDelayMs = Math.max(0, options.maxDelayMs ?? 50);
    this.#onError = options.onError;
  }

  /** Entries enqueued and not yet written. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Buffers one entry (synchronous); it is written by the next flush, at the latest after `maxDelayMs`. */
  enqueue(entry: AuditEntry): void {
    if (this.#closed) throw new ForgeError('FORGE_STORAGE_CLOSED', 'the audit log was closed');
    this.#buffer.push(entry);
    if (this.#buffer.length >= this.#maxBatch) {
      this.#background();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#background(), this.#maxDelayMs);
      this.#timer.unref?.();
    }
  }

  /** Writes every buffered entry; resolves with the last sequence number once they are durable. */
  flush(): Promise<{ lastSeq: number }> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#buffer;
    this.#buffer = [];
    const write = this.#tail.then(
      () => this.#write(batch),
      () => this.#write(batch),
    );
    this.#tail = write.catch(() => undefined);
    return write.catch((error: unknown) => {
      // Nothing of a failed batch was written (one transaction): keep it for the next flush.
      this.#buffer = [...batch, ...this.#buffer];
      throw toForgeError(error, 'FORGE_STORAGE_IO');
    });
  }

  /** Appends entries and resolves with their sequence numbers once they are durable. */
  async append(entries: readonly AuditEntry[]): Promise<{ firstSeq: number; lastSeq: number }> {
    if (this.#closed) throw new ForgeError('FORGE_STORAGE_CLOSED', 'the audit log was closed');
    this.#buffer.push(...entries);
    const { lastSeq } = await this.flush();
    return { firstSeq: lastSeq - entries.length + 1, lastSeq };
  }

  /** Flushes and stops the timer. The store stays open (it is the caller's). */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
  }

  /** Reads stored entries in order. */
  async read(options: { fromSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    const entries = await this.#store.readLog(this.log, options);
    return entries.flatMap((e) =>
      isStoredAudit(e.data)
        ? [{ seq: e.seq, prev: e.data.prev, hash: e.data.hash, entry: e.data.entry }]
        : [],
    );
  }

  /**
   * The audit record of call `traceSeq` of `containerId` (its decision id's parts), found through
   * the index written with the records; undefined when there is none.
   */
  async findDecision(containerId: string, traceSeq: number): Promise<AuditRecord | undefined> {
    const seq = await indexedDecisionSeq(this.#store, this.log, containerId, traceSeq);
    const record = seq === undefined ? undefined : (await this.read({ fromSeq: seq, limit: 1 }))[0];
    if (record === undefined || record.seq !== seq || isKernelAuditEntry(record.entry)) return undefined;
    return record.entry.containerId === containerId && record.entry.traceSeq === traceSeq
      ? record
      : undefined;
  }

  /** The audit record of the API request `requestId` (what it did, who asked), if there is one. */
  async findRequest(requestId: string): Promise<AuditRecord | undefined> {
    const seq = await indexedRequestSeq(this.#store, this.log, requestId);
    const record = seq === undefined ? undefined : (await this.read({ fromSeq: seq, limit: 1 }))[0];
    if (record === undefined || record.seq !== seq || !isKernelAuditEntry(record.entry)) return undefined;
    return record.entry.facts['requestId'] === requestId ? record : undefined;
  }

  /** Proves the chain intact, or names the first entry that breaks it. */
  verify(options: VerifyOptions = {}): Promise<AuditVerification> {
    return verifyAuditChain(this.#store, this.log, options);
  }

  #background(): void {
    this.flush().catch((error: unknown) => this.#onError?.(toForgeError(error, 'FORGE_STORAGE_IO')));
  }

  async #write(batch: readonly AuditEntry[]): Promise<{ lastSeq: number }> {
    if (batch.length === 0) return { lastSeq: this.#head?.seq ?? (await this.#store.logHead(this.log)) };
    const result = await this.#store.transaction(async (tx) => {
      const head = await tx.logHead(this.log);
      let prev =
        head === 0
          ? AUDIT_GENESIS
          : head === this.#head?.seq
            ? this.#head.hash
            : await lastHash(tx, this.log, head);
      const data: StoredAudit[] = [];
      for (const entry of batch) {
        const body = { v: FORMAT, seq: head + data.length + 1, prev, entry };
        let hash: string;
        try {
          hash = hashOf(body);
        } catch (error) {
          this.#onError?.(
            new ForgeError(
              'FORGE_AUDIT_ENTRY_INVALID',
              `an audit entry was refused: ${(error as Error).message}`,
              {
                cause: error,
              },
            ),
          );
          continue;
        }
        data.push({ ...body, hash });
        prev = hash;
      }
      for (let i = 0; i < data.length; i += storageLimits.maxAppendBatch) {
        await tx.append(this.log, data.slice(i, i + storageLimits.maxAppendBatch) as unknown as JsonValue[]);
      }
      // In the same transaction: an acknowledged record is always found by its decision or request id.
      const index = auditIndexNamespace(this.log);
      for (const { key, value } of auditIndexWrites(data)) await tx.putRecord(index, key, value);
      return { seq: head + data.length, hash: prev };
    });
    this.#head = result;
    return { lastSeq: result.seq };
  }
}

async function lastHash(tx: StorageOps, log: string, head: number): Promise<string> {
  const [last] = await tx.readLog(log, { fromSeq: head, limit: 1 });
  if (!last) return AUDIT_GENESIS;
  return isStoredAudit(last.data) ? last.data.hash : sha256Hex(canonicalJson(last.data));
}

/** Verifies the audit chain in `log` of `store` (see AuditLog.verify). */
export async function verifyAuditChain(
  store: Pick<StorageOps, 'readLog'>,
  log = DEFAULT_AUDIT_LOG,
  options: VerifyOptions = {},
): Promise<AuditVerification> {
  let prev = AUDIT_GENESIS;
  let expected = 1;
  const broken = (seq: number, reason: string): AuditVerification => ({
    ok: false,
    entries: seq - 1,
    brokenSeq: seq,
    reason,
  });
  for (;;) {
    const page = await store.readLog(log, { fromSeq: expected, limit: storageLimits.maxPage });
    for (const stored of page) {
      if (stored.seq !== expected)
        return broken(expected, `entry ${expected} is missing (the next stored entry is ${stored.seq})`);
      const data = stored.data;
      if (!isStoredAudit(data))
        return broken(expected, `entry ${expected} is not an audit entry (its fields were changed)`);
      if (data.seq !== stored.seq) {
        return broken(expected, `entry ${expected} says it is entry ${data.seq}: it was moved or copied`);
      }
      let recomputed: string;
      try {
        recomputed = hashOf({ v: data.v, seq: data.seq, prev: data.prev, entry: data.entry });
      } catch {
        return broken(expected, `entry ${expected} cannot be hashed (its content was changed)`);
      }
      if (recomputed !== data.hash) {
        return broken(expected, `entry ${expected} was changed: its content no longer matches its hash`);
      }
      if (data.prev !== prev) {
        // Both entries are self-consistent, so one of them was rewritten whole (hash included).
        const seq = Math.max(1, expected - 1);
        return broken(
          seq,
          expected === 1
            ? 'entry 1 does not start the chain (its prev is not the genesis hash)'
            : `entry ${seq} does not match the hash entry ${expected} recorded for it: entry ${seq} was rewritten (or entry ${expected}'s link)`,
        );
      }
      if (options.anchor && options.anchor.seq === expected && options.anchor.hash !== data.hash) {
        return broken(
          expected,
          `entry ${expected} does not match the anchor hash ${options.anchor.hash.slice(0, 16)}…`,
        );
      }
      prev = data.hash;
      expected += 1;
    }
    if (page.length < storageLimits.maxPage) break;
  }
  const head = expected - 1;
  if (options.anchor && options.anchor.seq > head) {
    return broken(
      head + 1,
      `the log ends at entry ${head}, but the anchor names entry ${options.anchor.seq}: entries were removed`,
    );
  }
  return { ok: true, entries: head, head, lastHash: prev };
}
