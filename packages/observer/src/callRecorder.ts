import type { Decision, SyscallArg } from '@forgeone/common';
import { dnaCountsOf, type DnaTracker } from './dnaTracker';
import type { DnaCounts, DnaSlot } from './internal/dnaCounts';
import type { LazyTraceArgs } from './internal/traceColumns';
import type { TraceRing } from './internal/traceRing';
import type { TraceStage } from './internal/traceStage';
import type { TraceEvent } from './traceEvent';
import { traceRingOf, type TraceRecorder } from './traceRecorder';

/** A syscall as a CallRecorder knows it (from `CallRecorder.syscall`, once per import at link time). */
export interface RecordedSyscall {
  readonly name: string;
}

/** One finished call, as the general entry point {@link CallRecorder.record} takes it. */
export interface CallRecord {
  readonly syscall: RecordedSyscall;
  readonly decision: Decision;
  /** The call ran (false: refused, or stopped before it ran). */
  readonly executed: boolean;
  /** Its decoded arguments; undefined: decoded from `params` when the trace is read. */
  readonly args: Readonly<Record<string, SyscallArg>> | undefined;
  /** The raw params (copied, never kept). */
  readonly params: readonly (number | bigint)[];
  readonly result: number | bigint | undefined;
  /** Host time of the call in ns; -1 when it was not timed. */
  readonly durationNs: number;
  readonly outcome: TraceEvent['outcome'];
}

/**
 * Where the host's writes into guest memory during a call go (structurally the guest memory's write
 * sink): a write is kept for replay with the call it belongs to.
 */
export interface WriteCapture {
  captureWrite(ptr: number, len: number, memory: Uint8Array): void;
  captureU32(ptr: number, value: number, memory: Uint8Array): void;
}

export interface CallRecorderOptions {
  /** Keep the bytes the host writes into guest memory (needed for replay). Default true. */
  readonly keepWrites?: boolean;
}

class Syscall implements RecordedSyscall {
  /** Its calls' shared trace template once `hot` registered one; -1 before. */
  template = -1;
  /** The decision of the template. */
  decision: Decision | undefined;
  constructor(
    readonly name: string,
    readonly traceId: number,
    readonly dnaSlot: DnaSlot,
    readonly args: LazyTraceArgs,
    readonly arity: number,
  ) {}
}

/**
 * The one way a gate records and learns a call: each call lands in the trace (TraceRecorder) and
 * in the execution DNA (DnaTracker) together, in the order calls were made.
 *
 * Two entry points. `recordHot` for a call whose shape was fixed at link time (`hot`: a syscall of
 * up to four params whose decision is the same for every call): an untimed, allowed, executed call
 * that returned a number, its params passed one by one; it is staged as a row of a typed array and
 * learned in batches, allocating nothing. `record` for any other call, described by a
 * {@link CallRecord}. Host writes into guest memory go to `writes` while a call runs; a call of the
 * general entry point starts with `beginCall`.
 */
export class CallRecorder {
  readonly #ring: TraceRing;
  readonly #dna: DnaCounts;
  readonly #stage: TraceStage;
  readonly #writes: WriteCapture | undefined;

  constructor(trace: TraceRecorder, dna: DnaTracker, options: CallRecorderOptions = {}) {
    this.#ring = traceRingOf(trace);
    this.#dna = dnaCountsOf(dna);
    this.#stage = this.#ring.stage();
    this.#writes = (options.keepWrites ?? true) ? this.#stage : undefined;
  }

  /** Where host writes into guest memory go during a call; undefined when writes are not kept. */
  get writes(): WriteCapture | undefined {
    return this.#writes;
  }

  /**
   * A syscall whose calls this recorder will record, with `args` decoding a call's arguments from its
   * `arity` raw params when the trace is read.
   */
  syscall(name: string, args: LazyTraceArgs, arity: number): RecordedSyscall {
    return new Syscall(name, this.#ring.syscallId(name), this.#dna.slot(name), args, arity);
  }

  /**
   * Fixes the shape of `syscall`'s calls: every call will have `decision` (the enforcer promised
   * it). Returns the number its calls are recorded by through `recordHot` (up to four params).
   */
  hot(syscall: RecordedSyscall, decision: Decision): number {
    const entry = syscall as Syscall;
    const arity = entry.arity <= 4 ? entry.arity : 0;
    entry.template = this.#ring.template(entry.traceId, decision, entry.args, arity);
    entry.decision = decision;
    this.#stage.teach(entry.template, this.#dna, entry.dnaSlot, arity);
    return entry.template;
  }

  /**
   * The hot entry point: an untimed call of a `hot` syscall (its `template`) that ran and returned
   * `result`, with the first params of `a`, `b`, `c`, `d` (0 for the rest): recorded and learned.
   */
  recordHot(
    template: number,
    result: number,
    arity: number,
    a: number | bigint,
    b: number | bigint,
    c: number | bigint,
    d: number | bigint,
  ): void {
    this.#stage.add(template, result, arity, a, b, c, d);
  }

  /** The next call's writes belong to a call that `record` will record (the general entry point). */
  beginCall(): void {
    if (this.#writes !== undefined) this.#stage.goDirect();
  }

  /** The general entry point: records the call (with the writes captured since it began) and learns it. */
  record(call: CallRecord): void {
    const syscall = call.syscall as Syscall;
    const { decision, result } = call;
    if (
      call.durationNs < 0 &&
      call.args === undefined &&
      call.executed &&
      call.outcome === undefined &&
      typeof result === 'number' &&
      decision === syscall.decision
    ) {
      this.#ring.recordTemplated(syscall.template, call.params, result);
    } else {
      this.#ring.recordCall(
        syscall.traceId,
        decision,
        call.executed,
        call.args ?? syscall.args,
        call.args === undefined,
        call.params,
        result,
        call.durationNs,
        call.outcome,
      );
    }
    this.#dna.observeSlot(syscall.dnaSlot, decision.action !== 'allow');
  }

  /** The wall time (ms since the epoch) of the calls recorded from now on, in the trace and the DNA. */
  stamp(now: number): void {
    this.#ring.stamp(now);
    this.#dna.stamp(now);
  }
}
