/**
 * How a worker's guest output (stdout, stderr) reaches the main thread: through a ring of bytes the
 * two threads share, not a message per write. A guest writing a byte at a time used to post a
 * message per write (about a sixth of a WASI-heavy worker's time, and a wake-up of the main thread
 * each). Now a write is a copy into the ring; the worker posts a wake-up only when the main thread
 * has none pending, and the main thread reads the ring a moment later (OUTPUT_DELAY_MS), then at
 * once before any other message of the worker (so output keeps its place before a log line, a
 * pause or the call's result), and after a terminate: what a guest wrote is in shared memory as
 * soon as its write returns, so a guest that writes and then computes for minutes, or is killed at
 * its deadline, quarantined or trapped, loses nothing and its output shows within milliseconds.
 * stdout and stderr share the ring, in the order they were written. A full ring makes the guest
 * wait (at its write) until the main thread has read it, asked at once.
 *
 * Layout: word HEAD bytes written, TAIL bytes read (both counted on, wrapping at 2^32), WAKE 1
 * while a wake-up is on its way; then OUTPUT_RING_BYTES of records: stream (1 byte), length (4
 * bytes, little-endian), the bytes; a record may wrap around the end.
 */

/** Bytes of records a ring holds (a power of two). */
export const OUTPUT_RING_BYTES = 64 * 1024;
/** How long the main thread lets writes gather after a wake-up before it reads them. */
export const OUTPUT_DELAY_MS = 4;

const HEAD = 0;
const TAIL = 1;
const WAKE = 2;
const HEADER_BYTES = 16;
const RECORD_HEADER = 5;
const MASK = OUTPUT_RING_BYTES - 1;
/** How long a worker waits for room before it asks again. */
const ROOM_WAIT_MS = 50;

export type OutputStream = 'stdout' | 'stderr';
const STDOUT = 1;
const STDERR = 2;

/** A ring (one per pooled worker, emptied for each instance). */
export function createOutputRing(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + OUTPUT_RING_BYTES);
}

/** Empties a ring no thread is using (between two loans of its worker). */
export function resetOutputRing(ring: SharedArrayBuffer): void {
  const words = new Int32Array(ring, 0, 3);
  Atomics.store(words, HEAD, 0);
  Atomics.store(words, TAIL, 0);
  Atomics.store(words, WAKE, 0);
}

/** The worker's side. `wake(urgent)` posts the main thread a wake-up (urgent: the guest waits for room). */
export class OutputRingWriter {
  readonly #words: Int32Array;
  readonly #data: Uint8Array;
  readonly #wake: (urgent: boolean) => void;

  constructor(ring: SharedArrayBuffer, wake: (urgent: boolean) => void) {
    this.#words = new Int32Array(ring, 0, 3);
    this.#data = new Uint8Array(ring, HEADER_BYTES, OUTPUT_RING_BYTES);
    this.#wake = wake;
  }

  /** Copies a guest's write into the ring (waiting for room when it is full); returns once it is there. */
  write(stream: OutputStream, bytes: Uint8Array): void {
    const words = this.#words;
    const data = this.#data;
    const tag = stream === 'stdout' ? STDOUT : STDERR;
    if (bytes.length === 0) return;
    let offset = 0;
    while (offset < bytes.length) {
      let head = Atomics.load(words, HEAD);
      const free = OUTPUT_RING_BYTES - ((head - Atomics.load(words, TAIL)) | 0);
      if (free <= RECORD_HEADER) {
        this.#waitForRoom();
        continue;
      }
      const n = Math.min(bytes.length - offset, free - RECORD_HEADER);
      data[head & MASK] = tag;
      for (let shift = 0; shift < 32; shift += 8) data[(head + 1 + shift / 8) & MASK] = (n >>> shift) & 0xff;
      head = (head + RECORD_HEADER) | 0;
      const at = head & MASK;
      const first = Math.min(n, OUTPUT_RING_BYTES - at);
      data.set(bytes.subarray(offset, offset + first), at);
      if (first < n) data.set(bytes.subarray(offset + first, offset + n), 0);
      // The head last: the main thread reads only records written whole.
      Atomics.store(words, HEAD, (head + n) | 0);
      offset += n;
    }
    if (Atomics.compareExchange(words, WAKE, 0, 1) === 0) this.#wake(false);
  }

  #waitForRoom(): void {
    const tail = Atomics.load(this.#words, TAIL);
    Atomics.store(this.#words, WAKE, 1);
    this.#wake(true);
    Atomics.wait(this.#words, TAIL, tail, ROOM_WAIT_MS);
  }
}

/** The main thread's side: hands each run of writes to one stream, in order, to `deliver`. */
export class OutputRingReader {
  readonly #words: Int32Array;
  readonly #data: Uint8Array;

  constructor(ring: SharedArrayBuffer) {
    this.#words = new Int32Array(ring, 0, 3);
    this.#data = new Uint8Array(ring, HEADER_BYTES, OUTPUT_RING_BYTES);
  }

  /** Reads every record written whole, joining neighbours of the same stream, and frees their room. */
  drain(deliver: (stream: OutputStream, bytes: Uint8Array) => void): void {
    const words = this.#words;
    const data = this.#data;
    // Cleared before the head is read: a write after that read posts a new wake-up.
    Atomics.store(words, WAKE, 0);
    const head = Atomics.load(words, HEAD);
    let tail = Atomics.load(words, TAIL);
    if (tail === head) return;
    const runs: { stream: OutputStream; parts: Uint8Array[]; size: number }[] = [];
    let run: (typeof runs)[number] | undefined;
    while (tail !== head) {
      const tag = data[tail & MASK]!;
      let n = 0;
      for (let shift = 0; shift < 32; shift += 8) n |= data[(tail + 1 + shift / 8) & MASK]! << shift;
      n >>>= 0;
      if ((tag !== STDOUT && tag !== STDERR) || n > OUTPUT_RING_BYTES) break; // not a record: stop
      const stream = tag === STDOUT ? 'stdout' : 'stderr';
      if (run?.stream !== stream) runs.push((run = { stream, parts: [], size: 0 }));
      const at = (tail + RECORD_HEADER) & MASK;
      const first = Math.min(n, OUTPUT_RING_BYTES - at);
      const bytes = new Uint8Array(n);
      bytes.set(data.subarray(at, at + first));
      if (first < n) bytes.set(data.subarray(0, n - first), first);
      run.parts.push(bytes);
      run.size += n;
      tail = (tail + RECORD_HEADER + n) | 0;
    }
    // Room first: a listener that throws must not leave the guest waiting for it.
    Atomics.store(words, TAIL, tail);
    Atomics.notify(words, TAIL);
    for (const { stream, parts, size } of runs) {
      deliver(stream, parts.length === 1 ? parts[0]! : joined(parts, size));
    }
  }
}

function joined(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
