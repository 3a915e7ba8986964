import type { TraceEvent, TraceRecorder } from '@forgeone/observer';

/**
 * How a worker's trace events reach the main thread so that a terminate cannot lose them. Posting
 * every call would cost each call a message and a wake-up of the main thread, so events are posted
 * in batches (at most every POST_EVERY_MS, or when 1,024 wait); the calls since the last batch are
 * written, as JSON lines, into a shared buffer the main thread reads after it stopped the worker.
 * Only a short tail is written (at most TAIL_MAX_EVENTS new events per call: a hot run's calls are
 * not, they stay cheap); a call in neither place is counted as dropped by the main thread.
 */

/** Bytes of JSON lines a tail buffer holds (after its 4-byte length word). */
export const TRACE_TAIL_BYTES = 64 * 1024;
const POST_EVERY_MS = 5;
const TAIL_MAX_EVENTS = 16;

const toJson = (_key: string, value: unknown): unknown =>
  typeof value === 'bigint' ? value.toString() : value;

/** A tail buffer (one per pooled worker, cleared for each instance): word 0 is the bytes used, JSON lines follow. */
export function createTraceTail(): SharedArrayBuffer {
  return new SharedArrayBuffer(4 + TRACE_TAIL_BYTES);
}

/** The worker's side: hands events to `post` in batches, and keeps the rest in the shared tail. */
export class TraceTailWriter {
  readonly #used: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #encoder = new TextEncoder();
  #lastPost = 0;
  /** The last seq posted or written into the tail. */
  #written = 0;
  #full = false;

  constructor(buffer: SharedArrayBuffer) {
    this.#used = new Int32Array(buffer, 0, 1);
    this.#bytes = new Uint8Array(buffer, 4);
  }

  /** A new instance on this worker: nothing written yet (the main thread cleared the buffer). */
  reset(): void {
    this.#lastPost = 0;
    this.#written = 0;
    this.#full = false;
  }

  /** The events were posted (a batch): the tail starts over after them. */
  posted(events: readonly TraceEvent[]): void {
    const last = events.at(-1);
    if (last !== undefined && last.seq > this.#written) this.#written = last.seq;
    Atomics.store(this.#used, 0, 0);
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
    let used = Atomics.load(this.#used, 0);
    for (const event of recorder.eventsAfter(this.#written)) {
      const line = this.#encoder.encode(`${JSON.stringify(event, toJson)}\n`);
      if (used + line.length > this.#bytes.length) {
        this.#full = true;
        break;
      }
      this.#bytes.set(line, used);
      used += line.length;
      this.#written = event.seq;
    }
    // The length last: the main thread reads only lines that were written whole.
    Atomics.store(this.#used, 0, used);
  }
}

/** The main thread's side: the events in a tail buffer (any line that does not parse is skipped). */
export function readTraceTail(buffer: SharedArrayBuffer): TraceEvent[] {
  const used = Atomics.load(new Int32Array(buffer, 0, 1), 0);
  if (used <= 0) return [];
  const text = new TextDecoder().decode(new Uint8Array(buffer, 4, Math.min(used, TRACE_TAIL_BYTES)).slice());
  const events: TraceEvent[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const event = JSON.parse(line) as TraceEvent;
      if (Number.isSafeInteger(event.seq) && typeof event.syscall === 'string') events.push(event);
    } catch {
      // A line the stopped worker was overwriting: its call is counted as dropped.
    }
  }
  return events;
}
