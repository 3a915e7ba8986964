import type { TraceEvent } from './traceEvent';
import type { TraceChunk, TraceTemplate } from './internal/traceColumns';

/** Consecutive events of one chunk: indices `from` (inclusive) to `to` (exclusive). */
interface BatchSegment {
  readonly chunk: TraceChunk;
  readonly from: number;
  readonly to: number;
}

/** What a batch over a recorder's columns reads its events with (the recorder's, append-only). */
interface BatchNames {
  readonly syscalls: readonly string[];
  readonly templates: readonly TraceTemplate[];
}

const NO_SEGMENTS: readonly BatchSegment[] = [];

/**
 * Consecutive trace events handed over by a recorder without being built: the recorder's columns,
 * kept for the batch (the recorder does not reuse them until `release`), turned into events only
 * when `events` is asked. A store flush takes batches on the guest's call path and builds and
 * encodes them later, off it: handing one over costs the guest a few object fields, not an object
 * per call.
 */
export class TraceBatch {
  /** The first and last seq of the batch (`lastSeq` < `firstSeq` when it is empty). */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly #segments: readonly BatchSegment[];
  readonly #names: BatchNames | undefined;
  #built: readonly TraceEvent[] | undefined;
  #released = false;

  private constructor(
    firstSeq: number,
    lastSeq: number,
    segments: readonly BatchSegment[],
    names: BatchNames | undefined,
    built: readonly TraceEvent[] | undefined,
  ) {
    this.firstSeq = firstSeq;
    this.lastSeq = lastSeq;
    this.#segments = segments;
    this.#names = names;
    this.#built = built;
  }

  /** A batch of events already built (ascending seq, contiguous or not). */
  static of(events: readonly TraceEvent[]): TraceBatch {
    const first = events[0]?.seq ?? 1;
    const last = events.at(-1)?.seq ?? 0;
    return new TraceBatch(first, last, NO_SEGMENTS, undefined, events);
  }

  /** Events in the batch. */
  get size(): number {
    if (this.#built !== undefined) return this.#built.length;
    let size = 0;
    for (const segment of this.#segments) size += segment.to - segment.from;
    return size;
  }

  /** True when the events exist as objects already (from `of`): keeping the batch keeps them alive. */
  get built(): boolean {
    return this.#built !== undefined;
  }

  /**
   * The events whose seq is in `fromSeq`..`toSeq` (default: all), built now, oldest first.
   * A batch that was released has none.
   */
  events(fromSeq = this.firstSeq, toSeq = this.lastSeq): TraceEvent[] {
    if (this.#released) return [];
    const built = this.#built;
    if (built !== undefined) return built.filter((event) => event.seq >= fromSeq && event.seq <= toSeq);
    const names = this.#names!;
    const out: TraceEvent[] = [];
    for (const { chunk, from, to } of this.#segments) {
      const start = Math.max(from, fromSeq - chunk.firstSeq);
      const end = Math.min(to, toSeq - chunk.firstSeq + 1);
      for (let i = start; i < end; i += 1) out.push(chunk.event(i, names.syscalls, names.templates));
    }
    return out;
  }

  /**
   * A second handle on the same events for a second consumer (each releases its own): the
   * recorder reuses the columns only once every handle was released.
   */
  share(): TraceBatch {
    if (this.#built !== undefined || this.#released)
      return new TraceBatch(this.firstSeq, this.lastSeq, NO_SEGMENTS, undefined, this.#built ?? []);
    for (const segment of this.#segments) segment.chunk.holds += 1;
    return new TraceBatch(this.firstSeq, this.lastSeq, this.#segments, this.#names, undefined);
  }

  /** The batch is no longer needed: the recorder may reuse its columns. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#built = undefined;
    for (const segment of this.#segments) segment.chunk.holds -= 1;
  }

  /** @internal A batch over a recorder's chunks (observer-internal: the ring's). */
  static ofChunks(
    firstSeq: number,
    lastSeq: number,
    segments: readonly BatchSegment[],
    names: BatchNames,
  ): TraceBatch {
    for (const segment of segments) segment.chunk.holds += 1;
    return new TraceBatch(firstSeq, lastSeq, segments, names, undefined);
  }
}
