import {
  ForgeError,
  type Clock,
  type Decision,
  type Enforcement,
  type KernelEventBus,
  type SyscallArg,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import type {
  DnaSlot,
  DnaTracker,
  LazyTraceArgs,
  TraceEvent,
  TraceRecorder,
  TraceStage,
} from '@forgeone/observer';
import { GuestFault, type GuestMemory } from './guestMemory';
import { HotState, hotImport, hotShape, type HotShape, type HotSlot } from './hotImport';
import {
  GuestExit,
  exitDeniedError,
  type SyscallContext,
  type SyscallDefinition,
  type SyscallInvocation,
  type WasmValue,
} from './syscallDefinition';

/** Bounds on how fast a guest may call the host. */
export interface SyscallRateLimit {
  /** Sustained calls per second. */
  readonly perSecond: number;
  /** Calls allowed in one window of `burst / perSecond` seconds. Default `perSecond`. */
  readonly burst?: number;
}

export interface SyscallGateOptions {
  /** Asks the policy, applies the mode and actions, keeps the audit trail. */
  readonly enforcer: SyscallEnforcerPort;
  readonly context: SyscallContext;
  readonly recorder: TraceRecorder;
  readonly dna: DnaTracker;
  readonly clock: Clock;
  /** Record the bytes the host writes into guest memory (needed for replay). Default true. */
  readonly recordWrites?: boolean;
  readonly events?: KernelEventBus;
  /** Suspends the guest when the enforcer quarantines it (worker isolation blocks here until release). */
  readonly onQuarantine?: (reason: string) => void;
  /** Stops a guest that calls faster than this (FORGE_LIMIT_SYSCALL_RATE). Default: no limit. */
  readonly rateLimit?: SyscallRateLimit;
  /**
   * Runs before each call; may block (a pause) or throw a ForgeError (a deadline) to stop the guest.
   * Worker isolation uses it for pause; inline isolation for its syscall-boundary deadline.
   */
  readonly checkpoint?: () => void;
  /**
   * Runs after each call the gate took on its general path (a denied call, a timed call, one that
   * ended the guest): worker isolation hands the calls recorded so far to the main thread there, so
   * a guest that then spins until its deadline loses none of them. Hot calls between two general
   * ones are handed over with the next (at most one duration-sampling period later).
   */
  readonly afterCall?: () => void;
  /**
   * Time one call in every N (across the guest's calls): that call records its host duration, the
   * calls between record `durationNs: -1`. A syscall's first call, a syscall whose last timed call
   * took {@link SLOW_CALL_NS} or more, a call that may block (`SyscallDefinition.blocking`) and a
   * call that is not allowed are timed every time: only calls known to be fast go untimed, and for
   * those a clock read (~30–200 ns) costs more than the call. Default 128; 1 times every call.
   * Every call's wall time is fresh when the clock has `coarseNow` (the system clock does);
   * otherwise it is read on timed calls, and the calls between carry the last one read.
   */
  readonly durationSampling?: number;
}

/**
 * A syscall whose timed call took at least this long is timed on every call: reading the clocks
 * costs it only a few percent.
 */
export const SLOW_CALL_NS = 5_000;
const DEFAULT_DURATION_SAMPLING = 128;
/**
 * A slot gets an import of its own (see `hotImport`) after this many hot calls: compiling one costs
 * about as much as a few thousand calls save.
 */
const OWN_IMPORT_AFTER = 4_096;

type Args = Readonly<Record<string, SyscallArg>>;

/** What the gate keeps per import, built once: the hot path looks nothing up by name. */
class GateSlot implements LazyTraceArgs, HotSlot {
  /** The enforcer's answer, when it promised the same for every call (Enforcement.reusableBy). */
  reused: Enforcement | undefined;
  /** Reused decision and lazily decoded arguments: an untimed call takes the gate's fast path. */
  fast = false;
  /** Every call is timed: the first call, a call that may block, or one whose last timed call was slow. */
  timeAlways = true;
  /** `fast` and not `timeAlways`: a call may take the import's hot path (while the gate's budget lasts). */
  hot = false;
  /** The trace template of its fast calls (TraceRecorder.template), once `fast`. */
  template = -1;
  /** A call of this slot is in progress (its params array and invocation are taken). */
  busy = false;
  /** The slot's own compiled import, once it has been busy (OWN_IMPORT_AFTER): its calls go there. */
  own: ((...args: WasmValue[]) => WasmValue | undefined) | undefined;
  untilOwn = OWN_IMPORT_AFTER;
  readonly dna: DnaSlot;
  readonly invocation: LazyInvocation;
  /** Filled by the fixed-arity wrappers (a call's params are copied by the trace, never kept). */
  readonly params: WasmValue[];
  constructor(
    readonly definition: SyscallDefinition,
    readonly traceId: number,
    readonly context: SyscallContext,
    dna: DnaTracker,
  ) {
    this.invocation = new LazyInvocation(context, definition);
    this.dna = dna.slot(definition.syscall);
    this.params = new Array<WasmValue>(definition.params.length).fill(0);
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
class LazyInvocation implements SyscallInvocation {
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

/**
 * The one enforcement point (PEP) every guest import goes through: decide, enforce, execute,
 * record, learn. Capabilities are plain SyscallDefinitions; none can bypass this path because the
 * only way to reach the guest is `imports()`.
 */
export class SyscallGate {
  readonly #enforcer: SyscallEnforcerPort;
  readonly #context: SyscallContext;
  readonly #recorder: TraceRecorder;
  readonly #dna: DnaTracker;
  readonly #clock: Clock;
  /** The clock has `coarseNow`: every call is stamped with a fresh wall time, and timing needs no `now()`. */
  readonly #coarse: boolean;
  readonly #events: KernelEventBus | undefined;
  readonly #onQuarantine: ((reason: string) => void) | undefined;
  readonly #checkpoint: (() => void) | undefined;
  readonly #afterCall: (() => void) | undefined;
  readonly #sampling: number;
  #clockCountdown = 0;
  /** What the generated hot imports read and write (`hot.budget` counts their calls down). */
  readonly #hot: HotState<GateSlot>;
  /** What the hot imports of this gate may take as fixed (hotShape). */
  readonly #shape: HotShape;
  /** `#hot.budget` when last set (`#rebudget`): the hot calls since are the difference. */
  #budgetStart = 0;
  /** How the guest asked to end (an exit, or a denied exit): re-thrown on any later call. */
  #exit: GuestExit | ForgeError | undefined;
  // Rate limit: calls counted per window; the clock is read once per window, not per call.
  readonly #windowCalls: number;
  readonly #windowNs: bigint;
  #windowLeft = 0;
  #windowStart = 0n;
  #windowOpen = false;
  readonly #slots = new Map<SyscallDefinition, GateSlot>();
  // Host writes of the call in progress go to the recorder's stage (undefined: not kept).
  readonly #writeSink: TraceStage | undefined;

  constructor(options: SyscallGateOptions) {
    this.#enforcer = options.enforcer;
    this.#context = options.context;
    this.#recorder = options.recorder;
    this.#dna = options.dna;
    this.#clock = options.clock;
    this.#coarse = options.clock.coarseNow !== undefined;
    // The recorder's stage takes every call's writes (one sink for the hot and the general path: the
    // memory's write call site stays monomorphic); it hands them to the recorder as needed.
    this.#writeSink = (options.recordWrites ?? true) ? options.recorder.stage() : undefined;
    this.#events = options.events;
    this.#onQuarantine = options.onQuarantine;
    this.#checkpoint = options.checkpoint;
    this.#afterCall = options.afterCall;
    this.#sampling = Math.max(1, Math.floor(options.durationSampling ?? DEFAULT_DURATION_SAMPLING));
    const rate = options.rateLimit;
    if (rate !== undefined) {
      if (!(rate.perSecond > 0)) throw new RangeError('rateLimit.perSecond must be > 0');
      this.#windowCalls = Math.max(1, Math.floor(rate.burst ?? rate.perSecond));
      this.#windowNs = BigInt(Math.ceil((this.#windowCalls / rate.perSecond) * 1e9));
    } else {
      this.#windowCalls = 0;
      this.#windowNs = 0n;
    }
    this.#hot = new HotState(this.#context.memory, this.#writeSink, this.#recorder, this.#dna, this.#clock, {
      checkpoint: this.#checkpoint,
      events: this.#events,
      slow: (slot, params) => this.#call(slot, params),
      stamp: (now) => this.#stamp(now),
      thrown: (slot, params, error) =>
        this.#thrown(slot, undefined, params, undefined, slot.reused!.decision, error),
      untimed: (slot, params, result) => this.#untimed(slot, params, result),
      own: (slot) => this.#ownImport(slot),
    });
    this.#shape = hotShape(this.#hot);
  }

  /** Set once the guest asked to exit; the exit is re-thrown on any later call. */
  get exit(): GuestExit | ForgeError | undefined {
    return this.#exit;
  }

  /** The import object for a set of definitions: one wrapper function per definition. */
  imports(definitions: readonly SyscallDefinition[]): WebAssembly.Imports {
    const imports: Record<string, Record<string, (...args: WasmValue[]) => WasmValue | undefined>> = {};
    for (const definition of definitions) {
      const namespace = (imports[definition.module] ??= {});
      if (Object.hasOwn(namespace, definition.name)) {
        throw new RangeError(`two definitions for import ${definition.module}.${definition.name}`);
      }
      namespace[definition.name] = this.#wrapper(this.#slot(definition));
    }
    return imports;
  }

  /** Runs one guest call through the gate and returns what the guest gets. */
  call(definition: SyscallDefinition, args: readonly WasmValue[]): WasmValue | undefined {
    return this.#call(this.#slot(definition), args);
  }

  #slot(definition: SyscallDefinition): GateSlot {
    let slot = this.#slots.get(definition);
    if (slot === undefined) {
      const traceId = this.#recorder.syscallId(definition.syscall);
      slot = new GateSlot(definition, traceId, this.#context, this.#dna);
      this.#slots.set(definition, slot);
    }
    return slot;
  }

  /**
   * The function the guest imports. Up to four params it is generated for the syscall
   * ({@link hotImport}): it declares exactly the import's arity, so V8 calls it without adapting
   * arguments, and takes the hot path itself. Otherwise, or where code cannot be generated, every
   * call goes through `#call` (which takes the same path through `#fastCall`, a little slower).
   */
  #wrapper(slot: GateSlot): (...args: WasmValue[]) => WasmValue | undefined {
    const factory = slot.params.length <= 4 ? hotImport(slot.params.length, this.#shape) : undefined;
    if (factory !== undefined) return factory(this.#hot, slot, slot.params);
    return (...args: WasmValue[]) => this.#call(slot, args);
  }

  /**
   * Compiles the slot's own import (`hotImport`), which the one the guest has hands its calls to.
   * Called once per slot, by its shared import (only slots of up to four params have one).
   */
  #ownImport(slot: GateSlot): void {
    const factory = hotImport(slot.params.length, this.#shape, true);
    if (factory !== undefined) slot.own = factory(this.#hot, slot, slot.params);
  }

  /** Records an untimed call of a fast slot (by template when it returned a number) and learns from it. */
  #untimed(slot: GateSlot, params: readonly WasmValue[], result: WasmValue | undefined): void {
    if (typeof result === 'number') this.#recorder.recordTemplated(slot.template, params, result);
    else this.#recorder.recordCall(slot.traceId, slot.reused!.decision, true, slot, true, params, result, -1);
    this.#dna.observeSlot(slot.dna, false);
    if (this.#events !== undefined && this.#events.hasListeners('syscall.decided')) {
      this.#emitDecided(slot, undefined, params, slot.reused!.decision, true);
    }
  }

  /** Takes the hot calls made since the last `#rebudget` into the timing and rate counters. */
  #sync(): void {
    const used = this.#budgetStart - Math.max(this.#hot.budget, 0);
    this.#clockCountdown -= used;
    this.#windowLeft -= used;
    this.#hot.budget = 0;
    this.#budgetStart = 0;
  }

  /** Hot calls may go on until the next timed call or the end of the rate window (none after an exit). */
  #rebudget(): void {
    let budget = this.#exit === undefined ? this.#clockCountdown : 0;
    if (this.#windowCalls > 0 && this.#windowLeft < budget) budget = this.#windowLeft;
    budget = Math.max(0, budget);
    this.#hot.budget = budget;
    this.#budgetStart = budget;
  }

  #call(slot: GateSlot, args: readonly WasmValue[]): WasmValue | undefined {
    this.#sync();
    try {
      // A guest built with exception handling can catch our exit unwinding; it never gets to run on.
      if (this.#exit !== undefined) throw this.#exit;
      if (this.#checkpoint !== undefined) this.#checkpoint();
      if (this.#windowCalls > 0 && --this.#windowLeft < 0) this.#checkRate(slot, args);
      if (this.#coarse) {
        const now = this.#clock.coarseNow!();
        if (now !== this.#hot.time) this.#stamp(now);
      }
      // Only timed calls read the clocks (a clock read costs more than the rest of a cheap call).
      const timed = --this.#clockCountdown < 0 || slot.timeAlways;
      if (slot.fast && !slot.busy) return this.#fastCall(slot, args, timed);
      return this.#fullCall(slot, args, timed ? this.#startClock() : undefined);
    } finally {
      this.#sync();
      this.#rebudget();
      if (this.#afterCall !== undefined) this.#afterCall();
    }
  }

  /**
   * Reads the clocks for a timed call: without a coarse clock, also sets the wall time of the calls
   * from now on. Returns the start.
   */
  #startClock(): bigint {
    this.#clockCountdown = this.#sampling - 1;
    if (!this.#coarse) this.#stamp(this.#clock.now());
    return this.#clock.monotonicNs();
  }

  /**
   * Sets the write sink for a call of the general path: its writes go straight to the recorder
   * (the stage's direct mode), which records the call with them; only hot calls keep theirs in a row.
   */
  #sinkDirect(memory: GuestMemory): void {
    const stage = this.#writeSink;
    if (stage !== undefined) stage.goDirect();
    memory.writeSink = stage;
  }

  /** The wall time of the calls from now on (trace and DNA). */
  #stamp(now: number): void {
    this.#hot.time = now;
    this.#recorder.stamp(now);
    this.#dna.stamp(now);
  }

  /**
   * A call whose decision was reused and whose arguments decode lazily: execute, record (by
   * template when untimed), learn. Nothing is allocated and nothing looked up.
   */
  #fastCall(slot: GateSlot, args: readonly WasmValue[], timed: boolean): WasmValue | undefined {
    const started = timed ? this.#startClock() : 0n;
    const memory = this.#context.memory;
    this.#sinkDirect(memory);
    slot.busy = true;
    let result: WasmValue | undefined;
    try {
      result = slot.definition.execute(slot.invocation.reset(args));
    } catch (error) {
      return this.#thrown(slot, timed ? started : undefined, args, undefined, slot.reused!.decision, error);
    } finally {
      memory.writeSink = undefined;
      slot.busy = false;
    }
    if (timed) this.#finish(slot, started, args, undefined, slot.reused!.decision, true, result, undefined);
    else this.#untimed(slot, args, result);
    return result;
  }

  /** Every other call: decode, decide (unless reused), execute, record, learn; timed when `started` is set. */
  #fullCall(slot: GateSlot, args: readonly WasmValue[], started: bigint | undefined): WasmValue | undefined {
    const definition = slot.definition;
    if (definition.blocking === true) this.#clockCountdown = 0;
    const memory = this.#context.memory;

    // Decoded arguments are needed to decide, and for the trace unless they can be decoded later
    // from the raw params (SyscallDefinition.pureDecode): a reused decision skips both.
    let enforcement = slot.reused;
    let decoded: Args | undefined;
    if (enforcement === undefined || definition.pureDecode !== true) {
      try {
        decoded = definition.decode(args, memory);
      } catch (error) {
        if (!(error instanceof GuestFault)) throw error;
        const decision: Decision = {
          action: 'deny',
          reasons: [{ policy: 'gate', message: `bad guest pointer: ${error.message}` }],
        };
        const result = definition.faultResult;
        this.#finish(slot, started, args, {}, decision, false, result, 'fault');
        return result;
      }
    }
    if (enforcement === undefined) {
      enforcement = this.#enforcer.enforce({
        containerId: this.#context.containerId,
        identity: this.#context.identity,
        syscall: definition.syscall,
        args: decoded!,
        time: this.#hot.time,
      });
      if (enforcement.reusableBy === this.#enforcer && enforcement.execute) this.#reuse(slot, enforcement);
      if (enforcement.decision.action !== 'allow') this.#clockCountdown = 0;
      if (!enforcement.execute) {
        if (definition.exits === true) this.#deniedExit(slot, started, args, decoded!, enforcement.decision);
        const result = definition.deniedResult;
        this.#finish(slot, started, args, decoded!, enforcement.decision, false, result, undefined);
        this.#quarantineIfAsked(enforcement);
        return result;
      }
    }
    const { decision } = enforcement;

    this.#sinkDirect(memory);
    // While the call runs the slot's params array and invocation are taken: a call re-entering the
    // same import gets its own.
    const outerBusy = slot.busy;
    slot.busy = true;
    let result: WasmValue | undefined;
    try {
      if (decoded !== undefined) result = definition.execute({ context: this.#context, args, decoded });
      else {
        const invocation = outerBusy ? new LazyInvocation(this.#context, definition) : slot.invocation;
        result = definition.execute(invocation.reset(args));
      }
    } catch (error) {
      return this.#thrown(slot, started, args, decoded, decision, error);
    } finally {
      memory.writeSink = undefined;
      slot.busy = outerBusy;
    }
    this.#finish(slot, started, args, decoded, decision, true, result, undefined);
    this.#quarantineIfAsked(enforcement);
    return result;
  }

  /** The enforcer promised this answer for every call of the slot's syscall: stop asking it. */
  #reuse(slot: GateSlot, enforcement: Enforcement): void {
    slot.reused = enforcement;
    if (slot.definition.pureDecode === true && enforcement.quarantine === undefined) {
      const arity = slot.params.length;
      slot.template = this.#recorder.template(
        slot.traceId,
        enforcement.decision,
        slot,
        arity <= 4 ? arity : 0,
      );
      this.#hot.stage.teach(slot.template, this.#dna, slot.dna);
      slot.fast = true;
      slot.hot = !slot.timeAlways;
    }
  }

  /** An executed call threw: a bad pointer answers the guest's fault errno; an exit is recorded and unwinds. */
  #thrown(
    slot: GateSlot,
    started: bigint | undefined,
    args: readonly WasmValue[],
    decoded: Args | undefined,
    decision: Decision,
    error: unknown,
  ): WasmValue | undefined {
    if (error instanceof GuestFault) {
      const fault = slot.definition.faultResult;
      this.#finish(slot, started, args, decoded, decision, true, fault, 'fault');
      return fault;
    }
    if (error instanceof GuestExit) {
      this.#exit = error;
      this.#sync();
      this.#finish(slot, started, args, decoded, decision, true, error.exitCode, 'exit');
    }
    throw error;
  }

  /**
   * A denied call that ends the guest (proc_exit) still ends it: it asked to stop, and a call that
   * does not return cannot be answered. Recorded as the exit it asked for (its code as the result),
   * not executed; the guest is unwound as a policy violation (and stays stopped if it catches it).
   */
  #deniedExit(
    slot: GateSlot,
    started: bigint | undefined,
    args: readonly WasmValue[],
    decoded: Args,
    decision: Decision,
  ): never {
    const exitCode = Number(args[0]) >>> 0;
    const error = exitDeniedError(slot.definition.syscall, exitCode, decision.reasons[0]?.message);
    this.#exit = error;
    this.#sync();
    this.#finish(slot, started, args, decoded, decision, false, exitCode, 'exit');
    throw error;
  }

  /** A window's calls are used up: start a new window, or stop the guest if it came too soon. */
  #checkRate(slot: GateSlot, args: readonly WasmValue[]): void {
    const now = this.#clock.monotonicNs();
    if (this.#windowOpen && now - this.#windowStart < this.#windowNs) {
      const perSecond = Number((BigInt(this.#windowCalls) * 1_000_000_000n) / this.#windowNs);
      const message = `syscall rate limit: more than ${this.#windowCalls} calls in ${Number(this.#windowNs) / 1e6} ms (${perSecond}/s)`;
      const decision: Decision = {
        action: 'deny',
        reasons: [{ policy: 'limits', rule: 'syscallRate', message }],
      };
      this.#finish(slot, undefined, args, {}, decision, false, slot.definition.deniedResult, 'limit');
      throw new ForgeError('FORGE_LIMIT_SYSCALL_RATE', `guest stopped: ${message}`, {
        details: { limit: 'syscallRate', max: perSecond },
      });
    }
    this.#windowOpen = true;
    this.#windowStart = now;
    this.#windowLeft = this.#windowCalls - 1;
  }

  /**
   * A quarantine stops the guest before it runs again: the hook (worker isolation) suspends it until
   * release; without one the guest is unwound with FORGE_CONTAINER_QUARANTINED.
   */
  #quarantineIfAsked(enforcement: Enforcement): void {
    const reason = enforcement.quarantine;
    if (reason === undefined) return;
    this.#events?.emit('container.quarantined', { containerId: this.#context.containerId, reason });
    if (this.#onQuarantine) {
      this.#onQuarantine(reason);
      return;
    }
    throw new ForgeError('FORGE_CONTAINER_QUARANTINED', `container quarantined: ${reason}`, {
      details: { containerId: this.#context.containerId },
    });
  }

  /**
   * Records the call (decoded `undefined`: decode from its params when the trace is read) and learns
   * from it; a timed call (`started`) decides whether the slot's later calls are timed every time.
   */
  #finish(
    slot: GateSlot,
    started: bigint | undefined,
    params: readonly WasmValue[],
    decoded: Args | undefined,
    decision: Decision,
    executed: boolean,
    result: WasmValue | undefined,
    outcome: TraceEvent['outcome'],
  ): void {
    let durationNs = -1;
    if (started !== undefined) {
      durationNs = Number(this.#clock.monotonicNs() - started);
      slot.timeAlways = slot.definition.blocking === true || durationNs >= SLOW_CALL_NS;
      slot.hot = slot.fast && !slot.timeAlways;
    }
    if (
      durationNs < 0 &&
      slot.fast &&
      decoded === undefined &&
      executed &&
      outcome === undefined &&
      typeof result === 'number'
    ) {
      this.#recorder.recordTemplated(slot.template, params, result);
    } else {
      this.#recorder.recordCall(
        slot.traceId,
        decision,
        executed,
        decoded ?? slot,
        decoded === undefined,
        params,
        result,
        durationNs,
        outcome,
      );
    }
    this.#dna.observeSlot(slot.dna, decision.action !== 'allow');
    if (this.#events !== undefined && this.#events.hasListeners('syscall.decided')) {
      this.#emitDecided(slot, decoded, params, decision, executed);
    }
  }

  #emitDecided(
    slot: GateSlot,
    decoded: Args | undefined,
    params: readonly WasmValue[],
    decision: Decision,
    executed: boolean,
  ): void {
    this.#events!.emit('syscall.decided', {
      request: {
        containerId: this.#context.containerId,
        identity: this.#context.identity,
        syscall: slot.definition.syscall,
        args: decoded ?? slot.decodeArgs(params),
        time: this.#hot.time,
      },
      decision,
      enforced: !executed,
    });
  }
}
