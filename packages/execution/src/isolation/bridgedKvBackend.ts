import { KvRefusal, type KvBackend, type KvPutStatus, type KvUsage } from '../forge/forgeKvBackend';
import { ForgeErrno } from '../forge/forgeErrno';
import { KV_MAX_VALUE_BYTES } from '../forge/forgeKvSyscalls';
import { BRIDGE_OVERFLOW, type SyncBridgeClient } from './syncBridge';

/** One kv call a worker guest makes, as it crosses to the main thread. */
export type KvRequest =
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'usage' };

/**
 * Room for one kv answer: the largest value any `forge.kv_put` can store, so every value a guest
 * wrote can be read back. (A bigger one can only be put by the host itself; a worker guest's
 * `kv_get` of it answers TOO_LARGE.)
 */
export const KV_BRIDGE_BYTES = KV_MAX_VALUE_BYTES;

/** How long a worker guest's kv call waits for the main thread before it answers UNAVAILABLE. */
export const DEFAULT_KV_TIMEOUT_MS = 5_000;

// Answer codes (the bridge's status word). A refusal carries the guest's errno, and its reason as
// the answer's bytes.
const OK = 0;
const NOT_FOUND = 1;
const QUOTA = 2;
const REFUSED = 100;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * The worker side: a KvBackend whose every call is applied by the main thread's backend before it
 * returns (write-through, read-through). A call the main thread does not answer within
 * `timeoutMs` is withdrawn (the main thread then does not apply it) and refused with UNAVAILABLE.
 */
export class BridgedKvBackend implements KvBackend {
  constructor(
    readonly namespace: string,
    readonly bridge: SyncBridgeClient,
    readonly send: (id: number, request: KvRequest) => void,
    readonly timeoutMs: number,
  ) {}

  get(key: string): Uint8Array | undefined {
    const { code, bytes } = this.#ask({ op: 'get', key });
    return code === NOT_FOUND ? undefined : bytes;
  }

  put(key: string, value: Uint8Array): KvPutStatus {
    return this.#ask({ op: 'put', key, value }).code === QUOTA ? 'quota' : 'ok';
  }

  delete(key: string): boolean {
    return this.#ask({ op: 'delete', key }).code === OK;
  }

  usage(): KvUsage {
    const { bytes } = this.#ask({ op: 'usage' });
    const [used = 0, keys = 0] = new Float64Array(bytes.buffer, bytes.byteOffset, 2);
    return { bytes: used, keys };
  }

  /** Asks the main thread; no answer in time, or a refusal, throws the KvRefusal the guest gets. */
  #ask(request: KvRequest): { code: number; bytes: Uint8Array } {
    const answer = this.bridge.call(this.timeoutMs, (id) => this.send(id, request));
    if (answer === undefined) {
      throw new KvRefusal(
        ForgeErrno.UNAVAILABLE,
        `the main thread did not answer kv ${request.op} within ${this.timeoutMs} ms`,
      );
    }
    if (answer.code === BRIDGE_OVERFLOW) {
      throw new KvRefusal(ForgeErrno.UNAVAILABLE, 'kv answer did not fit the bridge');
    }
    if (answer.code >= REFUSED) {
      throw new KvRefusal((answer.code - REFUSED) as ForgeErrno, utf8Decoder.decode(answer.bytes));
    }
    return answer;
  }
}

/** An answer refusing the call with `errno` (the guest's KvRefusal). */
function refusal(errno: ForgeErrno, reason: string): { code: number; bytes: Uint8Array } {
  return { code: REFUSED + errno, bytes: utf8Encoder.encode(reason.slice(0, 1000)) };
}

/**
 * The main-thread side when the answer can wait (the worker is blocked on the bridge): applies the
 * request like `serveKvRequest`, and calls `answer` once what it wrote or read is durable (a
 * backend with group commit answers every request of one event-loop turn after one commit). A
 * failed commit answers UNAVAILABLE: the write was undone. `answer` is called exactly once.
 */
export function answerKvRequest(
  backend: KvBackend | undefined,
  request: KvRequest,
  room: number,
  answer: (code: number, bytes?: Uint8Array) => void,
): void {
  if (backend?.grouped === undefined) {
    const { code, bytes } = serveKvRequest(backend, request, room);
    answer(code, bytes);
    return;
  }
  backend.grouped(
    () => serveKvRequest(backend, request, room),
    (outcome) => {
      if (outcome.ok) {
        answer(outcome.value.code, outcome.value.bytes);
        return;
      }
      const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      const { code, bytes } = refusal(ForgeErrno.UNAVAILABLE, `kv commit failed: ${message}`);
      answer(code, bytes);
    },
  );
}

/**
 * The main-thread side: applies one request to the namespace's backend and says what to answer.
 * Never throws: a backend's KvRefusal keeps its errno, anything else it throws answers UNAVAILABLE.
 */
export function serveKvRequest(
  backend: KvBackend | undefined,
  request: KvRequest,
  room: number,
): { code: number; bytes?: Uint8Array } {
  if (backend === undefined) return refusal(ForgeErrno.DENIED, 'the container has no kv namespace');
  try {
    switch (request.op) {
      case 'get': {
        const value = backend.get(request.key);
        if (value === undefined) return { code: NOT_FOUND };
        if (value.byteLength <= room) return { code: OK, bytes: value };
        return refusal(
          ForgeErrno.TOO_LARGE,
          `kv value under ${JSON.stringify(request.key.slice(0, 80))} has ${value.byteLength} bytes, more than a worker guest can be given (${room})`,
        );
      }
      case 'put':
        return { code: backend.put(request.key, request.value) === 'ok' ? OK : QUOTA };
      case 'delete':
        return { code: backend.delete(request.key) ? OK : NOT_FOUND };
      case 'usage': {
        const { bytes, keys } = backend.usage();
        return { code: OK, bytes: new Uint8Array(Float64Array.of(bytes, keys).buffer) };
      }
    }
  } catch (error) {
    if (error instanceof KvRefusal) return refusal(error.errno, error.message);
    const message = error instanceof Error ? error.message : String(error);
    return refusal(ForgeErrno.UNAVAILABLE, `kv backend failed: ${message}`);
  }
}
