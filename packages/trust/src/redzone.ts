import {
  ExecutionDnaSchema,
  ForgeError,
  systemClock,
  type Clock,
  type ExecutionDNA,
  type JsonValue,
  type StoragePort,
} from '@forgeone/common';
import { compareDna, type SyscallShift } from './dnaDeviation';

export const redzoneStates = ['active', 'analyzing', 'remediating', 'released', 'terminated'] as const;
/** Where a quarantined container is: held (active, analyzing, remediating) or done (released, terminated). */
export type RedzoneState = (typeof redzoneStates)[number];
export type RedzoneAction = 'analyze' | 'remediate' | 'release' | 'terminate' | 'expire';

/**
 * Every allowed transition. A container is suspended in the first three states; `released` and
 * `terminated` are final (a released container quarantined again gets a new record). `expire` is
 * the automatic termination after the maximum quarantine time.
 */
export const redzoneTransitions: Readonly<
  Record<RedzoneState, Readonly<Partial<Record<RedzoneAction, RedzoneState>>>>
> = {
  active: {
    analyze: 'analyzing',
    remediate: 'remediating',
    release: 'released',
    terminate: 'terminated',
    expire: 'terminated',
  },
  analyzing: {
    analyze: 'analyzing',
    remediate: 'remediating',
    release: 'released',
    terminate: 'terminated',
    expire: 'terminated',
  },
  remediating: {
    remediate: 'remediating',
    release: 'released',
    terminate: 'terminated',
    expire: 'terminated',
  },
  released: {},
  terminated: {},
};

/** A remediation applied to a quarantined container. */
export type Remediation =
  | { readonly kind: 'revoke-capability'; readonly capability: string }
  | { readonly kind: 'restore-snapshot'; readonly snapshotId: string }
  | { readonly kind: 'terminate' };

/** What the analysis found. */
export interface RedzoneAnalysis {
  readonly analyzedAt: number;
  /** Total variation distance of the DNA from its baseline, in [0, 1] (0 without a baseline). */
  readonly deviation: number;
  /** The syscalls whose share moved most, largest first (at most 10). */
  readonly deviations: readonly SyscallShift[];
  readonly newSyscalls: readonly string[];
  readonly deniedRatio: number;
  readonly baselineDeniedRatio: number;
  readonly firedRules: readonly string[];
  /** What made up the anomaly, largest first: the detector's own breakdown, else the DNA shifts. */
  readonly anomalyContributions: readonly { readonly source: string; readonly value: number }[];
  /** The findings as sentences, for operators. */
  readonly summary: readonly string[];
}

export interface QuarantineHistoryEntry {
  readonly at: number;
  readonly from: RedzoneState | null;
  readonly to: RedzoneState;
  readonly action: RedzoneAction | 'quarantine';
  readonly by?: string;
  readonly note?: string;
}

/** One container's stay in the redzone, as persisted. */
export interface QuarantineRecord {
  readonly containerId: string;
  readonly state: RedzoneState;
  readonly reason: string;
  readonly firedRules: readonly string[];
  readonly dna: ExecutionDNA;
  readonly baseline?: ExecutionDNA;
  readonly anomaly?: { readonly score: number; readonly contributions?: Readonly<Record<string, number>> };
  readonly quarantinedAt: number;
  /** Terminated automatically when still held at this time. */
  readonly deadline: number;
  /** How many times this container has been quarantined (this stay included). */
  readonly count: number;
  readonly analysis?: RedzoneAnalysis;
  readonly remediations: readonly (Remediation & { readonly at: number; readonly by?: string })[];
  readonly revokedCapabilities: readonly string[];
  readonly history: readonly QuarantineHistoryEntry[];
}

export interface QuarantineInput {
  readonly containerId: string;
  readonly reason: string;
  /** The container's execution DNA at the time. */
  readonly dna: ExecutionDNA;
  readonly baseline?: ExecutionDNA;
  /** Rules (`node/rule`) that fired on the way here. */
  readonly firedRules?: readonly string[];
  readonly anomaly?: { readonly score: number; readonly contributions?: Readonly<Record<string, number>> };
}

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
    await this.#store.putRecord(this.#namespace, input.containerId, record as unknown as JsonValue, {
      expectedVersion: stored?.version ?? 0,
    });
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
    await this.#store.putRecord(this.#namespace, record.containerId, kept as unknown as JsonValue, {
      expectedVersion: stored?.version ?? 0,
    });
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
    let after: string | undefined;
    for (;;) {
      const page = await this.#store.listRecords(this.#namespace, {
        ...(after ? { after } : {}),
        limit: 1000,
      });
      for (const stored of page) {
        const record = stored.value as unknown as QuarantineRecord;
        const current = this.#overdue(record) ? await this.#expire(record.containerId) : record;
        if (filter.state === undefined || current.state === filter.state) out.push(current);
      }
      if (page.length < 1000) return out;
      after = page[page.length - 1]!.key;
    }
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

  /** Terminates every record held past its deadline; returns them. */
  async expire(): Promise<QuarantineRecord[]> {
    const before = this.#clock.now();
    const all = await this.list();
    return all.filter(
      (r) =>
        r.state === 'terminated' && r.history.at(-1)?.action === 'expire' && r.history.at(-1)!.at >= before,
    );
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
    await this.#store.putRecord(this.#namespace, containerId, next as unknown as JsonValue, {
      expectedVersion: stored.version,
    });
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

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function analyse(record: QuarantineRecord, now: number): RedzoneAnalysis {
  const comparison = record.baseline ? compareDna(record.dna, record.baseline) : undefined;
  const total = record.dna.totalCalls;
  const deniedRatio = total > 0 ? record.dna.deniedCalls / total : 0;
  const deviations = comparison?.shifts.slice(0, 10) ?? [];
  const contributions = record.anomaly?.contributions
    ? Object.entries(record.anomaly.contributions).map(([source, value]) => ({ source, value }))
    : [
        ...deviations.map((s) => ({ source: `syscall ${s.syscall}`, value: s.contribution })),
        ...(comparison && deniedRatio > comparison.baselineDeniedRatio
          ? [{ source: 'refused calls', value: deniedRatio - comparison.baselineDeniedRatio }]
          : []),
      ];
  contributions.sort((a, b) => b.value - a.value);
  const summary: string[] = [`quarantined: ${record.reason}`];
  if (comparison) {
    summary.push(
      `behaviour deviates ${percent(comparison.deviation)} from the baseline (total variation distance)`,
    );
    for (const shift of deviations.slice(0, 3)) {
      summary.push(
        `${shift.syscall}: ${percent(shift.observed)} of calls, baseline ${percent(shift.baseline)}`,
      );
    }
    if (comparison.newSyscalls.length > 0)
      summary.push(`never seen in the baseline: ${comparison.newSyscalls.join(', ')}`);
  } else {
    const top = Object.entries(record.dna.syscallCounts)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([name, count]) => `${name} x${count}`);
    summary.push(`no baseline to compare with; most frequent calls: ${top.join(', ') || 'none'}`);
  }
  summary.push(`${record.dna.deniedCalls} of ${total} calls were refused (${percent(deniedRatio)})`);
  if (record.firedRules.length > 0) summary.push(`rules that fired: ${record.firedRules.join(', ')}`);
  if (record.anomaly) summary.push(`anomaly score ${record.anomaly.score.toFixed(3)}`);
  return {
    analyzedAt: now,
    deviation: comparison?.deviation ?? 0,
    deviations,
    newSyscalls: comparison?.newSyscalls ?? [],
    deniedRatio,
    baselineDeniedRatio: comparison?.baselineDeniedRatio ?? 0,
    firedRules: record.firedRules,
    anomalyContributions: contributions,
    summary,
  };
}
