import type { Decision, SyscallArg } from '@forgeone/common';
import { TraceChunk, type LazyTraceArgs, type TraceTemplate } from './traceColumns';
import type { TraceEvent } from '../traceEvent';
import { traceCallCounts, type TraceSummaryRow } from '../traceSummary';
import { TraceStage, STAGE_ROW } from './traceStage';
import { TraceBatch } from '../traceBatch';

export interface TraceRecorderOptions {
  /**
   * Most events kept; older ones are dropped (and counted) unless drained first. Default 65,536. (Memory
   * is freed a chunk of up to 1,024 events at a time, so up to that many more may still be stored.)
   */
  readonly capacity?: number;
  /** Called with a full batch before events would be dropped, e.g. to flush them to the store. */
  readonly onBatch?: (events: readonly TraceEvent[]) => void;
  /**
   * Called with each batch unbuilt (a {@link TraceBatch} over the recorder's columns, built when
   * read): what a consumer that works later, off the guest's call path (a store flush), takes
   * instead of `onBatch`, so that handing a batch over costs the guest no object per call. The
   * consumer calls `release()` once done. Given with `onBatch`, both are called.
   */
  readonly onLazyBatch?: (batch: TraceBatch) => void;
  /** Events per batch handed to `onBatch` / `onLazyBatch`. Default 1,024. */
  readonly batchSize?: number;
}

/** Where events would go before the first chunk exists: full, so the first event makes one. */
const NO_CHUNK = new TraceChunk(1, 0);

/**
 * The machinery behind a TraceRecorder (internal to observer; calls come in through CallRecorder).
 * Records every guest call, keeping at most `capacity` events (the oldest are dropped, and counted,
 * unless drained first through `onBatch`, typically a store flush, so the guest's critical path
 * never waits on I/O). Events are stored column-wise in typed arrays ({@link TraceChunk}):
 * `recordCall` allocates nothing per call, and events become objects only when read.
 */
export class TraceRing {
  readonly #capacity: number;
  readonly #chunkSize: number;
  readonly #batchSize: number;
  readonly #onBatch: ((events: readonly TraceEvent[]) => void) | undefined;
  readonly #onLazyBatch: ((batch: TraceBatch) => void) | undefined;
  /** Either callback given: events are handed over in batches. */
  readonly #batched: boolean;
  /** What lazy batches read their events with (append-only, shared with them). */
  readonly #names: { readonly syscalls: readonly string[]; readonly templates: readonly TraceTemplate[] };
  // Chunks oldest first; the last is #current. Nothing is counted per call: how many events are held
  // (the newest `capacity`), dropped and unflushed is worked out from the chunks' counts when asked.
  // A chunk leaves the ring (and is kept for reuse) once all its events are older than the newest
  // `capacity`, so the ring stores up to one chunk more than it reports.
  readonly #chunks: TraceChunk[] = [];
  #spare: TraceChunk | undefined;
  #now = 0;
  #current: TraceChunk = NO_CHUNK;
  /** Events in the chunks before #current. */
  #storedBefore = 0;
  /** Events recorded into chunks before #current, over the recorder's life. */
  #recordedBefore = 0;
  /** Events recorded (over the recorder's life) that were handed to onBatch or dropped unflushed. */
  #flushed = 0;
  readonly #syscallNames: string[] = [];
  readonly #syscallIds = new Map<string, number>();
  readonly #templates: TraceTemplate[] = [];
  /** Calls staged by the syscall gate's hot path, handed over before anything else is recorded or read. */
  #stage: TraceStage | undefined;
  /** The area handed to the stage at its last bind (one object, reused). */
  readonly #area: { rows: Float64Array; at: number; end: number } = {
    rows: new Float64Array(0),
    at: 0,
    end: 0,
  };

  constructor(options: TraceRecorderOptions = {}) {
    const capacity = options.capacity ?? 65_536;
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.#capacity = capacity;
    // Chunks are allocated as events come: a run with a few calls does not pay for 64K slots.
    this.#chunkSize = Math.min(1024, capacity);
    this.#batchSize = Math.min(options.batchSize ?? 1024, capacity);
    this.#onBatch = options.onBatch;
    this.#onLazyBatch = options.onLazyBatch;
    this.#batched = this.#onBatch !== undefined || this.#onLazyBatch !== undefined;
    this.#names = { syscalls: this.#syscallNames, templates: this.#templates };
  }

  /** The sequence number the next event gets. */
  nextSeq(): number {
    this.#settle();
    return this.#current.firstSeq + this.#current.count;
  }

  /**
   * The ring's stage (one per ring, made on first use): where CallRecorder's hot entry point
   * records its calls (see {@link TraceStage}). Whatever it holds is recorded before any other
   * call is recorded, and before anything is read.
   */
  stage(): TraceStage {
    return (this.#stage ??= new TraceStage(this));
  }

  /** Room for the stage's rows in the chunk the next event goes into (one object, reused). */
  stageArea(): { readonly rows: Float64Array; readonly at: number; readonly end: number } {
    const chunk = this.#writeChunk();
    const area = this.#area;
    area.rows = chunk.rowArea();
    area.at = chunk.count * STAGE_ROW;
    area.end = chunk.capacity * STAGE_ROW;
    return area;
  }

  /** The `count` rows the stage wrote into the last area given are calls, in order, at the current time. */
  commitStagedRows(count: number): void {
    this.#current.commitRows(count, this.#now);
    if (this.#batched) this.#added();
  }

  /** A pending write of `len` bytes at `ptr` whose bytes are the first `len` of `bytes` (the stage's). */
  captureStagedWrite(ptr: number, bytes: Uint8Array, len: number): void {
    this.#writeChunk().captureWrite(ptr, len, bytes, 0);
  }

  /** Commits what the stage holds (and unbinds it) before the recorder touches its chunks. */
  #settle(): void {
    const stage = this.#stage;
    if (stage !== undefined && stage.bound) stage.flush();
  }

  /** The chunk the next event (and a write captured now) goes into. */
  #writeChunk(): TraceChunk {
    return this.#current.full ? this.#next(this.#current.firstSeq + this.#current.count) : this.#current;
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
    // One call site: V8 inlines each site whole, and this one sits on the syscall hot path.
    this.#settle();
    this.#writeChunk().captureWrite(ptr, len, memory);
  }

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
    this.#settle();
    let chunk = this.#current;
    if (chunk.full) chunk = this.#next(this.nextSeq());
    chunk.add(syscallId, decision, executed, args, lazyArgs, params, result, durationNs, this.#now, outcome);
    this.#stage?.recorded();
    if (this.#batched) this.#added();
  }

  /**
   * Registers what every call of one syscall recorded with `recordTemplated` shares (its decision,
   * and how to decode its arguments from its params); returns the number to record them by.
   */
  template(syscallId: number, decision: Decision, args: LazyTraceArgs, arity = 0): number {
    if (syscallId < 0 || syscallId >= this.#syscallNames.length)
      throw new RangeError(`unknown syscall id ${syscallId}`);
    if (!Number.isInteger(arity) || arity < 0 || arity > 4) throw new RangeError('arity must be 0 to 4');
    this.#templates.push(Object.freeze({ syscallId, decision, args, arity }));
    return this.#templates.length - 1;
  }

  /**
   * Records the next call of a `template`: allowed, executed, arguments decoded from `params` when
   * read, no outcome, not timed (`durationNs` -1). The gate's path for a call whose decision it
   * reused; a timed call goes through `recordCall`.
   */
  recordTemplated(template: number, params: readonly (number | bigint)[], result: number): void {
    this.#settle();
    let chunk = this.#current;
    if (chunk.full) chunk = this.#next(this.nextSeq());
    chunk.addTemplated(template, params, result, this.#now);
    this.#stage?.recorded();
    if (this.#batched) this.#added();
  }

  /**
   * Sets the wall-clock time (ms since the epoch) of the calls `recordCall` records from now on.
   * A separate call because the clock is read far less often than calls are made, and a time
   * passed with every call would be boxed on every call.
   */
  stamp(time: number): void {
    this.#settle();
    this.#now = time;
  }

  /** Appends an event; its `seq` must be the one `nextSeq()` gave. */
  record(event: TraceEvent): void {
    const seq = this.nextSeq();
    if (event.seq !== seq) {
      throw new RangeError(`trace events must be recorded in order: expected seq ${seq}, got ${event.seq}`);
    }
    let chunk = this.#current;
    if (chunk.full) chunk = this.#next(seq);
    chunk.addEvent(this.syscallId(event.syscall), event);
    this.#stage?.recorded();
    if (this.#batched) this.#added();
  }

  /**
   * Appends an event recorded elsewhere (an isolation worker's recorder): its `seq` may skip ahead
   * when the other side dropped events; the skipped ones count as dropped here.
   */
  append(event: TraceEvent): void {
    // Sequence numbers within a chunk are contiguous: a gap starts a new one.
    if (event.seq > this.nextSeq()) this.#next(event.seq);
    this.record(event);
  }

  /**
   * Counts every sequence number below `seq` not recorded yet as dropped: calls another recorder (an
   * isolation worker's) saw but whose events never arrived, so that the record says they are gone.
   */
  skipTo(seq: number): void {
    this.#settle();
    if (seq > this.nextSeq()) this.#next(seq);
  }

  /** Hands every not-yet-flushed event to `onBatch` (built) and `onLazyBatch` (unbuilt). */
  flush(): void {
    this.#settle();
    if (!this.#batched) return;
    const size = this.size;
    const recorded = this.#recordedBefore + this.#current.count;
    const oldest = recorded - size; // the oldest held event, counted over the recorder's life
    const from = Math.max(this.#flushed, oldest);
    this.#flushed = recorded;
    if (from >= recorded) return;
    if (this.#onLazyBatch !== undefined) this.#onLazyBatch(this.#lazySlice(from - oldest, size));
    if (this.#onBatch !== undefined) this.#onBatch(this.#slice(from - oldest, size));
  }

  /** Events still held, oldest first. */
  events(): TraceEvent[] {
    this.#settle();
    return this.#slice(0, this.size);
  }

  /** Events still held whose seq is above `seq`, oldest first. */
  eventsAfter(seq: number): TraceEvent[] {
    this.#settle();
    const out: TraceEvent[] = [];
    let skip = this.#stored() - this.size;
    for (const chunk of this.#chunks) {
      const from = Math.max(skip, seq + 1 - chunk.firstSeq, 0);
      for (let i = from; i < chunk.count; i += 1)
        out.push(chunk.event(i, this.#syscallNames, this.#templates));
      skip = Math.max(0, skip - chunk.count);
    }
    return out;
  }

  /** Events that fell out of the ring before anyone read them (and sequence numbers skipped by `append`). */
  get dropped(): number {
    this.#settle();
    return this.nextSeq() - 1 - this.size;
  }

  /** Events held: the newest `capacity` at most. */
  get size(): number {
    this.#settle();
    return Math.min(this.#capacity, this.#stored());
  }

  /** Calls per syscall and decision, in order of first appearance. */
  summary(): TraceSummaryRow[] {
    return traceCallCounts(this.events());
  }

  #stored(): number {
    return this.#storedBefore + this.#current.count;
  }

  /**
   * Starts the chunk the next event (seq `firstSeq`) goes into. Chunks all of whose events are older
   * than the newest `capacity` leave the ring; the last of them is reused rather than a new one
   * allocated.
   */
  #next(firstSeq: number): TraceChunk {
    const last = this.#current;
    this.#storedBefore += last.count;
    this.#recordedBefore += last.count;
    while (this.#chunks.length > 0 && this.#storedBefore - this.#chunks[0]!.count >= this.#capacity) {
      const head = this.#chunks.shift()!;
      this.#storedBefore -= head.count;
      this.#spare = head;
    }
    let chunk = this.#spare;
    // A chunk a lazy batch still reads is left to it (and the garbage collector), never reused.
    if (chunk === undefined || chunk.holds > 0) chunk = new TraceChunk(firstSeq, this.#nextChunkSize(last));
    else chunk.reset(firstSeq);
    this.#spare = undefined;
    this.#chunks.push(chunk);
    return (this.#current = chunk);
  }

  /** Chunks start small (a run with a few calls pays for a few slots) and double up to #chunkSize. */
  #nextChunkSize(last: TraceChunk): number {
    return Math.min(this.#chunkSize, last === NO_CHUNK ? 32 : Math.max(32, last.capacity * 2));
  }

  /** With `onBatch`: hands over a batch once `batchSize` events wait. */
  #added(): void {
    if (this.#recordedBefore + this.#current.count - this.#flushed >= this.#batchSize) this.flush();
  }

  /** Events `from` to `to` (0 = the oldest held), as a batch over their chunks (built when read). */
  #lazySlice(from: number, to: number): TraceBatch {
    const segments: { chunk: TraceChunk; from: number; to: number }[] = [];
    let c = 0;
    let offset = this.#stored() - this.size + from;
    while (c < this.#chunks.length && offset >= this.#chunks[c]!.count) {
      offset -= this.#chunks[c]!.count;
      c += 1;
    }
    let left = to - from;
    let firstSeq = 0;
    let lastSeq = 0;
    for (; left > 0 && c < this.#chunks.length; c += 1) {
      const chunk = this.#chunks[c]!;
      const take = Math.min(left, chunk.count - offset);
      if (segments.length === 0) firstSeq = chunk.firstSeq + offset;
      segments.push({ chunk, from: offset, to: offset + take });
      lastSeq = chunk.firstSeq + offset + take - 1;
      left -= take;
      offset = 0;
    }
    return TraceBatch.ofChunks(firstSeq, lastSeq, segments, this.#names);
  }

  /** Events `from` to `to` (0 = the oldest held), built now. */
  #slice(from: number, to: number): TraceEvent[] {
    const out: TraceEvent[] = [];
    let c = 0;
    let offset = this.#stored() - this.size + from;
    while (c < this.#chunks.length && offset >= this.#chunks[c]!.count) {
      offset -= this.#chunks[c]!.count;
      c += 1;
    }
    for (let n = from; n < to; n += 1) {
      const chunk = this.#chunks[c]!;
      out.push(chunk.event(offset, this.#syscallNames, this.#templates));
      offset += 1;
      if (offset === chunk.count) {
        c += 1;
        offset = 0;
      }
    }
    return out;
  }
}
