import {
  ForgeError,
  type Clock,
  type Decision,
  type Enforcement,
  type KernelEventBus,
  type SyscallArg,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import {
  CallRecorder,
  type CallRecord,
  type DnaTracker,
  type TraceEvent,
  type TraceRecorder,
} from '@forgeone/observer';
import { GateCallTiming } from './callTiming';
import { reuseIfPromised } from './decisionReuse';
import { liveReused, watchRevocations } from './revocationHook';
import { HotCallBudget, type GuestImport, type HotGate } from './hotGate';
import { hotImport } from './hotImport';
import { GateRateWindow, type SyscallRateLimit } from './rateWindow';
import { GateSlot, LazyInvocation } from './gateSlot';
import { GuestFault } from './guestMemory';
import {
  GuestExit,
  exitDeniedError,
  type SyscallContext,
  type SyscallDefinition,
  type WasmValue,
} from './syscallDefinition';

export type { SyscallRateLimit } from './rateWindow';
export { SLOW_CALL_NS } from './callTiming';

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

type Args = Readonly<Record<string, SyscallArg>>;

const NO_PARAMS: readonly WasmValue[] = [];

/** The CallRecord a gate fills for each call of its general path (never kept by the recorder). */
class ScratchRecord implements CallRecord {
  syscall: CallRecord['syscall'] = { name: '' };
  decision: Decision = { action: 'deny', reasons: [] };
  executed = false;
  args: Args | undefined = undefined;
  params: readonly WasmValue[] = NO_PARAMS;
  result: WasmValue | undefined = undefined;
  durationNs = -1;
  outcome: Ending = undefined;
}

/** A call past its decision: what recording it needs besides its result. */
interface DecidedCall {
  readonly slot: GateSlot;
  readonly params: readonly WasmValue[];
  /** When its timing started (a timed call). */
  readonly started: bigint | undefined;
  /** Its decoded arguments; undefined: decoded from its params when the trace is read. */
  readonly args: Args | undefined;
  readonly decision: Decision;
}

/** How a call ended, besides returning normally. */
type Ending = TraceEvent['outcome'];

/**
 * The one enforcement point (PEP) every guest import goes through. Each call takes the gate's five
 * steps: decide (the enforcer, or a decision it promised for every call: decisionReuse.ts),
 * enforce (refuse what is not to run), execute (the definition), record and learn (observer's
 * CallRecorder: trace and DNA together). Capabilities are plain SyscallDefinitions; none can bypass
 * this path because the only way to reach the guest is `imports()`.
 *
 * Calls whose decision is reused take the same steps on a shorter path (hotImport.ts); the rate
 * window (rateWindow.ts) and sampled call timing (callTiming.ts) are counted for them in bulk.
 */
export class SyscallGate {
  readonly #enforcer: SyscallEnforcerPort;
  readonly #context: SyscallContext;
  readonly #recorder: CallRecorder;
  readonly #timing: GateCallTiming;
  readonly #rate: GateRateWindow;
  readonly #hotCalls: HotCallBudget;
  readonly #hot: HotGate;
  readonly #events: KernelEventBus | undefined;
  readonly #onQuarantine: ((reason: string) => void) | undefined;
  readonly #checkpoint: (() => void) | undefined;
  readonly #afterCall: (() => void) | undefined;
  /** How the guest asked to end (an exit, or a denied exit): re-thrown on any later call. */
  #exit: GuestExit | ForgeError | undefined;
  readonly #slots = new Map<SyscallDefinition, GateSlot>();
  readonly #record = new ScratchRecord();

  constructor(options: SyscallGateOptions) {
    this.#enforcer = options.enforcer;
    this.#context = options.context;
    this.#recorder = new CallRecorder(options.recorder, options.dna, {
      keepWrites: options.recordWrites ?? true,
    });
    this.#events = options.events;
    this.#onQuarantine = options.onQuarantine;
    this.#checkpoint = options.checkpoint;
    this.#afterCall = options.afterCall;
    this.#timing = new GateCallTiming(options.clock, this.#recorder, options.durationSampling);
    this.#rate = new GateRateWindow(options.rateLimit, options.clock);
    this.#hotCalls = new HotCallBudget(this.#timing, this.#rate);
    this.#hot = {
      calls: this.#hotCalls,
      timing: this.#timing,
      memory: this.#context.memory,
      writes: this.#recorder.writes,
      recorder: this.#recorder,
      checkpoint: this.#checkpoint,
      events: this.#events,
      general: (slot, params) => this.#call(slot, params),
      threw: (slot, params, error) => this.#threw(this.#reusedCall(slot, params), error),
      finish: (slot, params, result) => this.#finish(this.#reusedCall(slot, params), true, result, undefined),
    };
    // A live policy's swap withdraws the decisions this gate reuses (the enforcer lives as long as the gate).
    watchRevocations(this.#enforcer, this.#slots);
  }

  /** Set once the guest asked to exit; the exit is re-thrown on any later call. */
  get exit(): GuestExit | ForgeError | undefined {
    return this.#exit;
  }

  /** The import object for a set of definitions: one function per definition. */
  imports(definitions: readonly SyscallDefinition[]): WebAssembly.Imports {
    const imports: Record<string, Record<string, GuestImport>> = {};
    for (const definition of definitions) {
      const namespace = (imports[definition.module] ??= {});
      if (Object.hasOwn(namespace, definition.name)) {
        throw new RangeError(`two definitions for import ${definition.module}.${definition.name}`);
      }
      const slot = this.#slot(definition);
      namespace[definition.name] =
        hotImport(this.#hot, slot) ?? ((...args: WasmValue[]) => this.#call(slot, args));
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
      slot = new GateSlot(definition, this.#context, this.#recorder);
      this.#slots.set(definition, slot);
    }
    return slot;
  }

  /**
   * The general path, for every call the hot imports do not take: the guest may still run, and call
   * this fast (rate window); then the five steps, timed when this call's turn came.
   */
  #call(slot: GateSlot, params: readonly WasmValue[]): WasmValue | undefined {
    this.#hotCalls.settle();
    try {
      // A guest built with exception handling can catch our exit unwinding; it never gets to run on.
      if (this.#exit !== undefined) throw this.#exit;
      if (this.#checkpoint !== undefined) this.#checkpoint();
      const tooFast = this.#rate.admit();
      if (tooFast !== undefined) this.#stopTooFast(slot, params, tooFast);
      this.#timing.refresh();
      const started = this.#timing.isTimed(slot) ? this.#timing.start() : undefined;
      return this.#pass(slot, params, started);
    } finally {
      this.#hotCalls.settle();
      this.#hotCalls.grant(this.#exit !== undefined);
      if (this.#afterCall !== undefined) this.#afterCall();
    }
  }

  /** Decide, enforce, execute, record, learn. */
  #pass(slot: GateSlot, params: readonly WasmValue[], started: bigint | undefined): WasmValue | undefined {
    const definition = slot.definition;
    const reused = liveReused(slot);
    if (definition.blocking === true && !(reused !== undefined && reused.lazy && !slot.busy)) {
      this.#timing.timeNext();
    }

    // Decide. Decoded arguments are needed to decide, and for the trace unless they can be decoded
    // later from the raw params (SyscallDefinition.pureDecode): a reused decision skips both.
    let enforcement: Enforcement;
    let args: Args | undefined;
    if (reused !== undefined && definition.pureDecode === true) enforcement = reused.enforcement;
    else {
      args = this.#decode(slot, params, started);
      if (args === undefined) return definition.faultResult;
      enforcement = reused?.enforcement ?? this.#decide(slot, args);
    }
    const call: DecidedCall = { slot, params, started, args, decision: enforcement.decision };

    // Enforce.
    if (!enforcement.execute) {
      if (definition.exits === true) this.#refuseExit(call);
      const result = definition.deniedResult;
      this.#finish(call, false, result, undefined);
      this.#quarantineIfAsked(enforcement);
      return result;
    }

    // Execute; record and learn.
    const result = this.#execute(call);
    this.#quarantineIfAsked(enforcement);
    return result;
  }

  /** The call's decoded arguments; undefined when a pointer was bad (then recorded as refused). */
  #decode(slot: GateSlot, params: readonly WasmValue[], started: bigint | undefined): Args | undefined {
    try {
      return slot.definition.decode(params, this.#context.memory);
    } catch (error) {
      if (!(error instanceof GuestFault)) throw error;
      const decision: Decision = {
        action: 'deny',
        reasons: [{ policy: 'gate', message: `bad guest pointer: ${error.message}` }],
      };
      const call: DecidedCall = { slot, params, started, args: {}, decision };
      this.#finish(call, false, slot.definition.faultResult, 'fault');
      return undefined;
    }
  }

  /** Asks the enforcer; a decision it promises for every call of the syscall is reused from now on. */
  #decide(slot: GateSlot, args: Args): Enforcement {
    const enforcement = this.#enforcer.enforce({
      containerId: this.#context.containerId,
      identity: this.#context.identity,
      syscall: slot.definition.syscall,
      args,
      time: this.#timing.time,
    });
    reuseIfPromised(slot, enforcement, this.#enforcer, this.#recorder);
    if (enforcement.decision.action !== 'allow') this.#timing.timeNext();
    return enforcement;
  }

  /** Runs the definition with the host's writes into guest memory captured, then records the call. */
  #execute(call: DecidedCall): WasmValue | undefined {
    const { slot, params, args } = call;
    const definition = slot.definition;
    const memory = this.#context.memory;
    this.#recorder.beginCall();
    memory.writeSink = this.#recorder.writes;
    // While the call runs the slot's params array and invocation are taken: a call re-entering the
    // same import gets its own.
    const outerBusy = slot.busy;
    slot.busy = true;
    let result: WasmValue | undefined;
    try {
      if (args !== undefined)
        result = definition.execute({ context: this.#context, args: params, decoded: args });
      else {
        const invocation = outerBusy ? new LazyInvocation(this.#context, definition) : slot.invocation;
        result = definition.execute(invocation.reset(params));
      }
    } catch (error) {
      return this.#threw(call, error);
    } finally {
      memory.writeSink = undefined;
      slot.busy = outerBusy;
    }
    this.#finish(call, true, result, undefined);
    return result;
  }

  /** An executed call threw: a bad pointer answers the guest's fault errno; an exit is recorded and unwinds. */
  #threw(call: DecidedCall, error: unknown): WasmValue | undefined {
    if (error instanceof GuestFault) {
      const fault = call.slot.definition.faultResult;
      this.#finish(call, true, fault, 'fault');
      return fault;
    }
    if (error instanceof GuestExit) {
      this.#exit = error;
      this.#hotCalls.settle();
      this.#finish(call, true, error.exitCode, 'exit');
    }
    throw error;
  }

  /**
   * A denied call that ends the guest (proc_exit) still ends it: it asked to stop, and a call that
   * does not return cannot be answered. Recorded as the exit it asked for (its code as the result),
   * not executed; the guest is unwound as a policy violation (and stays stopped if it catches it).
   */
  #refuseExit(call: DecidedCall): never {
    const exitCode = Number(call.params[0]) >>> 0;
    const error = exitDeniedError(call.slot.definition.syscall, exitCode, call.decision.reasons[0]?.message);
    this.#exit = error;
    this.#hotCalls.settle();
    this.#finish(call, false, exitCode, 'exit');
    throw error;
  }

  /** The guest used up a rate window before it ended: recorded as refused, and the guest is stopped. */
  #stopTooFast(slot: GateSlot, params: readonly WasmValue[], message: string): never {
    const decision: Decision = {
      action: 'deny',
      reasons: [{ policy: 'limits', rule: 'syscallRate', message }],
    };
    this.#finish(
      { slot, params, started: undefined, args: {}, decision },
      false,
      slot.definition.deniedResult,
      'limit',
    );
    throw new ForgeError('FORGE_LIMIT_SYSCALL_RATE', `guest stopped: ${message}`, {
      details: { limit: 'syscallRate', max: this.#rate.perSecond },
    });
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
      details: { containerId: this.#context.containerId, reason },
    });
  }

  /** A call of the hot path, untimed, with its reused decision (it has one: it took the hot path). */
  #reusedCall(slot: GateSlot, params: readonly WasmValue[]): DecidedCall {
    const reused = slot.reused;
    if (reused === undefined)
      throw new RangeError(`${slot.definition.syscall}: a hot call without a reused decision`);
    return { slot, params, started: undefined, args: undefined, decision: reused.decision };
  }

  /**
   * Record and learn: the recorder takes the call into the trace and the DNA (a timed call's
   * duration decides whether its syscall's later calls are all timed), then the decided event.
   */
  #finish(call: DecidedCall, executed: boolean, result: WasmValue | undefined, ending: Ending): void {
    const { slot, started } = call;
    // One record object per gate, filled per call: the recorder copies what it keeps.
    const record = this.#record;
    record.syscall = slot.recorded;
    record.decision = call.decision;
    record.executed = executed;
    record.args = call.args;
    record.params = call.params;
    record.result = result;
    record.durationNs = started === undefined ? -1 : this.#timing.stop(slot, started);
    record.outcome = ending;
    this.#recorder.record(record);
    record.args = undefined;
    record.params = NO_PARAMS;
    const events = this.#events;
    if (events !== undefined && events.hasListeners('syscall.decided')) {
      events.emit('syscall.decided', {
        request: {
          containerId: this.#context.containerId,
          identity: this.#context.identity,
          syscall: slot.definition.syscall,
          args: call.args ?? slot.decodeArgs(call.params),
          time: this.#timing.time,
        },
        decision: call.decision,
        enforced: !executed,
      });
    }
  }
}
