import {
  ForgeError,
  type Clock,
  type Decision,
  type Enforcement,
  type KernelEventBus,
  type SyscallArg,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import type { DnaSlot, DnaTracker, LazyTraceArgs, TraceEvent, TraceRecorder } from '@forgeone/observer';
import { GuestFault } from './guestMemory';
import {
  GuestExit,
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
   * Read the clocks on one call in every N: that call records its wall time and host duration; the
   * calls between reuse the last wall time and record `durationNs: -1`. Default 1: every call. On
   * machines where a clock read costs ~100 ns it is most of a call's cost. A call that may block
   * (`SyscallDefinition.blocking`) or is not allowed makes the next call read the clock again.
   */
  readonly durationSampling?: number;
}

type Args = Readonly<Record<string, SyscallArg>>;

/** What the gate keeps per import, built once: the hot path looks nothing up by name. */
class GateSlot implements LazyTraceArgs {
  /** The enforcer's answer, when it promised the same for every call (Enforcement.reusableBy). */
  reused: Enforcement | undefined;
  dna: DnaSlot | undefined;
  readonly invocation: LazyInvocation;
  constructor(
    readonly definition: SyscallDefinition,
    readonly traceId: number,
    readonly context: SyscallContext,
  ) {
    this.invocation = new LazyInvocation(context, definition);
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
  busy = false;
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
  readonly #recordWrites: boolean;
  readonly #events: KernelEventBus | undefined;
  readonly #onQuarantine: ((reason: string) => void) | undefined;
  readonly #checkpoint: (() => void) | undefined;
  readonly #sampling: number;
  #sampleCountdown = 0;
  #time = 0;
  #exit: GuestExit | undefined;
  // Rate limit: calls counted per window; the clock is read once per window, not per call.
  readonly #windowCalls: number;
  readonly #windowNs: bigint;
  #windowLeft = 0;
  #windowStart = 0n;
  #windowOpen = false;
  readonly #slots = new Map<SyscallDefinition, GateSlot>();
  // Host writes of the call in progress go straight into the trace's columns.
  readonly #captureWrite: (ptr: number, len: number, memory: Uint8Array) => void;

  constructor(options: SyscallGateOptions) {
    this.#enforcer = options.enforcer;
    this.#context = options.context;
    this.#recorder = options.recorder;
    this.#captureWrite = options.recorder.writeListener;
    this.#dna = options.dna;
    this.#clock = options.clock;
    this.#recordWrites = options.recordWrites ?? true;
    this.#events = options.events;
    this.#onQuarantine = options.onQuarantine;
    this.#checkpoint = options.checkpoint;
    this.#sampling = Math.max(1, Math.floor(options.durationSampling ?? 1));
    const rate = options.rateLimit;
    if (rate !== undefined) {
      if (!(rate.perSecond > 0)) throw new RangeError('rateLimit.perSecond must be > 0');
      this.#windowCalls = Math.max(1, Math.floor(rate.burst ?? rate.perSecond));
      this.#windowNs = BigInt(Math.ceil((this.#windowCalls / rate.perSecond) * 1e9));
    } else {
      this.#windowCalls = 0;
      this.#windowNs = 0n;
    }
  }

  /** Set once the guest asked to exit; the exit is re-thrown on any later call. */
  get exit(): GuestExit | undefined {
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
      const slot = this.#slot(definition);
      namespace[definition.name] = (...args: WasmValue[]) => this.#call(slot, args);
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
      slot = new GateSlot(definition, this.#recorder.syscallId(definition.syscall), this.#context);
      this.#slots.set(definition, slot);
    }
    return slot;
  }

  #call(slot: GateSlot, args: readonly WasmValue[]): WasmValue | undefined {
    // A guest built with exception handling can catch our exit unwinding; it never gets to run on.
    if (this.#exit) throw this.#exit;
    this.#checkpoint?.();
    const definition = slot.definition;
    // Only sampled calls read the clocks (a bigint compare costs more than the rest of a cheap call).
    let started: bigint | undefined;
    if (--this.#sampleCountdown < 0) {
      this.#sampleCountdown = this.#sampling - 1;
      const now = this.#clock.now();
      this.#time = now;
      this.#recorder.stamp(now);
      this.#dna.stamp(now);
      started = this.#clock.monotonicNs();
    }
    if (this.#windowCalls > 0 && --this.#windowLeft < 0) this.#checkRate(slot, args);
    if (definition.blocking === true) this.#sampleCountdown = 0;
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
        time: this.#time,
      });
      if (enforcement.reusableBy === this.#enforcer && enforcement.execute) slot.reused = enforcement;
      if (enforcement.decision.action !== 'allow') this.#sampleCountdown = 0;
      if (!enforcement.execute) {
        const result = definition.deniedResult;
        this.#finish(slot, started, args, decoded!, enforcement.decision, false, result, undefined);
        this.#quarantineIfAsked(enforcement);
        return result;
      }
    }
    const { decision } = enforcement;

    if (this.#recordWrites) memory.onWrite = this.#captureWrite;
    let result: WasmValue | undefined;
    let lazy: LazyInvocation | undefined;
    try {
      if (decoded !== undefined) result = definition.execute({ context: this.#context, args, decoded });
      else {
        lazy = slot.invocation.busy ? new LazyInvocation(this.#context, definition) : slot.invocation;
        lazy.busy = true;
        result = definition.execute(lazy.reset(args));
      }
    } catch (error) {
      if (error instanceof GuestFault) {
        const fault = definition.faultResult;
        this.#finish(slot, started, args, decoded, decision, true, fault, 'fault');
        return fault;
      }
      if (error instanceof GuestExit) {
        this.#exit = error;
        this.#finish(slot, started, args, decoded, decision, true, error.exitCode, 'exit');
      }
      throw error;
    } finally {
      memory.onWrite = undefined;
      if (lazy !== undefined) lazy.busy = false;
    }
    this.#finish(slot, started, args, decoded, decision, true, result, undefined);
    this.#quarantineIfAsked(enforcement);
    return result;
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

  /** Records the call (decoded `undefined`: decode from its params when the trace is read) and learns from it. */
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
    const durationNs = started === undefined ? -1 : Number(this.#clock.monotonicNs() - started);
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
    const denied = decision.action !== 'allow';
    this.#dna.observeSlot((slot.dna ??= this.#dna.slot(slot.definition.syscall)), denied);
    if (this.#events?.hasListeners('syscall.decided')) {
      this.#events.emit('syscall.decided', {
        request: {
          containerId: this.#context.containerId,
          identity: this.#context.identity,
          syscall: slot.definition.syscall,
          args: decoded ?? slot.decodeArgs(params),
          time: this.#time,
        },
        decision,
        enforced: !executed,
      });
    }
  }
}
