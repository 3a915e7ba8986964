import {
  ForgeError,
  storageLimits,
  systemClock,
  toForgeError,
  type Clock,
  type JsonValue,
  type StoragePort,
} from '@forgeone/common';
import type { TraceEvent } from '../traceEvent';
import { TraceBatch } from '../traceBatch';
import type { TraceFileEnd } from '../traceFile/traceFileSchema';
import {
  TraceIndexSchema,
  addLostRange,
  readTraceIndex,
  traceIndexJson,
  traceLogName,
  TRACE_INDEX_NAMESPACE,
  type StoredTraceHeader,
  type TraceIndex,
} from './traceIndex';
import { encodeTraceEntry, traceEntryMeta } from './traceLogEntry';
import {
  checkMaxPending,
  checkTraceRetention,
  traceStoreLimits,
  type TraceRetention,
} from './traceRetention';

export interface TraceSinkOptions {
  /** The run's header (its container id names the log, `trace/<containerId>`). */
  readonly header: StoredTraceHeader;
  readonly retention?: TraceRetention;
  /**
   * Most events waiting for the store (default 262,144). When the store cannot keep up (or a guest
   * runs on the thread that would write, so no write can start until it yields), newer events past
   * this bound are not kept: they are counted, with their seq ranges, in the index's `lost` fact.
   * The guest never waits for the store.
   */
  readonly maxPending?: number;
  /** Times of the index record. Default: the system clock. */
  readonly clock?: Clock;
}

/** How the run ended, as the trace file's end record says it (dropped counts are worked out from the log). */
export type TraceSinkEnd = Pick<TraceFileEnd, 'status' | 'exitCode' | 'code'>;

/** One entry the log holds: what retention needs to trim it. */
interface HeldEntry {
  readonly logSeq: number;
  readonly first: number;
  readonly last: number;
  readonly count: number;
  readonly bytes: number;
}

/** A log entry ready to append. */
interface EncodedEntry {
  readonly data: JsonValue;
  readonly bytes: number;
  readonly first: number;
  readonly last: number;
  readonly count: number;
}

/** A lazy batch's events queued (seq `from`..`to`), built and encoded when written. */
interface LazyRange {
  readonly batch: TraceBatch;
  readonly from: number;
  readonly to: number;
}

/** Entries appended in one write, at most. */
const ENTRIES_PER_WRITE = 64;

/**
 * A container's durable trace: takes the recorder's event batches (`add`, synchronous, never waits),
 * queues them, and writes them to the store's log `trace/<containerId>` in the background, one
 * transaction per write holding the entries, the retention trim and the index record
 * (`traces/<containerId>`) together. `acknowledgedSeq` is the highest seq such that every event up
 * to it is durably in the store (or trimmed by retention, or counted as lost: never silently gone).
 */
export class TraceSink {
  readonly #store: StoragePort;
  readonly #log: string;
  readonly #clock: Clock;
  readonly #maxPending: number;
  readonly #entryEvents: number;
  readonly #entryBytes: number;
  #index: TraceIndex;
  #held: HeldEntry[];
  /**
   * Queued, oldest first: full batches already encoded as entries (compact: a string of columns, not
   * thousands of objects kept alive until the write), then the events of the batch being filled,
   * then lazy batches (the recorder's columns, compact too), built and encoded only when written.
   */
  #queued: EncodedEntry[] = [];
  #partial: TraceEvent[] = [];
  #lazy: LazyRange[] = [];
  /** Events queued (in entries and the partial batch). */
  #queuedEvents = 0;
  /** The highest seq taken (queued or counted as lost): a batch seen twice is taken once. */
  #through: number;
  /** Lost ranges not yet written to the index. */
  #lostSince = false;
  #writing: Promise<void> | undefined;
  #scheduled = false;
  #closed: Promise<number> | undefined;
  /** Set once close() took the run's last events: nothing more is taken. */
  #ended = false;
  #failure: ForgeError | undefined;

  private constructor(store: StoragePort, index: TraceIndex, held: HeldEntry[], options: TraceSinkOptions) {
    this.#store = store;
    this.#log = index.log;
    this.#clock = options.clock ?? systemClock;
    this.#maxPending = checkMaxPending(options.maxPending);
    this.#index = index;
    this.#held = held;
    this.#through = index.acknowledgedSeq;
    this.#entryEvents = Math.min(traceStoreLimits.entryEvents, index.retention.maxEvents);
    // A little under the store's limit: the size is worked out, not measured by the store itself.
    this.#entryBytes = Math.min(storageLimits.maxValueBytes - 4096, index.retention.maxBytes);
  }

  /**
   * Opens the durable trace of `header.containerId` in `store`: creates its index record, or goes on
   * after what an earlier sink of the same container acknowledged. One sink per container at a time.
   */
  static async open(store: StoragePort, options: TraceSinkOptions): Promise<TraceSink> {
    const retention = checkTraceRetention(options.retention);
    checkMaxPending(options.maxPending);
    const { containerId } = options.header;
    const log = traceLogName(containerId);
    const now = (options.clock ?? systemClock).now();
    const existing = await readTraceIndex(store, containerId);
    if (existing !== undefined) {
      const held = await heldEntries(store, log);
      return new TraceSink(store, { ...existing, retention, end: null }, held, options);
    }
    const index: TraceIndex = {
      v: 1,
      containerId,
      log,
      header: checkHeader(options.header),
      createdAt: now,
      updatedAt: now,
      retention,
      acknowledgedSeq: 0,
      stored: { events: 0, bytes: 0, entries: 0 },
      trimmed: null,
      lost: null,
      end: null,
    };
    await store.putRecord(TRACE_INDEX_NAMESPACE, containerId, traceIndexJson(index));
    return new TraceSink(store, index, [], options);
  }

  /** The highest seq up to which every event is durably accounted for in the store. */
  get acknowledgedSeq(): number {
    return this.#index.acknowledgedSeq;
  }

  /** Events queued, not yet written. */
  get pending(): number {
    return this.#queuedEvents;
  }

  /** Events counted as lost (queue full, an event over the entry limit, or a failed write). */
  get lost(): number {
    return this.#index.lost?.events ?? 0;
  }

  /** The last write's failure, when one failed (its events are counted as lost). */
  get failure(): ForgeError | undefined {
    return this.#failure;
  }

  /** The index as the sink last wrote it. */
  get index(): TraceIndex {
    return this.#index;
  }

  /**
   * Queues events (ascending seq; ones already taken are skipped; a seq skipped over after the
   * first one taken is counted as lost: a trace may start past 1, a container restored from a
   * snapshot goes on from its seq) and schedules a write. Never waits and never throws for the
   * store: past `maxPending` the newer events are counted as lost. A {@link TraceBatch} over a
   * recorder's columns is only noted here: its events are built and encoded when written, off the
   * guest's call path; the sink releases it then.
   */
  add(events: readonly TraceEvent[] | TraceBatch): void {
    if (events instanceof TraceBatch && !events.built) {
      this.#addLazy(events);
      return;
    }
    const list = events instanceof TraceBatch ? events.events() : events;
    if (this.#ended) return;
    // Lazy batches queued come first: they are built now, so that order holds (only when this
    // brings anything new: a run's closing trace is usually all taken already).
    if (this.#lazy.length > 0 && (list.at(-1)?.seq ?? 0) > this.#through) this.#buildLazy(Infinity);
    for (const event of list) {
      if (event.seq <= this.#through) continue;
      if (this.#through > 0 && event.seq > this.#through + 1)
        this.#loseRange(this.#through + 1, event.seq - 1);
      this.#through = event.seq;
      if (this.#queuedEvents < this.#maxPending) {
        this.#partial.push(event);
        this.#queuedEvents += 1;
        if (this.#partial.length >= this.#entryEvents) this.#seal();
      } else this.#loseRange(event.seq, event.seq);
    }
    this.#schedule();
  }

  /** Notes a lazy batch's events not taken yet (as many as the queue has room for). */
  #addLazy(batch: TraceBatch): void {
    const from = Math.max(batch.firstSeq, this.#through + 1);
    const last = batch.lastSeq;
    if (this.#ended || last < from) {
      batch.release();
      return;
    }
    if (this.#through > 0 && batch.firstSeq > this.#through + 1)
      this.#loseRange(this.#through + 1, batch.firstSeq - 1);
    this.#through = last;
    // A batch's seqs are contiguous (a ring's batch never spans a gap): its size is its range.
    const room = Math.max(0, this.#maxPending - this.#queuedEvents);
    const to = Math.min(last, from + room - 1);
    if (to < last) this.#loseRange(to + 1, last);
    if (to < from) {
      batch.release();
      this.#schedule();
      return;
    }
    // Events of the batch being filled go before: they are older.
    this.#seal();
    this.#lazy.push({ batch, from, to });
    this.#queuedEvents += to - from + 1;
    this.#schedule();
  }

  /**
   * Builds and encodes queued lazy batches into entries, oldest first, until `entries` entries are
   * queued (or none is left); each batch is released once encoded.
   */
  #buildLazy(entries: number): void {
    while (this.#lazy.length > 0 && this.#queued.length < entries) {
      const range = this.#lazy[0]!;
      const step = Math.min(range.to, range.from + this.#entryEvents - 1);
      const events = range.batch.events(range.from, step);
      if (step >= range.to) {
        this.#lazy.shift();
        range.batch.release();
      } else this.#lazy[0] = { ...range, from: step + 1 };
      this.#queuedEvents -= step - range.from + 1 - events.length;
      for (const event of events) this.#partial.push(event);
      this.#seal();
    }
  }

  /** Writes everything queued; resolves with `acknowledgedSeq` (rejects when a write failed). */
  async flush(): Promise<number> {
    while (this.#queuedEvents > 0 || this.#lostSince || this.#writing !== undefined) {
      if (this.#writing !== undefined) await this.#writing;
      else await this.#startWrite();
    }
    if (this.#failure !== undefined) throw this.#failure;
    return this.#index.acknowledgedSeq;
  }

  /**
   * Takes the run's last events (`trace`: what the report holds; ones already taken are skipped),
   * records how it ended, writes the rest and resolves with `acknowledgedSeq`. Idempotent.
   */
  close(end?: TraceSinkEnd, trace: readonly TraceEvent[] = []): Promise<number> {
    if (this.#closed !== undefined) return this.#closed;
    this.add(trace);
    this.#ended = true;
    if (end !== undefined) {
      this.#index = {
        ...this.#index,
        end: {
          status: end.status,
          exitCode: end.exitCode,
          ...(end.code === undefined ? {} : { code: end.code }),
        },
      };
    }
    this.#lostSince = true; // the end goes into the index even when no event is left
    this.#closed = this.flush();
    return this.#closed;
  }

  #loseRange(from: number, to: number): void {
    this.#index = { ...this.#index, lost: addLostRange(this.#index.lost, from, to) };
    this.#lostSince = true;
  }

  /** A write once the current turn ends (coalesced: one at a time, taking everything queued). */
  #schedule(): void {
    if (this.#scheduled || this.#writing !== undefined) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#writing === undefined && (this.#queuedEvents > 0 || this.#lostSince))
        void this.#startWrite().catch(() => undefined);
    });
  }

  #startWrite(): Promise<void> {
    const write = this.#write().finally(() => {
      this.#writing = undefined;
      if (this.#queuedEvents > 0) this.#schedule();
    });
    this.#writing = write;
    return write;
  }

  /**
   * One write: up to ENTRIES_PER_WRITE entries appended (one atomic append), then the index (its
   * acknowledged seq, counts and the retention's trimmed fact), then the trim itself. No
   * transaction spans them, so a kv commit of another call never finds the store held by a trace;
   * in this order a crash between two steps never hides anything: entries past the index's
   * acknowledged seq are extra, and entries the index already counts as trimmed are skipped by
   * readers until the next trim removes them.
   */
  async #write(): Promise<void> {
    this.#buildLazy(ENTRIES_PER_WRITE);
    if (this.#queued.length === 0) this.#seal();
    const entries = this.#queued.splice(0, ENTRIES_PER_WRITE);
    for (const entry of entries) this.#queuedEvents -= entry.count;
    this.#lostSince = false;
    const through = entries.length > 0 ? entries[entries.length - 1]!.last : this.#index.acknowledgedSeq;
    const before = this.#index;
    let { events, bytes, entries: count } = before.stored;
    try {
      if (entries.length > 0) {
        const { firstSeq } = await this.#store.append(
          this.#log,
          entries.map((e) => e.data),
        );
        entries.forEach((e, i) => {
          this.#held.push({
            logSeq: firstSeq + i,
            first: e.first,
            last: e.last,
            count: e.count,
            bytes: e.bytes,
          });
          events += e.count;
          bytes += e.bytes;
          count += 1;
        });
      }
    } catch (error) {
      this.#failure = toForgeError(error);
      // Nothing of this write is in the store: its events are counted as lost, never silently gone.
      for (const entry of entries) this.#loseRange(entry.first, entry.last);
      this.#lostSince = false;
      return;
    }
    let trimmed = before.trimmed;
    let drop = 0;
    const { maxEvents, maxBytes } = before.retention;
    while (drop < this.#held.length && (events > maxEvents || bytes > maxBytes)) {
      const oldest = this.#held[drop]!;
      trimmed = {
        fromSeq: trimmed?.fromSeq ?? oldest.first,
        toSeq: oldest.last,
        events: (trimmed?.events ?? 0) + oldest.count,
        bytes: (trimmed?.bytes ?? 0) + oldest.bytes,
      };
      events -= oldest.count;
      bytes -= oldest.bytes;
      count -= 1;
      drop += 1;
    }
    // Every seq below the first still queued is written, trimmed, lost or was never handed over.
    const queued = this.#queued[0]?.first ?? this.#partial[0]?.seq ?? this.#lazy[0]?.from;
    const covered = queued === undefined ? Math.max(through, this.#lostThrough()) : queued - 1;
    const next: TraceIndex = {
      ...this.#index,
      updatedAt: this.#clock.now(),
      acknowledgedSeq: Math.max(before.acknowledgedSeq, covered),
      stored: { events, bytes, entries: count },
      trimmed,
    };
    try {
      await this.#store.putRecord(TRACE_INDEX_NAMESPACE, before.containerId, traceIndexJson(next));
      // Lost ranges and the end noted meanwhile stay: the next write takes them.
      this.#index = { ...next, lost: this.#index.lost, end: this.#index.end };
      const dropped = this.#held.splice(0, drop);
      if (dropped.length > 0) await this.#store.trimLog(this.#log, dropped[dropped.length - 1]!.logSeq + 1);
    } catch (error) {
      this.#failure = toForgeError(error);
    }
  }

  /** The highest seq counted as lost. */
  #lostThrough(): number {
    const ranges = this.#index.lost?.ranges;
    return ranges === undefined || ranges.length === 0 ? 0 : ranges[ranges.length - 1]![1];
  }

  /** Encodes the batch being filled into queued entries. */
  #seal(): void {
    const events = this.#partial;
    if (events.length === 0) return;
    this.#partial = [];
    const before = this.#queued.length;
    this.#encode(events, this.#queued);
    let kept = 0;
    for (let i = before; i < this.#queued.length; i += 1) kept += this.#queued[i]!.count;
    // What did not fit an entry was counted as lost by #encode.
    this.#queuedEvents -= events.length - kept;
  }

  /** Encodes `events` as entries under the byte limit (halving a batch that is over it). */
  #encode(events: readonly TraceEvent[], out: EncodedEntry[]): void {
    if (events.length === 0) return;
    const { data, bytes } = encodeTraceEntry(events);
    const first = events[0]!.seq;
    const last = events[events.length - 1]!.seq;
    if (bytes <= this.#entryBytes) {
      out.push({ data, bytes, first, last, count: events.length });
      return;
    }
    if (events.length === 1) {
      // One call over the entry limit (huge memory writes): counted as lost, with its seq.
      this.#loseRange(first, last);
      return;
    }
    const half = Math.ceil(events.length / 2);
    this.#encode(events.slice(0, half), out);
    this.#encode(events.slice(half), out);
  }
}

/** The entries a log holds (for a sink going on after an earlier one): metadata only. */
async function heldEntries(store: StoragePort, log: string): Promise<HeldEntry[]> {
  const held: HeldEntry[] = [];
  let fromSeq = 1;
  for (;;) {
    const page = await store.readLog(log, { fromSeq, limit: 256 });
    for (const entry of page) {
      const meta = traceEntryMeta(entry.data, log, entry.seq);
      held.push({
        logSeq: entry.seq,
        first: meta.first,
        last: meta.last,
        count: meta.count,
        bytes: Buffer.byteLength(JSON.stringify(entry.data), 'utf8'),
      });
    }
    if (page.length < 256) return held;
    fromSeq = page[page.length - 1]!.seq + 1;
  }
}

/** The run's header as the index keeps it, checked as a trace file's header is. */
function checkHeader(header: StoredTraceHeader): TraceIndex['header'] {
  const result = TraceIndexSchema.shape.header.safeParse(header);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ForgeError(
    'FORGE_TRACE_STORE_INVALID',
    `a durable trace's header is malformed (${issue?.path.map(String).join('.') || 'header'}: ${issue?.message ?? 'invalid'})`,
  );
}

/** FORGE_TRACE_STORE_NOT_FOUND for a container the store keeps no trace of. */
export function traceNotFound(containerId: string): ForgeError {
  return new ForgeError(
    'FORGE_TRACE_STORE_NOT_FOUND',
    `the store keeps no trace of container ${JSON.stringify(containerId).slice(0, 130)}; list the kept ones with \`forgeone trace list\``,
    { details: { containerId: containerId.slice(0, 120) } },
  );
}
