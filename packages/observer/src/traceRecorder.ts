import type { Decision, DecisionAction, SyscallArg } from '@forgeone/common';
import { TraceChunk, type LazyTraceArgs } from './traceColumns';
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
 * Records every guest call, keeping at most `capacity` events (the oldest are dropped, and counted,
 * unless drained first through `onBatch`, typically a store flush, so the guest's critical path
 * never waits on I/O). Events are stored column-wise in typed arrays ({@link TraceChunk}): the gate's
 * `recordCall` allocates nothing per call, and events become objects only when read.
 */
export class TraceRecorder {
  readonly #capacity: number;
  readonly #chunkSize: number;
  readonly #batchSize: number;
  readonly #onBatch: ((events: readonly TraceEvent[]) => void) | undefined;
  // Chunks oldest first; all but the last are full. `#skip` events of the first were dropped.
  readonly #chunks: TraceChunk[] = [];
  #skip = 0;
  #spare: TraceChunk | undefined;
  #now = 0;
  // The chunk events go into: the last of #chunks.
  #current: TraceChunk | undefined;
  #length = 0;
  #unflushed = 0; // events at the tail not yet handed to onBatch
  #dropped = 0;
  #nextSeq = 1;
  readonly #syscallNames: string[] = [];
  readonly #syscallIds = new Map<string, number>();

  constructor(options: TraceRecorderOptions = {}) {
    const capacity = options.capacity ?? 65_536;
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.#capacity = capacity;
    // Chunks are allocated as events come: a run with a few calls does not pay for 64K slots.
    this.#chunkSize = Math.min(1024, capacity);
    this.#batchSize = Math.min(options.batchSize ?? 1024, capacity);
    this.#onBatch = options.onBatch;
  }

  /** The sequence number the next event gets. */
  nextSeq(): number {
    return this.#nextSeq;
  }

  /** A small integer standing for a syscall name in `recordCall` (the same name, the same id). */
  syscallId(syscall: string): number {
    let id = this.#syscallIds.get(syscall);
    if (id === undefined) {
      id = this.#syscallNames.length;
      this.#syscallNames.push(syscall);
      this.#syscallIds.set(syscall, id);
    }
    return id;
  }

  /**
   * Copies bytes the host wrote into guest memory (`len` at `ptr` of the whole `memory`): they are
   * the writes of the next call recorded with `recordCall`.
   */
  captureWrite(ptr: number, len: number, memory: Uint8Array): void {
    const chunk = this.#current;
    if (chunk !== undefined && !chunk.full) chunk.captureWrite(ptr, len, memory);
    else this.#tail().captureWrite(ptr, len, memory);
  }

  /** `captureWrite` as a function, for a GuestMemory's `onWrite`. */
  readonly writeListener = (ptr: number, len: number, memory: Uint8Array): void =>
    this.captureWrite(ptr, len, memory);

  /**
   * Records the next call (seq `nextSeq()`, at the time last given to `stamp`) without building its
   * event: the gate's hot path.
   * `decision` is kept by reference (the enforcer's, often shared); `args` is either the decoded
   * arguments or, when `lazyArgs`, an object that decodes them from `params` when the trace is read.
   */
  recordCall(
    syscallId: number,
    decision: Decision,
    executed: boolean,
    args: Readonly<Record<string, SyscallArg>> | LazyTraceArgs,
    lazyArgs: boolean,
    params: readonly (number | bigint)[],
    result: number | bigint | undefined,
    durationNs: number,
    outcome?: TraceEvent['outcome'],
  ): void {
    let chunk = this.#current;
    if (chunk === undefined || chunk.full) chunk = this.#tail();
    chunk.add(syscallId, decision, executed, args, lazyArgs, params, result, durationNs, this.#now, outcome);
    this.#added();
  }

  /**
   * Sets the wall-clock time (ms since the epoch) of the calls `recordCall` records from now on.
   * A separate call because the clock is read far less often than calls are made, and a time
   * passed with every call would be boxed on every call.
   */
  stamp(time: number): void {
    this.#now = time;
  }

  /** Appends an event; its `seq` must be the one `nextSeq()` gave. */
  record(event: TraceEvent): void {
    if (event.seq !== this.#nextSeq) {
      throw new RangeError(
        `trace events must be recorded in order: expected seq ${this.#nextSeq}, got ${event.seq}`,
      );
    }
    this.#tail().addEvent(this.syscallId(event.syscall), event);
    this.#added();
  }

  /**
   * Appends an event recorded elsewhere (an isolation worker's recorder): its `seq` may skip ahead
   * when the other side dropped events; the skipped ones count as dropped here.
   */
  append(event: TraceEvent): void {
    if (event.seq > this.#nextSeq) {
      this.#dropped += event.seq - this.#nextSeq;
      this.#nextSeq = event.seq;
      // Sequence numbers within a chunk are contiguous: start a new one after a gap.
      const last = this.#chunks[this.#chunks.length - 1];
      if (last !== undefined && last.count > 0 && last.firstSeq + last.count !== this.#nextSeq) {
        this.#chunks.push((this.#current = new TraceChunk(this.#nextSeq, this.#nextChunkSize(last))));
      }
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

  /** Events still held whose seq is above `seq`, oldest first. */
  eventsAfter(seq: number): TraceEvent[] {
    const out: TraceEvent[] = [];
    this.#chunks.forEach((chunk, c) => {
      const from = Math.max(c === 0 ? this.#skip : 0, seq + 1 - chunk.firstSeq);
      for (let i = from; i < chunk.count; i += 1) out.push(chunk.event(i, this.#syscallNames));
    });
    return out;
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

  /** The chunk the next event goes into (a new one when the last is full). */
  #tail(): TraceChunk {
    const last = this.#chunks[this.#chunks.length - 1];
    if (last !== undefined && !last.full) return (this.#current = last);
    // A full ring recycles the chunk it dropped last rather than allocating a new one.
    let chunk = this.#spare;
    if (chunk === undefined) chunk = new TraceChunk(this.#nextSeq, this.#nextChunkSize(last));
    else {
      this.#spare = undefined;
      chunk.reset(this.#nextSeq);
    }
    this.#chunks.push(chunk);
    return (this.#current = chunk);
  }

  /** Chunks start small (a run with a few calls pays for a few slots) and double up to #chunkSize. */
  #nextChunkSize(last: TraceChunk | undefined): number {
    return Math.min(this.#chunkSize, last === undefined ? 32 : last.capacity * 2);
  }

  #added(): void {
    this.#nextSeq += 1;
    this.#length += 1;
    this.#unflushed += 1;
    if (this.#length > this.#capacity) {
      this.#length -= 1;
      this.#dropped += 1;
      if (this.#unflushed > this.#length) this.#unflushed = this.#length;
      this.#skip += 1;
      if (this.#skip === this.#chunks[0]!.count && this.#chunks.length > 1) {
        this.#spare = this.#chunks.shift();
        this.#skip = 0;
      }
    }
    if (this.#onBatch && this.#unflushed >= this.#batchSize) this.flush();
  }

  /** Events `from` to `to` (0 = the oldest held), built now. */
  #slice(from: number, to: number): TraceEvent[] {
    const out: TraceEvent[] = [];
    let c = 0;
    let offset = this.#skip + from;
    while (c < this.#chunks.length && offset >= this.#chunks[c]!.count) {
      offset -= this.#chunks[c]!.count;
      c += 1;
    }
    for (let n = from; n < to; n += 1) {
      const chunk = this.#chunks[c]!;
      out.push(chunk.event(offset, this.#syscallNames));
      offset += 1;
      if (offset === chunk.count) {
        c += 1;
        offset = 0;
      }
    }
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
