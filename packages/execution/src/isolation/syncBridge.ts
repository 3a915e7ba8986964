import { ForgeError, type JsonValue } from '@forgeone/common';

// Layout of the shared buffer: four i32 words, then the answer's bytes. The state word holds the
// id of the request being waited for (> 0), so that a late answer can never land on a newer
// question: the answerer claims the buffer with compareExchange(id -> WRITING), and the asker
// withdraws a question it stopped waiting for with compareExchange(id -> IDLE). Exactly one wins.
const STATE = 0;
const CODE = 1; // the answer's status (what it means is the caller's)
const LENGTH = 2; // answer bytes
const HEADER_BYTES = 16;
const IDLE = 0;
const WRITING = -1;
const ANSWERED = -2;

/** Default room for one answer. */
export const SYNC_BRIDGE_BYTES = 64 * 1024;

/** The status of an answer whose bytes did not fit the buffer (none were written). */
export const BRIDGE_OVERFLOW = -1;

/** A question a guest thread asks the main thread (posted as a message), answered through shared memory. */
export interface BridgeRequest {
  readonly type: 'bridge';
  readonly id: number;
  readonly kind: string;
  readonly payload: JsonValue;
  /** How long the asking thread waits before it takes the default answer. */
  readonly timeoutMs: number;
}

/** An answer as the asking thread receives it: a status and a copy of the answer's bytes. */
export interface BridgeAnswer {
  readonly code: number;
  readonly bytes: Uint8Array;
}

/** Creates the shared buffer both sides of one bridge use, with room for `bytes` of answer. */
export function createBridgeBuffer(bytes = SYNC_BRIDGE_BYTES): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + bytes);
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * The asking side (a worker running a guest): posts a request and blocks on `Atomics.wait` until
 * the main thread answers or the timeout passes. Synchronous on purpose: the guest is inside a
 * host call and cannot await. One question at a time (the asking thread is blocked while it waits).
 */
export class SyncBridgeClient {
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  #nextId = 1;

  constructor(
    buffer: SharedArrayBuffer,
    readonly post: (request: BridgeRequest) => void,
  ) {
    this.#words = new Int32Array(buffer, 0, 4);
    this.#bytes = new Uint8Array(buffer, HEADER_BYTES);
  }

  /** Bytes one answer can hold. */
  get capacity(): number {
    return this.#bytes.byteLength;
  }

  /** Asks a JSON question and waits; `undefined` when no answer came in time. */
  request(kind: string, payload: JsonValue, timeoutMs: number): JsonValue | undefined {
    const answer = this.call(timeoutMs, (id) => this.post({ type: 'bridge', id, kind, payload, timeoutMs }));
    if (answer === undefined || answer.code === BRIDGE_OVERFLOW) return undefined;
    return JSON.parse(utf8Decoder.decode(answer.bytes)) as JsonValue;
  }

  /**
   * Opens a question, lets `send` post it (with its id: the answerer needs it to claim the
   * buffer), and waits. `undefined` when no answer came within `timeoutMs`: the question is then
   * withdrawn, and an answerer that comes later cannot claim it (so it must not act on it).
   */
  call(timeoutMs: number, send: (id: number) => void): BridgeAnswer | undefined {
    const id = this.#nextId;
    this.#nextId = id >= 0x7fff_fff0 ? 1 : id + 1;
    Atomics.store(this.#words, STATE, id);
    send(id);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = Atomics.load(this.#words, STATE);
      if (state === ANSWERED) break;
      const left = deadline - Date.now();
      if (state === id && left <= 0) {
        // Withdraw the question; if the answer is being written right now, take it instead.
        if (Atomics.compareExchange(this.#words, STATE, id, IDLE) === id) return undefined;
        continue;
      }
      Atomics.wait(this.#words, STATE, state, state === WRITING ? 50 : Math.max(1, left));
    }
    const code = Atomics.load(this.#words, CODE);
    const length = Atomics.load(this.#words, LENGTH);
    const bytes = this.#bytes.slice(0, length);
    Atomics.store(this.#words, STATE, IDLE);
    return { code, bytes };
  }
}

/**
 * The answering side (the main thread), first step: takes request `id` to answer. False when the
 * asker stopped waiting for it (or it is not the open question): then nothing must be done for
 * it, since the asker was told it failed. After a true, `completeBridge` must follow at once (the
 * asker waits for it without a timeout).
 */
export function claimBridge(buffer: SharedArrayBuffer, id: number): boolean {
  return Atomics.compareExchange(new Int32Array(buffer, 0, 4), STATE, id, WRITING) === id;
}

/**
 * The answering side, second step: hands over a claimed request's answer and wakes the asker.
 * Never throws (the asker would wait forever): bytes that do not fit become BRIDGE_OVERFLOW.
 */
export function completeBridge(buffer: SharedArrayBuffer, code: number, bytes?: Uint8Array): void {
  const words = new Int32Array(buffer, 0, 4);
  const room = new Uint8Array(buffer, HEADER_BYTES);
  const fits = bytes === undefined || bytes.byteLength <= room.byteLength;
  if (bytes !== undefined && fits) room.set(bytes);
  Atomics.store(words, CODE, fits ? code : BRIDGE_OVERFLOW);
  Atomics.store(words, LENGTH, fits ? (bytes?.byteLength ?? 0) : 0);
  Atomics.store(words, STATE, ANSWERED);
  Atomics.notify(words, STATE);
}

/**
 * Writes the JSON answer of request `id` unless the asker has stopped waiting for it. Returns
 * false when the answer came too late.
 */
export function answerBridge(buffer: SharedArrayBuffer, id: number, answer: JsonValue): boolean {
  const encoded = utf8Encoder.encode(JSON.stringify(answer));
  if (encoded.byteLength > buffer.byteLength - HEADER_BYTES) {
    throw new ForgeError('FORGE_INTERNAL', `bridge answer of ${encoded.byteLength} bytes does not fit`);
  }
  if (!claimBridge(buffer, id)) return false;
  completeBridge(buffer, 0, encoded);
  return true;
}
