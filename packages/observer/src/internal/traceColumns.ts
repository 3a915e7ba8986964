import type { Decision, SyscallArg } from '@forgeone/common';
import type { MemoryWrite, TraceEvent } from '../traceEvent';
import {
  ROW_MAX_WRITE,
  ROW_PARAMS,
  ROW_RESULT,
  ROW_TEMPLATE,
  ROW_WRITE_LEN,
  ROW_WRITE_PTR,
  STAGE_ROW,
  unpackWrite,
} from './traceStage';

/** Decoded arguments computed only when the trace is read (from the call's raw params). */
export interface LazyTraceArgs {
  decodeArgs(params: readonly (number | bigint)[]): Readonly<Record<string, SyscallArg>>;
}

/**
 * What every call of one syscall recorded by template (CallRecorder's untimed calls of a reused decision) shares: the
 * syscall, the decision (reused by the gate), and how to decode arguments from the raw params. Such
 * a call ran (it was allowed), returned a number and did not end the guest.
 */
export interface TraceTemplate {
  readonly syscallId: number;
  readonly decision: Decision;
  readonly args: LazyTraceArgs;
  /** How many params its calls have (0–4): what a staged row of it holds. */
  readonly arity: number;
}

const EXECUTED = 1;
const LAZY_ARGS = 2;
const NO_RESULT = 4;
const BIG_RESULT = 8;
const WHOLE_EVENT = 16;
/** The id of an event held as a row (TraceStage's layout) in the chunk's row area. */
const ROW_EVENT = -0x80000000;
const OUTCOME_SHIFT = 5;
const outcomes = [undefined, 'exit', 'fault', 'limit'] as const;
const outcomeCode = (outcome: TraceEvent['outcome']): number =>
  outcome === undefined ? 0 : outcome === 'exit' ? 1 : outcome === 'fault' ? 2 : 3;

function grown<T extends Float64Array | Uint8Array | Uint32Array | Int32Array>(array: T, need: number): T {
  if (need <= array.length) return array;
  let size = Math.max(16, array.length * 2);
  while (size < need) size *= 2;
  const next = new (array.constructor as new (n: number) => T)(size);
  next.set(array);
  return next;
}

/**
 * An array of `length` undefineds with packed elements: `new Array(n)` is holey, and V8 takes a slow
 * path for holey arrays.
 */
function packedArray<T>(length: number): (T | undefined)[] {
  const array: (T | undefined)[] = [];
  for (let i = 0; i < length; i += 1) array.push(undefined);
  return array;
}

/** Where a row's write is unpacked when read (then copied out as base64). */
const rowWrite = new Uint8Array(ROW_MAX_WRITE);

const toBase64 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * A fixed number of trace events stored column-wise in typed arrays: recording a call allocates
 * nothing (the arenas grow by doubling), so a long-running guest's trace puts no pressure on the
 * garbage collector. Events become objects only when read.
 */
export class TraceChunk {
  count = 0;
  /** Lazy batches (TraceBatch) still reading this chunk: while any does, the ring never reuses it. */
  holds = 0;
  readonly #ids: Int32Array;
  readonly #flags: Uint8Array;
  readonly #results: Float64Array;
  readonly #durations: Float64Array;
  // Wall times change far less often than calls are made: kept as runs (the event index a time
  // starts at, and the time), one compare per call instead of a store.
  #timeAt = new Int32Array(4);
  #timeValue = new Float64Array(4);
  #timeRuns = 0;
  #lastTime = NaN;
  readonly #decisions: (Decision | undefined)[];
  readonly #args: unknown[];
  readonly #paramStart: Int32Array;
  readonly #writeStart: Int32Array;
  #params = new Float64Array(0);
  #paramCount = 0;
  #bigParams: Map<number, bigint> | undefined;
  #bigResults: Map<number, bigint> | undefined;
  #writePtr = new Uint32Array(0);
  #writeOffset = new Int32Array(0);
  #writeCount = 0;
  #bytes = new Uint8Array(0);
  #byteCount = 0;
  /** Events written as rows by a TraceStage (`commitRows`), at their index × STAGE_ROW; allocated on first use. */
  #rows: Float64Array | undefined;

  constructor(
    public firstSeq: number,
    readonly capacity: number,
  ) {
    this.#ids = new Int32Array(capacity);
    this.#flags = new Uint8Array(capacity);
    this.#results = new Float64Array(capacity);
    this.#durations = new Float64Array(capacity);
    this.#decisions = packedArray(capacity);
    this.#args = packedArray(capacity);
    this.#paramStart = new Int32Array(capacity + 1);
    this.#writeStart = new Int32Array(capacity + 1);
  }

  /** Empties the chunk for reuse from `firstSeq` on (its arenas keep their size). */
  reset(firstSeq: number): void {
    this.firstSeq = firstSeq;
    this.count = 0;
    // #decisions and #args are not cleared: every event that reads them writes them first (and
    // `fill` on them costs ~35 ns per event amortised). They hold at most a ring's worth, as before.
    this.#paramCount = 0;
    this.#bigParams = undefined;
    this.#bigResults = undefined;
    this.#writeCount = 0;
    this.#byteCount = 0;
    this.#timeRuns = 0;
    this.#lastTime = NaN;
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  /**
   * Copies `len` bytes the host just wrote at `ptr` (found at `from` of `memory`: by default at
   * `ptr`, the whole guest memory); they belong to the next call recorded.
   */
  captureWrite(ptr: number, len: number, memory: Uint8Array, from = ptr): void {
    const w = this.#writeCount;
    const at = this.#byteCount;
    if (w + 2 > this.#writePtr.length || at + len > this.#bytes.length) this.#growWrites(w + 2, at + len);
    this.#writePtr[w] = ptr;
    this.#writeOffset[w] = at;
    const bytes = this.#bytes;
    // Most writes are a few bytes (an errno-sized result, a length): a loop beats making a view.
    if (len <= 16) for (let k = 0; k < len; k += 1) bytes[at + k] = memory[from + k]!;
    else TraceChunk.#copy(bytes, at, memory, from, len);
    this.#byteCount = at + len;
    this.#writeOffset[w + 1] = at + len;
    this.#writeCount = w + 1;
  }

  static #copy(bytes: Uint8Array, at: number, memory: Uint8Array, ptr: number, len: number): void {
    bytes.set(memory.subarray(ptr, ptr + len), at);
  }

  // Growth is kept out of the recording methods: V8 inlines a method whole or not at all, and the
  // syscall hot path inlines these only while they are small.
  #growWrites(writes: number, bytes: number): void {
    this.#writePtr = grown(this.#writePtr, writes);
    this.#writeOffset = grown(this.#writeOffset, writes);
    this.#bytes = grown(this.#bytes, bytes);
  }

  /** Forgets writes captured since the last recorded call. */
  discardPendingWrites(): void {
    const committed = this.#writeStart[this.count]!;
    this.#writeCount = committed;
    this.#byteCount = committed === 0 ? 0 : this.#writeOffset[committed]!;
  }

  /** Appends one call; the writes captured since the previous one are its writes. */
  add(
    syscallId: number,
    decision: Decision,
    executed: boolean,
    args: Readonly<Record<string, SyscallArg>> | LazyTraceArgs,
    lazyArgs: boolean,
    params: readonly (number | bigint)[],
    result: number | bigint | undefined,
    durationNs: number,
    time: number,
    outcome: TraceEvent['outcome'],
  ): void {
    const i = this.count;
    let flags =
      (executed ? EXECUTED : 0) | (lazyArgs ? LAZY_ARGS : 0) | (outcomeCode(outcome) << OUTCOME_SHIFT);
    if (result === undefined) flags |= NO_RESULT;
    else if (typeof result === 'bigint') {
      flags |= BIG_RESULT;
      (this.#bigResults ??= new Map()).set(i, result);
    } else this.#results[i] = result;
    this.#ids[i] = syscallId;
    this.#flags[i] = flags;
    this.#durations[i] = durationNs;
    if (time !== this.#lastTime) this.#newTime(i, time);
    this.#decisions[i] = decision;
    this.#args[i] = args;
    this.#addParams(i, params);
    this.#writeStart[i + 1] = this.#writeCount;
    this.count = i + 1;
  }

  /**
   * Appends one untimed call of a template (`template` is its index in the recorder's list): the
   * hot path of a call whose decision was reused. Stores no decision, arguments, flags or duration:
   * the template has them, and the duration is -1.
   */
  addTemplated(template: number, params: readonly (number | bigint)[], result: number, time: number): void {
    const i = this.count;
    this.#ids[i] = -1 - template;
    this.#results[i] = result;
    if (time !== this.#lastTime) this.#newTime(i, time);
    this.#addParams(i, params);
    this.#writeStart[i + 1] = this.#writeCount;
    this.count = i + 1;
  }

  #param(at: number, value: number | bigint): void {
    if (typeof value === 'number') this.#params[at] = value;
    else this.#bigParam(at, value);
  }

  /** Events from `i` on happened at `time` (until the next run). */
  #newTime(i: number, time: number): void {
    const r = this.#timeRuns;
    if (r === this.#timeAt.length) {
      this.#timeAt = grown(this.#timeAt, r + 1);
      this.#timeValue = grown(this.#timeValue, r + 1);
    }
    this.#timeAt[r] = i;
    this.#timeValue[r] = time;
    this.#timeRuns = r + 1;
    this.#lastTime = time;
  }

  /** The wall time of the event at `index`: that of the last run starting at or before it. */
  #timeOf(index: number): number {
    let lo = 0;
    let hi = this.#timeRuns - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#timeAt[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.#timeValue[lo]!;
  }

  #addParams(i: number, params: readonly (number | bigint)[]): void {
    const p = this.#paramCount;
    const n = params.length;
    if (p + n > this.#params.length) this.#growParams(p + n);
    for (let k = 0; k < n; k += 1) this.#param(p + k, params[k]!);
    this.#paramCount = p + n;
    this.#paramStart[i + 1] = p + n;
  }

  #growParams(need: number): void {
    this.#params = grown(this.#params, need);
  }

  #bigParam(at: number, value: bigint): void {
    (this.#bigParams ??= new Map()).set(at, value);
  }

  /** The chunk's row area (allocated on first use), where a TraceStage writes rows from `count` on. */
  rowArea(): Float64Array {
    return (this.#rows ??= new Float64Array(this.capacity * STAGE_ROW));
  }

  /**
   * The `count` rows written into the row area from this chunk's `count` on (TraceStage's layout)
   * are calls at `time`; the chunk must have room. Writes captured and not yet recorded stay pending
   * for the next call recorded.
   */
  commitRows(count: number, time: number): void {
    const i = this.count;
    this.#ids.fill(ROW_EVENT, i, i + count);
    this.#paramStart.fill(this.#paramCount, i + 1, i + count + 1);
    this.#writeStart.fill(this.#writeStart[i]!, i + 1, i + count + 1);
    if (time !== this.#lastTime) this.#newTime(i, time);
    this.count = i + count;
  }

  /** Appends an event that arrived whole (from another thread, or a test). */
  addEvent(syscallId: number, event: TraceEvent): void {
    this.discardPendingWrites();
    const i = this.count;
    this.#ids[i] = syscallId;
    this.#flags[i] = WHOLE_EVENT;
    this.#args[i] = event;
    this.#decisions[i] = undefined;
    this.#paramStart[i + 1] = this.#paramCount;
    this.#writeStart[i + 1] = this.#writeCount;
    this.count = i + 1;
  }

  /** The event at `index` (0-based within this chunk), built now. */
  event(index: number, syscalls: readonly string[], templates: readonly TraceTemplate[]): TraceEvent {
    const id = this.#ids[index]!;
    if (id === ROW_EVENT) return this.#rowEvent(index, syscalls, templates);
    const template = id < 0 ? templates[-1 - id]! : undefined;
    const flags = template === undefined ? this.#flags[index]! : EXECUTED | LAZY_ARGS;
    if ((flags & WHOLE_EVENT) !== 0) return this.#args[index] as TraceEvent;
    const params: (number | bigint)[] = [];
    for (let k = this.#paramStart[index]!; k < this.#paramStart[index + 1]!; k += 1) {
      params.push(this.#bigParams?.get(k) ?? this.#params[k]!);
    }
    const stored = template === undefined ? this.#args[index] : template.args;
    const args =
      (flags & LAZY_ARGS) !== 0
        ? (stored as LazyTraceArgs).decodeArgs(params)
        : (stored as Readonly<Record<string, SyscallArg>>);
    const decision = template === undefined ? this.#decisions[index]! : template.decision;
    const result =
      (flags & NO_RESULT) !== 0
        ? null
        : (flags & BIG_RESULT) !== 0
          ? this.#bigResults!.get(index)!.toString()
          : this.#results[index]!;
    const event: { -readonly [K in keyof TraceEvent]: TraceEvent[K] } = {
      seq: this.firstSeq + index,
      syscall: syscalls[template === undefined ? id : template.syscallId]!,
      args,
      params,
      action: decision.action,
      executed: (flags & EXECUTED) !== 0,
      reasons: decision.reasons,
      result,
      durationNs: template === undefined ? this.#durations[index]! : -1,
      time: this.#timeOf(index),
    };
    const from = this.#writeStart[index]!;
    const to = this.#writeStart[index + 1]!;
    if (to > from) {
      const writes: MemoryWrite[] = [];
      for (let w = from; w < to; w += 1) {
        const bytes = this.#bytes.subarray(this.#writeOffset[w]!, this.#writeOffset[w + 1]!);
        writes.push({ ptr: this.#writePtr[w]!, bytes: toBase64(bytes) });
      }
      event.writes = writes;
    }
    const outcome = outcomes[flags >>> OUTCOME_SHIFT];
    if (outcome !== undefined) event.outcome = outcome;
    return event;
  }

  /** The event at `index`, held as a row: an untimed, allowed call of its template. */
  #rowEvent(index: number, syscalls: readonly string[], templates: readonly TraceTemplate[]): TraceEvent {
    const rows = this.#rows!;
    const r = index * STAGE_ROW;
    const template = templates[rows[r + ROW_TEMPLATE]!]!;
    const params: number[] = [];
    for (let k = 0; k < template.arity; k += 1) params.push(rows[r + ROW_PARAMS + k]!);
    const event: { -readonly [K in keyof TraceEvent]: TraceEvent[K] } = {
      seq: this.firstSeq + index,
      syscall: syscalls[template.syscallId]!,
      args: template.args.decodeArgs(params),
      params,
      action: template.decision.action,
      executed: true,
      reasons: template.decision.reasons,
      result: rows[r + ROW_RESULT]!,
      durationNs: -1,
      time: this.#timeOf(index),
    };
    if (rows[r + ROW_WRITE_LEN]! > 0) {
      unpackWrite(rows, r, rowWrite);
      const written = rowWrite.subarray(0, rows[r + ROW_WRITE_LEN]!);
      event.writes = [{ ptr: rows[r + ROW_WRITE_PTR]!, bytes: toBase64(written) }];
    }
    return event;
  }
}
