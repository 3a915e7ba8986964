import type { TraceEvent } from './traceEvent';
import { TraceRing, type TraceRecorderOptions } from './internal/traceRing';

export type { TraceRecorderOptions } from './internal/traceRing';
import type { TraceSummaryRow } from './traceSummary';

const rings = new WeakMap<TraceRecorder, TraceRing>();

/**
 * One container's trace: every guest call, at most `capacity` events kept (the oldest are dropped,
 * and counted, unless drained first through `onBatch`, typically a store flush, so the guest's
 * critical path never waits on I/O). A gate's calls come in through a {@link CallRecorder}; events
 * recorded elsewhere (an isolation worker's) through `record` and `append`.
 */
export class TraceRecorder {
  readonly #ring: TraceRing;

  constructor(options: TraceRecorderOptions = {}) {
    this.#ring = new TraceRing(options);
    rings.set(this, this.#ring);
  }

  /** The sequence number the next event gets. */
  nextSeq(): number {
    return this.#ring.nextSeq();
  }

  /** Appends an event; its `seq` must be the one `nextSeq()` gave. */
  record(event: TraceEvent): void {
    this.#ring.record(event);
  }

  /**
   * Appends an event recorded elsewhere (an isolation worker's recorder): its `seq` may skip ahead
   * when the other side dropped events; the skipped ones count as dropped here.
   */
  append(event: TraceEvent): void {
    this.#ring.append(event);
  }

  /**
   * Counts every sequence number below `seq` not recorded yet as dropped: calls another recorder (an
   * isolation worker's) saw but whose events never arrived, so that the record says they are gone.
   */
  skipTo(seq: number): void {
    this.#ring.skipTo(seq);
  }

  /** Hands every not-yet-flushed event to `onBatch`. */
  flush(): void {
    this.#ring.flush();
  }

  /** Events still held, oldest first. */
  events(): TraceEvent[] {
    return this.#ring.events();
  }

  /** Events still held whose seq is above `seq`, oldest first. */
  eventsAfter(seq: number): TraceEvent[] {
    return this.#ring.eventsAfter(seq);
  }

  /** Events that fell out of the ring before anyone read them (and sequence numbers skipped by `append`). */
  get dropped(): number {
    return this.#ring.dropped;
  }

  /** Events held: the newest `capacity` at most. */
  get size(): number {
    return this.#ring.size;
  }

  /** Calls per syscall and decision, in order of first appearance. */
  summary(): TraceSummaryRow[] {
    return this.#ring.summary();
  }
}

/** The ring a recorder keeps its events in (observer-internal: CallRecorder's way in). */
export function traceRingOf(recorder: TraceRecorder): TraceRing {
  const ring = rings.get(recorder);
  if (ring === undefined) throw new TypeError('not a TraceRecorder');
  return ring;
}
