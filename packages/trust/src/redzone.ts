import {
  ExecutionDnaSchema,
  ForgeError,
  systemClock,
  type Clock,
  type JsonValue,
  type StoragePort,
  type StoredRecord,
} from '@forgeone/common';
import { analyse } from './redzoneAnalysis';
import {
  redzoneTransitions,
  type QuarantineInput,
  type QuarantineRecord,
  type RedzoneAction,
  type RedzoneAnalysis,
  type RedzoneState,
  type Remediation,
} from './redzoneRecord';

/** Restores a container from a snapshot (the observer's snapshot store, once it exists). */
export interface SnapshotPort {
  restore(containerId: string, snapshotId: string): Promise<void>;
}

export interface RedzoneOptions {
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Longest stay before automatic termination. Default 15 minutes. */
  readonly maxQuarantineMs?: number;
  readonly snapshots?: SnapshotPort;
  /** Called when a capability is revoked (take it away from the running container). */
  readonly onRevoke?: (containerId: string, capability: string) => void | Promise<void>;
  /** Called on release: resume the guest. */
  readonly onRelease?: (record: QuarantineRecord) => void | Promise<void>;
  /** Called on termination (by an operator, a remediation or the deadline): stop the guest. */
  readonly onTerminate?: (record: QuarantineRecord) => void | Promise<void>;
  /** Storage namespace of the records. Default `redzone`. */
  readonly namespace?: string;
}

/** What a transition changes in a record, and who made it and why (for the history). */
type Change = (
  record: QuarantineRecord,
  now: number,
) => Partial<QuarantineRecord> & { by?: string; note?: string };

const HELD: ReadonlySet<RedzoneState> = new Set(['active', 'analyzing', 'remediating']);

/**
 * The redzone: where quarantined containers are held, analysed, remediated, then released or
 * terminated — and terminated anyway once the maximum quarantine time has passed. Records live in
 * the storage port (compare-and-set on every change), so they survive a restart.
 */
export class Redzone {
  readonly #store: StoragePort;
  readonly #clock: Clock;
  readonly #maxMs: number;
  readonly #options: RedzoneOptions;
  readonly #namespace: string;
  /** Held records by container id, with their deadline: what `expire` reads instead of every record. */
  readonly #heldIndex: string;
  /** Records written before the index existed are indexed once, by the first `expire` of a process. */
  #indexing: Promise<void> | undefined;
  readonly #waiters = new Map<string, ((state: 'released' | 'terminated') => void)[]>();

  constructor(store: StoragePort, options: RedzoneOptions = {}) {
    this.#store = store;
    this.#clock = options.clock ?? systemClock;
    this.#maxMs = options.maxQuarantineMs ?? 15 * 60_000;
    if (!Number.isFinite(this.#maxMs) || this.#maxMs <= 0) {
      throw new ForgeError('FORGE_INVALID_INPUT', 'maxQuarantineMs must be a number of ms above 0');
    }
    this.#options = options;
    this.#namespace = options.namespace ?? 'redzone';
    this.#heldIndex = `${this.#namespace}.held`;
  }

  /** Quarantines a container: a new record in state `active`. A container already held is refused. */
  async quarantine(input: QuarantineInput): Promise<QuarantineRecord> {
    const dna = ExecutionDnaSchema.parse(input.dna);
    const baseline = input.baseline === undefined ? undefined : ExecutionDnaSchema.parse(input.baseline);
    const stored = await this.#store.getRecord(this.#namespace, input.containerId);
    const previous = stored?.value as QuarantineRecord | undefined;
    this.#refuseHeld(input.containerId, previous);
    const now = this.#clock.now();
    const record: QuarantineRecord = {
      containerId: input.containerId,
      state: 'active',
      reason: input.reason,
      firedRules: [...(input.firedRules ?? [])],
      dna,
      ...(baseline ? { baseline } : {}),
      ...(input.anomaly ? { anomaly: input.anomaly } : {}),
      quarantinedAt: now,
      deadline: now + this.#maxMs,
      count: (previous?.count ?? 0) + 1,
      remediations: [],
      revokedCapabilities: [],
      history: [{ at: now, from: null, to: 'active', action: 'quarantine', note: input.reason }],
    };
    await this.#put(record, stored?.version ?? 0);
    return record;
  }

  /**
   * Keeps a record another redzone made (a run's, made in memory, moved into the state that keeps
   * it). A container already held here is refused, as `quarantine` refuses it.
   */
  async keep(record: QuarantineRecord): Promise<QuarantineRecord> {
    ExecutionDnaSchema.parse(record.dna);
    const stored = await this.#store.getRecord(this.#namespace, record.containerId);
    const previous = stored?.value as QuarantineRecord | undefined;
    this.#refuseHeld(record.containerId, previous);
    const kept: QuarantineRecord = { ...record, count: (previous?.count ?? 0) + 1 };
    await this.#put(kept, stored?.version ?? 0);
    return kept;
  }

  /** The container's record (after applying an overdue termination), if it was ever quarantined. */
  async get(containerId: string): Promise<QuarantineRecord | undefined> {
    const stored = await this.#store.getRecord(this.#namespace, containerId);
    if (!stored) return undefined;
    const record = stored.value as unknown as QuarantineRecord;
    return this.#overdue(record) ? this.#expire(containerId) : record;
  }

  /** Every record, optionally only those in one state. */
  async list(filter: { state?: RedzoneState } = {}): Promise<QuarantineRecord[]> {
    const out: QuarantineRecord[] = [];
    for await (const stored of this.#pages(this.#namespace)) {
      const record = stored.value as unknown as QuarantineRecord;
      const current = this.#overdue(record) ? await this.#expire(record.containerId) : record;
      if (filter.state === undefined || current.state === filter.state) out.push(current);
    }
    return out;
  }

  /** True while the container is held (it must not run). */
  async isSuspended(containerId: string): Promise<boolean> {
    const record = await this.get(containerId);
    return record !== undefined && HELD.has(record.state);
  }

  /** Analyses the stay: DNA deviation from the baseline, fired rules, what made the anomaly. */
  async analyze(containerId: string, by?: string): Promise<RedzoneAnalysis> {
    const record = await this.#transition(containerId, 'analyze', (r, now) => ({
      analysis: analyse(r, now),
      ...(by === undefined ? {} : { by }),
    }));
    return record.analysis!;
  }

  /** Applies a remediation; `terminate` ends the stay. */
  async remediate(containerId: string, remediation: Remediation, by?: string): Promise<QuarantineRecord> {
    if (remediation.kind === 'terminate')
      return this.terminate(containerId, 'terminated as a remediation', by);
    if (remediation.kind === 'restore-snapshot' && !this.#options.snapshots) {
      throw new ForgeError(
        'FORGE_REDZONE_NO_SNAPSHOT',
        'restoring from a snapshot needs a snapshot port (RedzoneOptions.snapshots); revoke a capability or terminate instead',
        { details: { containerId } },
      );
    }
    const record = await this.#transition(containerId, 'remediate', (r, now) => ({
      remediations: [...r.remediations, { ...remediation, at: now, ...(by === undefined ? {} : { by }) }],
      ...(remediation.kind === 'revoke-capability'
        ? { revokedCapabilities: [...new Set([...r.revokedCapabilities, remediation.capability])] }
        : {}),
      ...(by === undefined ? {} : { by }),
    }));
    if (remediation.kind === 'revoke-capability')
      await this.#options.onRevoke?.(containerId, remediation.capability);
    else await this.#options.snapshots!.restore(containerId, remediation.snapshotId);
    return record;
  }

  /** Releases the container: it may run again. */
  async release(containerId: string, by?: string, note?: string): Promise<QuarantineRecord> {
    const record = await this.#transition(containerId, 'release', () => ({
      ...(by === undefined ? {} : { by }),
      ...(note === undefined ? {} : { note }),
    }));
    await this.#options.onRelease?.(record);
    this.#wake(containerId, 'released');
    return record;
  }

  /** Terminates the container. */
  async terminate(containerId: string, reason: string, by?: string): Promise<QuarantineRecord> {
    const record = await this.#transition(containerId, 'terminate', () => ({
      note: reason,
      ...(by === undefined ? {} : { by }),
    }));
    await this.#options.onTerminate?.(record);
    this.#wake(containerId, 'terminated');
    return record;
  }

  /**
   * Terminates every record held past its deadline; returns them. It reads the index of held
   * records (kept in the same transaction as each record), not every record ever made.
   */
  async expire(): Promise<QuarantineRecord[]> {
    // Shared by an expiry that starts while the first is still indexing; retried after a failure.
    this.#indexing ??= this.#indexHeld().catch((error: unknown) => {
      this.#indexing = undefined;
      throw error;
    });
    await this.#indexing;
    const now = this.#clock.now();
    const expired: QuarantineRecord[] = [];
    for await (const entry of this.#pages(this.#heldIndex)) {
      const deadline = (entry.value as { deadline?: unknown }).deadline;
      if (typeof deadline === 'number' && deadline > now) continue;
      const stored = await this.#store.getRecord(this.#namespace, entry.key);
      const record = stored?.value as QuarantineRecord | undefined;
      if (record === undefined || !HELD.has(record.state)) {
        // An entry left by a store written outside this class: the record is not held.
        await this.#store.deleteRecord(this.#heldIndex, entry.key);
        continue;
      }
      if (this.#overdue(record)) expired.push(await this.#expire(record.containerId));
    }
    return expired;
  }

  /** Resolves when the container is released or terminated (immediately if it already is). */
  async whenResolved(containerId: string): Promise<'released' | 'terminated'> {
    const record = await this.get(containerId);
    if (!record) throw notFound(containerId);
    if (!HELD.has(record.state)) return record.state as 'released' | 'terminated';
    return new Promise((resolve) => {
      const list = this.#waiters.get(containerId) ?? [];
      list.push(resolve);
      this.#waiters.set(containerId, list);
    });
  }

  /** Runs `expire` every `intervalMs`; returns a function that stops it. */
  startExpiry(intervalMs = 1000): () => void {
    const timer = setInterval(() => void this.expire().catch(() => undefined), intervalMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  /** A record and its place in the held index, written together (compare-and-set on the record). */
  async #put(record: QuarantineRecord, expectedVersion: number): Promise<void> {
    await this.#store.transaction(async (tx) => {
      await tx.putRecord(this.#namespace, record.containerId, record as unknown as JsonValue, {
        expectedVersion,
      });
      if (HELD.has(record.state)) {
        await tx.putRecord(this.#heldIndex, record.containerId, { deadline: record.deadline });
      } else {
        await tx.deleteRecord(this.#heldIndex, record.containerId);
      }
    });
  }

  /** Adds to the index every held record that is missing from it (a state from an older version). */
  async #indexHeld(): Promise<void> {
    for await (const stored of this.#pages(this.#namespace)) {
      const record = stored.value as unknown as QuarantineRecord;
      if (!HELD.has(record.state)) continue;
      if (await this.#store.getRecord(this.#heldIndex, record.containerId)) continue;
      await this.#store.putRecord(this.#heldIndex, record.containerId, { deadline: record.deadline });
    }
  }

  /** Every record of `namespace`, a page at a time (a page read ahead of what its caller changes). */
  async *#pages(namespace: string): AsyncGenerator<StoredRecord> {
    let after: string | undefined;
    for (;;) {
      const page = await this.#store.listRecords(namespace, { ...(after ? { after } : {}), limit: 1000 });
      yield* page;
      if (page.length < 1000) return;
      after = page[page.length - 1]!.key;
    }
  }

  /** A container still held (and not past its time) gets no second record. */
  #refuseHeld(containerId: string, previous: QuarantineRecord | undefined): void {
    if (previous && HELD.has(previous.state) && !this.#overdue(previous)) {
      throw new ForgeError(
        'FORGE_REDZONE_TRANSITION',
        `container ${containerId} is already quarantined (${previous.state}); release or terminate it first`,
        { details: { containerId, state: previous.state } },
      );
    }
  }

  #overdue(record: QuarantineRecord): boolean {
    return HELD.has(record.state) && this.#clock.now() >= record.deadline;
  }

  async #expire(containerId: string): Promise<QuarantineRecord> {
    const record = await this.#apply(containerId, 'expire', () => ({
      note: `held longer than the maximum quarantine time (${this.#maxMs} ms)`,
      by: 'redzone',
    }));
    await this.#options.onTerminate?.(record);
    this.#wake(containerId, 'terminated');
    return record;
  }

  /** An operator's transition: an overdue record is terminated first (and the action refused). */
  async #transition(containerId: string, action: RedzoneAction, change: Change): Promise<QuarantineRecord> {
    const current = await this.get(containerId);
    if (!current) throw notFound(containerId);
    return this.#apply(containerId, action, change);
  }

  async #apply(containerId: string, action: RedzoneAction, change: Change): Promise<QuarantineRecord> {
    const stored = await this.#store.getRecord(this.#namespace, containerId);
    if (!stored) throw notFound(containerId);
    const record = stored.value as unknown as QuarantineRecord;
    const to = redzoneTransitions[record.state][action];
    if (to === undefined) {
      const last = record.history.at(-1);
      const why =
        record.state === 'terminated' && last?.action === 'expire'
          ? ' after its maximum quarantine time'
          : '';
      throw new ForgeError(
        'FORGE_REDZONE_TRANSITION',
        `container ${containerId} is ${record.state}${why}; it cannot ${action} (allowed: ${Object.keys(redzoneTransitions[record.state]).join(', ') || 'nothing, the stay is over'})`,
        { details: { containerId, state: record.state, action } },
      );
    }
    const now = this.#clock.now();
    const { by, note, ...fields } = change(record, now);
    const next: QuarantineRecord = {
      ...record,
      ...fields,
      state: to,
      history: [
        ...record.history,
        {
          at: now,
          from: record.state,
          to,
          action,
          ...(by === undefined ? {} : { by }),
          ...(note === undefined ? {} : { note }),
        },
      ],
    };
    await this.#put(next, stored.version);
    return next;
  }

  #wake(containerId: string, state: 'released' | 'terminated'): void {
    const list = this.#waiters.get(containerId);
    this.#waiters.delete(containerId);
    for (const resolve of list ?? []) resolve(state);
  }
}

function notFound(containerId: string): ForgeError {
  return new ForgeError('FORGE_REDZONE_NOT_FOUND', `container ${containerId} has no quarantine record`, {
    details: { containerId },
  });
}
