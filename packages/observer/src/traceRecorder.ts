import type { DecisionAction } from '@forgeone/common';
import type { TraceEvent } from './traceEvent';

export interface TraceRecorderOptions {
  /** Most events kept in memory; older ones are dropped (and counted) unless drained first. Default 65,536. */
  readonly capacity?: number;
  /** Called with a full batch before events would be dropped, e.g. to flush them to the store. */
  readonly onBatch?: (events: readonly TraceEvent[]) => void;
  /** Events per batch handed to `onBatch`. Default 1,024. */
  readonly batchSize?: number;
}

/** Per-syscall counts of a trace, for summaries. */
export interface TraceSummaryRow {
  readonly syscall: string;
  readonly calls: number;
  readonly byAction: Readonly<Partial<Record<DecisionAction, number>>>;
}

/**
 * Records every guest call into a ring buffer of at most `capacity` events, grown on demand.
 * Appending is O(1) amortised and never allocates beyond the ring; full batches are handed to `onBatch` (typically a store flush) so the guest's
 * critical path never waits on I/O.
 */
export class TraceRecorder {
  readonly #ring: (TraceEvent | undefined)[];
  readonly #capacity: number;
  readonly #batchSize: number;
  readonly #onBatch: ((events: readonly TraceEvent[]) => void) | undefined;
  #start = 0; // index of the oldest kept event
  #length = 0;
  #unflushed = 0; // events at the tail not yet handed to onBatch
  #dropped = 0;
  #nextSeq = 1;

  constructor(options: TraceRecorderOptions = {}) {
    const capacity = options.capacity ?? 65_536;
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.#capacity = capacity;
    this.#batchSize = Math.min(options.batchSize ?? 1024, capacity);
    this.#onBatch = options.onBatch;
    // Grows as events come (a run with a few calls must not pay for a 64K-slot ring up front).
    this.#ring = [];
  }

  /** The sequence number the next event gets. */
  nextSeq(): number {
    return this.#nextSeq;
  }

  /** Appends an event; its `seq` must be the one `nextSeq()` gave. */
  record(event: TraceEvent): void {
    if (event.seq !== this.#nextSeq) {
      throw new RangeError(
        `trace events must be recorded in order: expected seq ${this.#nextSeq}, got ${event.seq}`,
      );
    }
    this.#nextSeq += 1;
    if (this.#length === this.#capacity) {
      this.#start = (this.#start + 1) % this.#capacity;
      this.#length -= 1;
      this.#dropped += 1;
      if (this.#unflushed > this.#length) this.#unflushed = this.#length;
    }
    this.#ring[(this.#start + this.#length) % this.#capacity] = event;
    this.#length += 1;
    this.#unflushed += 1;
    if (this.#onBatch && this.#unflushed >= this.#batchSize) this.flush();
  }

  /**
   * Appends an event recorded elsewhere (an isolation worker's recorder): its `seq` may skip ahead
   * when the other side dropped events; the skipped ones count as dropped here.
   */
  append(event: TraceEvent): void {
    if (event.seq > this.#nextSeq) {
      this.#dropped += event.seq - this.#nextSeq;
      this.#nextSeq = event.seq;
    }
    this.record(event);
  }

  /** Hands every not-yet-flushed event to `onBatch`. */
  flush(): void {
    if (!this.#onBatch || this.#unflushed === 0) return;
    const events = this.#slice(this.#length - this.#unflushed, this.#length);
    this.#unflushed = 0;
    this.#onBatch(events);
  }

  /** Events still held, oldest first. */
  events(): TraceEvent[] {
    return this.#slice(0, this.#length);
  }

  /** Events that fell out of the ring before anyone read them. */
  get dropped(): number {
    return this.#dropped;
  }

  get size(): number {
    return this.#length;
  }

  /** Calls per syscall and decision, in order of first appearance. */
  summary(): TraceSummaryRow[] {
    return summarizeTrace(this.events());
  }

  #slice(from: number, to: number): TraceEvent[] {
    const out: TraceEvent[] = [];
    for (let i = from; i < to; i += 1) out.push(this.#ring[(this.#start + i) % this.#capacity]!);
    return out;
  }
}

/** Calls per syscall and decision of a list of events, in order of first appearance. */
export function summarizeTrace(events: readonly TraceEvent[]): TraceSummaryRow[] {
  const rows = new Map<string, { calls: number; byAction: Partial<Record<DecisionAction, number>> }>();
  for (const event of events) {
    let row = rows.get(event.syscall);
    if (!row) {
      row = { calls: 0, byAction: {} };
      rows.set(event.syscall, row);
    }
    row.calls += 1;
    row.byAction[event.action] = (row.byAction[event.action] ?? 0) + 1;
  }
  return [...rows].map(([syscall, row]) => ({ syscall, ...row }));
}
