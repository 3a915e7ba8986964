import { ForgeError, storageLimits, type LogEntry, type StorageOps } from '@forgeone/common';
import type { PrivateKey } from '@forgeone/crypto';
import type { TraceEvent } from '../traceEvent';
import { chainLine } from '../traceFile/traceChain';
import type { TraceRecord } from '../traceFile/traceReader';
import type { TraceFileEnd, TraceFileHeader } from '../traceFile/traceFileSchema';
import { signTraceHead, TRACE_FORMAT_VERSION } from '../traceFile/traceWriter';
import type { SeqRange } from '../traceSummary';
import { parseTraceIndex, readTraceIndex, TRACE_INDEX_NAMESPACE, type TraceIndex } from './traceIndex';
import { corruptEntry, decodeTraceEntry, traceEntryMeta } from './traceLogEntry';
import { checkTraceQuery, entryMayMatch, eventMatches, traceCursor, type TraceQuery } from './traceQuery';
import { traceNotFound } from './traceSink';

/** One page of a query: its events in seq order, and the cursor of the next page (absent at the end). */
export interface TracePage {
  readonly events: readonly TraceEvent[];
  readonly next?: string;
}

/** Entries read per store call: an entry is at most 1 MiB. */
const ENTRIES_PER_READ = 8;

/** A stored trace's index with the gaps spelled out: what queries, exports and summaries report. */
export interface StoredTraceInfo extends TraceIndex {
  /** Events the run made (the highest acknowledged seq) that the store does not hold, however they went. */
  readonly missing: number;
}

/**
 * Reads the durable traces a {@link TraceSink} wrote: the containers kept, one container's index,
 * queries by syscall, decision, seq and time range in pages (or streamed), and the whole trace as
 * trace-file records (for `summarizeTrace`) or lines of a format-2 file (hash-chained, optionally
 * signed), so that `trace verify`, `diff`, `summarize` and `replay` work on it. Everything read back
 * is checked: a damaged or hostile store gives FORGE_TRACE_STORE_CORRUPT, never a crash.
 */
export class TraceStore {
  readonly #store: StorageOps;

  constructor(store: StorageOps) {
    this.#store = store;
  }

  /** The containers whose traces are kept, in id order (paged: `after` is the last id of the page before). */
  async list(options: { after?: string; limit?: number } = {}): Promise<StoredTraceInfo[]> {
    const records = await this.#store.listRecords(TRACE_INDEX_NAMESPACE, {
      ...(options.after === undefined ? {} : { after: options.after }),
      limit: options.limit ?? storageLimits.defaultPage,
    });
    return records.map((record) => withMissing(parseTraceIndex(record.key, record.value)));
  }

  /** One container's index (FORGE_TRACE_STORE_NOT_FOUND when none is kept). */
  async info(containerId: string): Promise<StoredTraceInfo> {
    if (typeof containerId !== 'string' || containerId.length === 0 || containerId.length > 120)
      throw traceNotFound(String(containerId));
    const index = await readTraceIndex(this.#store, containerId);
    if (index === undefined) throw traceNotFound(containerId);
    return withMissing(index);
  }

  /** One page of a query; give its `next` as the next query's `cursor`. */
  async page(query: TraceQuery): Promise<TracePage> {
    const checked = checkTraceQuery(query);
    const index = await this.info(checked.containerId);
    const events: TraceEvent[] = [];
    let fromLog = checked.resume?.logSeq ?? (await this.#entryAt(index.log, checked.fromSeq));
    const minSeq = checked.resume?.seq ?? 0;
    let previous = 0;
    for (;;) {
      const entries = await this.#store.readLog(index.log, { fromSeq: fromLog, limit: ENTRIES_PER_READ });
      for (const entry of entries) {
        const meta = traceEntryMeta(entry.data, index.log, entry.seq);
        if (meta.first <= previous)
          throw corruptEntry(index.log, entry.seq, 'its events do not come after the entry before');
        previous = meta.last;
        // Counted as trimmed already (a crash between the index and the trim): not kept.
        if (meta.last <= trimmedThrough(index)) continue;
        if (meta.first > checked.toSeq) return { events };
        if (!entryMayMatch(checked, meta)) continue;
        const decoded = decodeTraceEntry(entry.data, index.log, entry.seq).events;
        for (const event of decoded) {
          if (event.seq < minSeq || !eventMatches(checked, event)) continue;
          if (events.length === checked.limit) return { events, next: traceCursor(entry.seq, event.seq) };
          events.push(event);
        }
      }
      if (entries.length < ENTRIES_PER_READ) return { events };
      fromLog = entries[entries.length - 1]!.seq + 1;
    }
  }

  /** Every event of a query, page after page. */
  async *query(query: TraceQuery): AsyncGenerator<TraceEvent> {
    let cursor = query.cursor;
    for (;;) {
      const page = await this.page({ ...query, ...(cursor === undefined ? {} : { cursor }) });
      yield* page.events;
      if (page.next === undefined) return;
      cursor = page.next;
    }
  }

  /**
   * The whole stored trace as trace-file records: the header, every kept call in order, and the end
   * record when the run's end was stored (its `dropped` and `droppedSeqs` count every seq not kept:
   * trimmed, lost or never handed over). A trace whose run never ended (a crash) has no end record.
   */
  async *records(containerId: string): AsyncGenerator<TraceRecord> {
    const index = await this.info(containerId);
    yield {
      kind: 'header',
      // Read back as JSON and checked: an optional field is there with a value, or absent.
      header: { format: 'forgeone-trace', version: TRACE_FORMAT_VERSION, ...index.header } as TraceFileHeader,
    };
    const gaps: SeqRange[] = [];
    let next = 1;
    for await (const entry of this.#entries(index.log)) {
      if (traceEntryMeta(entry.data, index.log, entry.seq).last <= trimmedThrough(index)) continue;
      for (const event of decodeTraceEntry(entry.data, index.log, entry.seq).events) {
        if (event.seq < next)
          throw corruptEntry(index.log, entry.seq, 'its events do not come after the entry before');
        if (event.seq > next) gaps.push([next, event.seq - 1]);
        next = event.seq + 1;
        yield { kind: 'call', event };
      }
    }
    if (index.end === null) return;
    const lastSeq = Math.max(index.acknowledgedSeq, next - 1);
    if (lastSeq >= next) gaps.push([next, lastSeq]);
    const dropped = gaps.reduce((sum, [from, to]) => sum + to - from + 1, 0);
    const end: TraceFileEnd = {
      status: index.end.status,
      exitCode: index.end.exitCode,
      ...(index.end.code === undefined ? {} : { code: index.end.code }),
      dropped,
      ...(dropped > 0 ? { droppedSeqs: gaps } : {}),
    };
    yield { kind: 'end', end };
  }

  /**
   * The stored trace as the lines of a trace file (format 2: every record hash-chained; signed by
   * `sign` when given, which needs the end record: FORGE_TRACE_INCOMPLETE otherwise). Streamed.
   */
  async *exportLines(containerId: string, options: { sign?: PrivateKey } = {}): AsyncGenerator<string> {
    let head = '';
    let ended = false;
    const toJson = (_key: string, value: unknown): unknown =>
      typeof value === 'bigint' ? value.toString() : value;
    for await (const record of this.records(containerId)) {
      const body =
        record.kind === 'header'
          ? { kind: 'header', ...record.header }
          : record.kind === 'call'
            ? { kind: 'call', ...record.event }
            : record.kind === 'end'
              ? { kind: 'end', ...record.end }
              : undefined;
      if (body === undefined) continue;
      if (record.kind === 'end') ended = true;
      const { line, hash } = chainLine(head, JSON.stringify(body, toJson));
      head = hash;
      yield line;
    }
    if (options.sign !== undefined) {
      if (!ended)
        throw new ForgeError(
          'FORGE_TRACE_INCOMPLETE',
          `the stored trace of ${containerId} has no end (its run did not finish writing it): it can be exported, not signed`,
        );
      yield JSON.stringify({ kind: 'signature', ...signTraceHead(head, options.sign) });
    }
  }

  /** The log entries in order, read a few at a time. */
  async *#entries(log: string): AsyncGenerator<LogEntry> {
    let fromSeq = 1;
    for (;;) {
      const entries = await this.#store.readLog(log, { fromSeq, limit: ENTRIES_PER_READ });
      yield* entries;
      if (entries.length < ENTRIES_PER_READ) return;
      fromSeq = entries[entries.length - 1]!.seq + 1;
    }
  }

  /** The first log entry that may hold `seq` (binary search over the kept entries). */
  async #entryAt(log: string, seq: number): Promise<number> {
    const first = (await this.#store.readLog(log, { limit: 1 }))[0];
    if (first === undefined || seq <= 1) return first?.seq ?? 1;
    let lo = first.seq;
    let hi = await this.#store.logHead(log);
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const entry = (await this.#store.readLog(log, { fromSeq: mid, limit: 1 }))[0];
      if (entry === undefined) return lo;
      if (traceEntryMeta(entry.data, log, entry.seq).last < seq) lo = entry.seq + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The highest seq the index counts as trimmed (0 when none). */
function trimmedThrough(index: TraceIndex): number {
  return index.trimmed?.toSeq ?? 0;
}

function withMissing(index: TraceIndex): StoredTraceInfo {
  const missing = Math.max(0, index.acknowledgedSeq - index.stored.events);
  return { ...index, missing };
}
