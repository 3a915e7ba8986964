import type { TraceBatch, TraceEvent, TraceRecorder } from '@forgeone/observer';
import { TailEncoder, decodeTail } from './internal/traceTailCodec';

/**
 * How a worker's trace events reach the main thread so that a terminate cannot lose them. Posting
 * every call would cost each call a message and a wake-up of the main thread, so events are posted
 * in batches (at most every POST_EVERY_MS, or when 1,024 wait); the calls since the last batch are
 * written (in a binary form, traceTailCodec.ts) into a shared buffer the main thread reads after it
 * stopped the worker.
 * Only a short tail is written (at most TAIL_MAX_EVENTS new events per call: a hot run's calls are
 * not, they stay cheap); a call in neither place is counted as dropped by the main thread.
 */

/**
 * Bytes of events a tail buffer holds (after its header: the bytes used, then the generation).
 * Room for a whole default batch (1,024 events) of WASI file calls, which encode to ~160 bytes each
 * (a path_open: its args, nine params, a write): with less, the tail filled before the batch was
 * posted, so the worker built and encoded most events twice (once for the tail, again for the
 * batch) and a terminate lost the calls past the tail's end. 256 KiB of shared memory per worker.
 */
export const TRACE_TAIL_BYTES = 256 * 1024;
const HEADER_BYTES = 8;
const USED = 0;
const GENERATION = 1;
const POST_EVERY_MS = 5;
const TAIL_MAX_EVENTS = 16;

/**
 * A tail buffer (one per pooled worker, cleared for each instance): word 0 is the bytes used, word
 * 1 counts the times the writer started over (so a reader can tell that bytes changed under it).
 */
export function createTraceTail(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + TRACE_TAIL_BYTES);
}

/** The worker's side: hands events to `post` in batches, and keeps the rest in the shared tail. */
export class TraceTailWriter {
  readonly #words: Int32Array;
  readonly #encoder: TailEncoder;
  #lastPost = 0;
  /** The last seq posted or written into the tail. */
  #written = 0;
  /** The last seq posted: the tail holds the events after it, up to `#written`. */
  #postedSeq = 0;
  /** Events written into the tail since it started over. */
  #count = 0;
  #full = false;

  constructor(buffer: SharedArrayBuffer) {
    this.#words = new Int32Array(buffer, 0, 2);
    this.#encoder = new TailEncoder(new Uint8Array(buffer, HEADER_BYTES, TRACE_TAIL_BYTES));
  }

  /** A new instance on this worker: nothing written yet (the main thread cleared the buffer). */
  reset(): void {
    this.#lastPost = 0;
    this.#written = 0;
    this.#postedSeq = 0;
    this.#full = false;
    this.#startOver();
  }

  /** Empties the tail: the length first, then the generation, then (later) new bytes over the old. */
  #startOver(): void {
    Atomics.store(this.#words, USED, 0);
    Atomics.add(this.#words, GENERATION, 1);
    this.#encoder.clear();
    this.#count = 0;
  }

  /**
   * A batch the recorder hands over, in the binary form `decodeTraceBatch` reads, in a buffer of
   * its own (to transfer). The tail already holds the batch's first events, encoded, in the usual
   * case (every call since the last post was written into it): the rest (the newest call's) are
   * encoded after them, and the tail's bytes are the batch, copied, so no event is built and
   * encoded twice. Otherwise (calls the tail skipped, or no room) the batch is encoded whole.
   */
  batchBytes(batch: TraceBatch): ArrayBuffer {
    const { firstSeq, lastSeq } = batch;
    if (
      firstSeq === this.#postedSeq + 1 &&
      lastSeq >= this.#written &&
      this.#count === this.#written - this.#postedSeq &&
      batch.size === lastSeq - firstSeq + 1
    ) {
      const encoder = this.#encoder;
      let whole = true;
      // Past the tail's length (the main thread reads only up to it): the tail starts over next.
      if (lastSeq > this.#written) {
        for (const event of batch.events(this.#written + 1, lastSeq)) {
          if (!encoder.write(event)) {
            whole = false;
            break;
          }
        }
      }
      if (whole) return encoder.copy();
    }
    return encodeTraceBatch(batch.events());
  }

  /** The events up to `lastSeq` were posted (a batch): the tail starts over after them. */
  posted(lastSeq: number): void {
    if (lastSeq > this.#written) this.#written = lastSeq;
    if (lastSeq > this.#postedSeq) this.#postedSeq = lastSeq;
    this.#startOver();
    this.#full = false;
    this.#lastPost = Date.now();
  }

  /** After a call: posts what waits (now and then), else writes the newest events into the tail. */
  afterCall(recorder: TraceRecorder): void {
    if (Date.now() - this.#lastPost >= POST_EVERY_MS) {
      recorder.flush(); // calls `posted` through the recorder's onBatch when anything waited
      this.#lastPost = Date.now();
      return;
    }
    const last = recorder.nextSeq() - 1;
    if (this.#full || last - this.#written > TAIL_MAX_EVENTS) return;
    const encoder = this.#encoder;
    for (const event of recorder.eventsAfter(this.#written)) {
      if (!encoder.write(event)) {
        this.#full = true;
        break;
      }
      this.#written = event.seq;
      this.#count += 1;
    }
    // The length last: the main thread reads only records that were written whole.
    Atomics.store(this.#words, USED, encoder.at);
  }
}

/**
 * The main thread's side: the events in a tail buffer (a record cut short, and what follows it, is
 * skipped). The worker may still be running (a terminate takes effect later): a copy taken while it
 * started over is taken again, and after a few tries none is read (those calls count as dropped).
 */
export function readTraceTail(buffer: SharedArrayBuffer): TraceEvent[] {
  const words = new Int32Array(buffer, 0, 2);
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const generation = Atomics.load(words, GENERATION);
    const used = Math.min(Atomics.load(words, USED), TRACE_TAIL_BYTES);
    if (used <= 0) return [];
    const bytes = new Uint8Array(buffer, HEADER_BYTES, used).slice();
    if (Atomics.load(words, GENERATION) !== generation) continue;
    return decodeTail(bytes, used).filter(
      (event) => Number.isSafeInteger(event.seq) && typeof event.syscall === 'string',
    );
  }
  return [];
}

/** Scratch room a worker encodes its batches into (grown when a batch needs more). */
let batchScratch = new Uint8Array(256 * 1024);

/**
 * A batch of events in the tail's binary form, in a buffer of its own (to transfer): cheaper for
 * the worker than a structured clone of the event objects, and the main thread decodes it at once.
 */
export function encodeTraceBatch(events: readonly TraceEvent[]): ArrayBuffer {
  for (;;) {
    const encoder = new TailEncoder(batchScratch);
    let whole = true;
    for (const event of events) {
      if (!encoder.write(event)) {
        whole = false;
        break;
      }
    }
    if (whole) return batchScratch.slice(0, encoder.at).buffer;
    batchScratch = new Uint8Array(batchScratch.length * 2);
  }
}

/** The events of a batch `encodeTraceBatch` made. */
export function decodeTraceBatch(buffer: ArrayBuffer): TraceEvent[] {
  return decodeTail(new Uint8Array(buffer), buffer.byteLength);
}
