import type { DecisionReason, SyscallArg } from '@forgeone/common';
import type { MemoryWrite, TraceEvent } from '@forgeone/observer';

/**
 * The binary form of the trace events a worker keeps in its shared tail (see traceTail.ts). It
 * replaces a JSON line per event, which cost a worker about 40% of its time on a WASI-heavy guest:
 * the tail is written after every call. Records follow one another; the strings every event repeats
 * (syscall names, actions, arg keys) and the decision reasons it shares by reference are written
 * once per tail (a definition record) and then named by number. Values keep their JavaScript type
 * exactly (a bigint stays a bigint, NaN stays NaN), as a structured clone of the event would.
 */

const DEFINE_STRING = 1;
const DEFINE_REASONS = 2;
const EVENT = 3;

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_NUMBER = 4;
const T_LATIN1 = 5;
const T_UTF16 = 6;
const T_BIGINT64 = 7;
const T_BIGINT_TEXT = 8;

const HAS_PARAMS = 1;
const HAS_WRITES = 2;
const HAS_OUTCOME = 4;
const EXECUTED = 8;

const MIN_I64 = -(2n ** 63n);
const MAX_I64 = 2n ** 63n - 1n;

/** Thrown inside the encoder when the record does not fit: the caller drops the event whole. */
const FULL = Symbol('tail full');

/** Appends events to a byte region; `at` is how far it is written. */
export class TailEncoder {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  #at = 0;
  readonly #strings = new Map<string, number>();
  readonly #reasons = new Map<readonly DecisionReason[], number>();

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes written whole. */
  get at(): number {
    return this.#at;
  }

  /** The bytes written whole, in a buffer of their own: a batch `decodeTail` reads on its own. */
  copy(): ArrayBuffer {
    const copy = new Uint8Array(this.#at);
    copy.set(this.#bytes.subarray(0, this.#at));
    return copy.buffer;
  }

  /** Starts over at the region's beginning (what was written is no longer read). */
  clear(): void {
    this.#at = 0;
    this.#strings.clear();
    this.#reasons.clear();
  }

  /** Appends one event; false (and nothing written) when it does not fit. */
  write(event: TraceEvent): boolean {
    const start = this.#at;
    const strings = this.#strings.size;
    const reasons = this.#reasons.size;
    try {
      this.#event(event);
      return true;
    } catch (error) {
      if (error !== FULL) throw error;
      this.#at = start;
      // Definitions written inside the dropped record are dropped with it.
      if (this.#strings.size !== strings) dropNewest(this.#strings, strings);
      if (this.#reasons.size !== reasons) dropNewest(this.#reasons, reasons);
      return false;
    }
  }

  #event(event: TraceEvent): void {
    const syscall = this.#stringId(event.syscall);
    const action = this.#stringId(event.action);
    const reasons = this.#reasonsId(event.reasons);
    const outcome = event.outcome === undefined ? -1 : this.#stringId(event.outcome);
    const argKeys = Object.keys(event.args);
    const keyIds: number[] = [];
    for (const key of argKeys) keyIds.push(this.#stringId(key));
    const flags =
      (event.params !== undefined ? HAS_PARAMS : 0) |
      (event.writes !== undefined ? HAS_WRITES : 0) |
      (outcome >= 0 ? HAS_OUTCOME : 0) |
      (event.executed ? EXECUTED : 0);
    this.#u8(EVENT);
    this.#u8(flags);
    this.#f64(event.seq);
    this.#u32(syscall);
    this.#u32(action);
    this.#u32(reasons);
    this.#value(event.result);
    this.#f64(event.durationNs);
    this.#f64(event.time);
    this.#u32(argKeys.length);
    for (let i = 0; i < argKeys.length; i += 1) {
      this.#u32(keyIds[i]!);
      this.#value(event.args[argKeys[i]!]);
    }
    if (event.params !== undefined) {
      this.#u32(event.params.length);
      for (const param of event.params) this.#value(param);
    }
    if (event.writes !== undefined) {
      this.#u32(event.writes.length);
      for (const write of event.writes) {
        this.#f64(write.ptr);
        this.#text(write.bytes);
      }
    }
    if (outcome >= 0) this.#u32(outcome);
  }

  #stringId(text: string): number {
    let id = this.#strings.get(text);
    if (id === undefined) {
      id = this.#strings.size;
      this.#u8(DEFINE_STRING);
      this.#text(text);
      this.#strings.set(text, id);
    }
    return id;
  }

  #reasonsId(reasons: readonly DecisionReason[]): number {
    let id = this.#reasons.get(reasons);
    if (id === undefined) {
      id = this.#reasons.size;
      this.#u8(DEFINE_REASONS);
      this.#text(JSON.stringify(reasons));
      this.#reasons.set(reasons, id);
    }
    return id;
  }

  #room(n: number): number {
    const at = this.#at;
    if (at + n > this.#bytes.length) throw FULL;
    this.#at = at + n;
    return at;
  }

  #u8(value: number): void {
    this.#bytes[this.#room(1)] = value;
  }

  #u32(value: number): void {
    this.#view.setUint32(this.#room(4), value, true);
  }

  #f64(value: number): void {
    this.#view.setFloat64(this.#room(8), value, true);
  }

  #value(value: SyscallArg | undefined): void {
    switch (typeof value) {
      case 'undefined':
        this.#u8(T_UNDEFINED);
        return;
      case 'boolean':
        this.#u8(value ? T_TRUE : T_FALSE);
        return;
      case 'number':
        this.#u8(T_NUMBER);
        this.#f64(value);
        return;
      case 'string':
        this.#text(value);
        return;
      case 'bigint':
        if (value >= MIN_I64 && value <= MAX_I64) {
          this.#u8(T_BIGINT64);
          this.#view.setBigInt64(this.#room(8), value, true);
        } else {
          this.#u8(T_BIGINT_TEXT);
          this.#text(value.toString());
        }
        return;
      default:
        this.#u8(T_NULL);
    }
  }

  /** A string: one byte a char when every char fits in one (paths, base64), else two. */
  #text(text: string): void {
    const n = text.length;
    const tagAt = this.#room(5);
    const start = this.#room(n);
    const bytes = this.#bytes;
    for (let i = 0; i < n; i += 1) {
      const c = text.charCodeAt(i);
      if (c > 0xff) {
        this.#at = start;
        const wide = this.#room(2 * n);
        for (let j = 0; j < n; j += 1) this.#view.setUint16(wide + 2 * j, text.charCodeAt(j), true);
        bytes[tagAt] = T_UTF16;
        this.#view.setUint32(tagAt + 1, n, true);
        return;
      }
      bytes[start + i] = c;
    }
    bytes[tagAt] = T_LATIN1;
    this.#view.setUint32(tagAt + 1, n, true);
  }
}

function dropNewest<K>(map: Map<K, number>, keep: number): void {
  for (const [key, id] of map) if (id >= keep) map.delete(key);
}

/** Reads the events of the first `used` bytes of a region `TailEncoder` wrote; stops at anything malformed. */
export function decodeTail(bytes: Uint8Array, used: number): TraceEvent[] {
  const reader = new TailReader(bytes, Math.min(used, bytes.length));
  const events: TraceEvent[] = [];
  try {
    while (reader.more()) {
      const event = reader.record();
      if (event !== undefined) events.push(event);
    }
  } catch {
    // A record cut short (or not ours): the events before it are whole; its call counts as dropped.
  }
  return events;
}

class TailReader {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  readonly #end: number;
  #at = 0;
  readonly #strings: string[] = [];
  readonly #reasons: (readonly DecisionReason[])[] = [];

  constructor(bytes: Uint8Array, end: number) {
    this.#bytes = bytes;
    this.#end = end;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  more(): boolean {
    return this.#at < this.#end;
  }

  record(): TraceEvent | undefined {
    const kind = this.#u8();
    if (kind === DEFINE_STRING) {
      this.#strings.push(this.#string());
      return undefined;
    }
    if (kind === DEFINE_REASONS) {
      this.#reasons.push(JSON.parse(this.#string()) as DecisionReason[]);
      return undefined;
    }
    if (kind !== EVENT) throw new RangeError(`unknown tail record ${kind}`);
    const flags = this.#u8();
    const seq = this.#f64();
    const syscall = this.#named();
    const action = this.#named() as TraceEvent['action'];
    const reasons = this.#reasons[this.#u32()];
    if (reasons === undefined) throw new RangeError('unknown reasons');
    const result = this.#value() as TraceEvent['result'];
    const durationNs = this.#f64();
    const time = this.#f64();
    const args: Record<string, SyscallArg> = {};
    for (let n = this.#u32(), i = 0; i < n; i += 1) {
      const key = this.#named();
      args[key] = this.#value() as SyscallArg;
    }
    const event: { -readonly [K in keyof TraceEvent]: TraceEvent[K] } = {
      seq,
      syscall,
      args,
      action,
      executed: (flags & EXECUTED) !== 0,
      reasons,
      result,
      durationNs,
      time,
    };
    if ((flags & HAS_PARAMS) !== 0) {
      const params: (number | bigint | string)[] = [];
      for (let n = this.#u32(), i = 0; i < n; i += 1) params.push(this.#value() as number | bigint);
      event.params = params;
    }
    if ((flags & HAS_WRITES) !== 0) {
      const writes: MemoryWrite[] = [];
      for (let n = this.#u32(), i = 0; i < n; i += 1) {
        const ptr = this.#f64();
        writes.push({ ptr, bytes: this.#string() });
      }
      event.writes = writes;
    }
    if ((flags & HAS_OUTCOME) !== 0) event.outcome = this.#named() as NonNullable<TraceEvent['outcome']>;
    return ordered(event);
  }

  #take(n: number): number {
    const at = this.#at;
    if (at + n > this.#end) throw new RangeError('record cut short');
    this.#at = at + n;
    return at;
  }

  #u8(): number {
    return this.#bytes[this.#take(1)]!;
  }

  #u32(): number {
    return this.#view.getUint32(this.#take(4), true);
  }

  #f64(): number {
    return this.#view.getFloat64(this.#take(8), true);
  }

  #named(): string {
    const text = this.#strings[this.#u32()];
    if (text === undefined) throw new RangeError('unknown string');
    return text;
  }

  #string(): string {
    const value = this.#value();
    if (typeof value !== 'string') throw new RangeError('expected a string');
    return value;
  }

  #value(): SyscallArg | undefined {
    const tag = this.#u8();
    switch (tag) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_NUMBER:
        return this.#f64();
      case T_BIGINT64:
        return this.#view.getBigInt64(this.#take(8), true);
      case T_BIGINT_TEXT:
        return BigInt(this.#string());
      case T_LATIN1: {
        const n = this.#u32();
        const at = this.#take(n);
        // Node's latin1 is ISO-8859-1 exactly (TextDecoder's 'latin1' is windows-1252).
        const bytes = this.#bytes;
        return Buffer.from(bytes.buffer, bytes.byteOffset + at, n).toString('latin1');
      }
      case T_UTF16: {
        const n = this.#u32();
        const at = this.#take(2 * n);
        let text = '';
        for (let i = 0; i < n; i += 1) text += String.fromCharCode(this.#view.getUint16(at + 2 * i, true));
        return text;
      }
      default:
        throw new RangeError(`unknown value tag ${tag}`);
    }
  }
}

/** The event with its keys in the order the recorder builds them (a trace file writes them so). */
function ordered(event: TraceEvent): TraceEvent {
  const { seq, syscall, args, params, action, executed, reasons, result, durationNs, time, writes, outcome } =
    event;
  return {
    seq,
    syscall,
    args,
    ...(params !== undefined && { params }),
    action,
    executed,
    reasons,
    result,
    durationNs,
    time,
    ...(writes !== undefined && { writes }),
    ...(outcome !== undefined && { outcome }),
  };
}
