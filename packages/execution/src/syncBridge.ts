import { ForgeError, type JsonValue } from '@forgeone/common';

// Layout of the shared buffer: four i32 words, then the answer's UTF-8 JSON. The state word holds
// the id of the request being waited for (> 0), so that a late answer can never land on a newer
// question: the answerer claims the buffer with compareExchange(id -> WRITING).
const STATE = 0;
const LENGTH = 2; // answer bytes
const HEADER_BYTES = 16;
const IDLE = 0;
const WRITING = -1;
const ANSWERED = -2;

/** Default room for one answer. */
export const SYNC_BRIDGE_BYTES = 64 * 1024;

/** A question a guest thread asks the main thread (posted as a message), answered through shared memory. */
export interface BridgeRequest {
  readonly type: 'bridge';
  readonly id: number;
  readonly kind: string;
  readonly payload: JsonValue;
  /** How long the asking thread waits before it takes the default answer. */
  readonly timeoutMs: number;
}

/** Creates the shared buffer both sides of one bridge use. */
export function createBridgeBuffer(bytes = SYNC_BRIDGE_BYTES): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + bytes);
}

/**
 * The asking side (a worker running a guest): posts a request and blocks on `Atomics.wait` until
 * the main thread answers or the timeout passes. Synchronous on purpose: the guest is inside a
 * host call and cannot await.
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

  /** Asks and waits; `undefined` when no answer came in time. */
  request(kind: string, payload: JsonValue, timeoutMs: number): JsonValue | undefined {
    const id = this.#nextId;
    this.#nextId = id >= 0x7fff_fff0 ? 1 : id + 1;
    Atomics.store(this.#words, STATE, id);
    this.post({ type: 'bridge', id, kind, payload, timeoutMs });
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
    const length = Atomics.load(this.#words, LENGTH);
    const text = new TextDecoder().decode(this.#bytes.slice(0, length));
    Atomics.store(this.#words, STATE, IDLE);
    return JSON.parse(text) as JsonValue;
  }
}

/**
 * The answering side (the main thread): writes the answer of request `id` unless the asker has
 * stopped waiting for it. Returns false when the answer came too late.
 */
export function answerBridge(buffer: SharedArrayBuffer, id: number, answer: JsonValue): boolean {
  const words = new Int32Array(buffer, 0, 4);
  const bytes = new Uint8Array(buffer, HEADER_BYTES);
  const encoded = new TextEncoder().encode(JSON.stringify(answer));
  if (encoded.byteLength > bytes.byteLength) {
    throw new ForgeError('FORGE_INTERNAL', `bridge answer of ${encoded.byteLength} bytes does not fit`);
  }
  if (Atomics.compareExchange(words, STATE, id, WRITING) !== id) return false;
  bytes.set(encoded);
  Atomics.store(words, LENGTH, encoded.byteLength);
  Atomics.store(words, STATE, ANSWERED);
  Atomics.notify(words, STATE);
  return true;
}
