import type { Decision, Enforcement, SyscallArg } from '@forgeone/common';
import type { CallRecorder, LazyTraceArgs, RecordedSyscall } from '@forgeone/observer';
import type { SyscallContext, SyscallDefinition, SyscallInvocation, WasmValue } from './syscallDefinition';

type Args = Readonly<Record<string, SyscallArg>>;

/** A decision the gate stopped asking for: the enforcer promised it for every call of a syscall. */
export interface ReusedDecision {
  readonly enforcement: Enforcement;
  readonly decision: Decision;
  /**
   * Arguments need not be decoded to decide or to trace (the definition's `pureDecode`, and no
   * quarantine to apply): calls may take the hot path, recorded by `template`.
   */
  readonly lazy: boolean;
  /** The recorder's number for the calls of the hot path (CallRecorder.hot); -1 when not `lazy`. */
  readonly template: number;
}

/**
 * What the gate keeps per import, built once at link time: the hot path looks nothing up by name.
 * Its state is three facts: the decision it reuses (if any), whether every call is timed, and
 * whether a call is in progress; `hot` is derived from the first two.
 */
export class GateSlot implements LazyTraceArgs {
  /** The enforcer's answer for every call of the syscall, once it promised one (decisionReuse.ts). */
  reused: ReusedDecision | undefined;
  /** Every call is timed: the first call, a call that may block, or one whose last timed call was slow. */
  timedEveryCall = true;
  /**
   * A call may take the hot import path: its decision is reused with lazily decoded arguments, and
   * it is not timed every call. Kept in step by `update`.
   */
  hot = false;
  /** The recorder's number for the calls of the hot path (the reused decision's template), or -1. */
  template = -1;
  /** A call of this slot is in progress (its params array and invocation are taken). */
  busy = false;
  /** The syscall as the recorder knows it. */
  readonly recorded: RecordedSyscall;
  readonly invocation: LazyInvocation;
  /** Filled by the fixed-arity imports (a call's params are copied by the trace, never kept). */
  readonly params: WasmValue[];

  constructor(
    readonly definition: SyscallDefinition,
    readonly context: SyscallContext,
    recorder: CallRecorder,
  ) {
    this.invocation = new LazyInvocation(context, definition);
    this.params = new Array<WasmValue>(definition.params.length).fill(0);
    this.recorded = recorder.syscall(definition.syscall, this, this.params.length);
  }

  /** Sets `hot` and `template` from the reused decision and the timing. */
  update(): void {
    const reused = this.reused;
    this.hot = reused !== undefined && reused.lazy && !this.timedEveryCall;
    this.template = reused === undefined ? -1 : reused.template;
  }

  /** The params array for a call of up to four params (a fresh one when a call is in progress). */
  take(a: WasmValue, b: WasmValue, c: WasmValue, d: WasmValue): WasmValue[] {
    const params = this.busy ? new Array<WasmValue>(this.params.length) : this.params;
    const n = params.length;
    if (n > 0) params[0] = a;
    if (n > 1) params[1] = b;
    if (n > 2) params[2] = c;
    if (n > 3) params[3] = d;
    return params;
  }

  decodeArgs(params: readonly WasmValue[]): Args {
    return this.definition.decode(params, this.context.memory);
  }
}

/**
 * The invocation of a call whose arguments were not decoded yet: decoded on first read. Each slot
 * keeps one and points it at the call in progress (an invocation is valid only during `execute`);
 * a call re-entering the same slot gets its own.
 */
export class LazyInvocation implements SyscallInvocation {
  args: readonly WasmValue[] = [];
  #decoded: Args | undefined;
  constructor(
    readonly context: SyscallContext,
    readonly definition: SyscallDefinition,
  ) {}

  reset(args: readonly WasmValue[]): this {
    this.args = args;
    this.#decoded = undefined;
    return this;
  }

  get decoded(): Args {
    return (this.#decoded ??= this.definition.decode(this.args, this.context.memory));
  }
}
