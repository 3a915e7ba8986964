import {
  ForgeError,
  type Clock,
  type Decision,
  type Enforcement,
  type KernelEventBus,
  type SyscallArg,
  type SyscallEnforcerPort,
  type SyscallRequest,
} from '@forgeone/common';
import type { DnaTracker, MemoryWrite, TraceEvent, TraceRecorder } from '@forgeone/observer';
import { GuestFault } from './guestMemory';
import { GuestExit, type SyscallContext, type SyscallDefinition, type WasmValue } from './syscallDefinition';

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
   * Measure the host time of one call in every N (the others record `durationNs: -1`). Default 1:
   * every call. Reading the monotonic clock twice costs more than a whole fast call.
   */
  readonly durationSampling?: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

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
  #exit: GuestExit | undefined;
  // Rate limit: calls counted per window; the clock is read once per window, not per call.
  readonly #windowCalls: number;
  readonly #windowNs: bigint;
  #windowLeft = 0;
  #windowStart = 0n;
  // Host writes of the call in progress (the gate is re-entered by no one: calls are synchronous).
  #writes: MemoryWrite[] | undefined;
  readonly #collectWrite = (ptr: number, bytes: Uint8Array): void => {
    (this.#writes ??= []).push({ ptr, bytes: Buffer.from(bytes).toString('base64') });
  };

  constructor(options: SyscallGateOptions) {
    this.#enforcer = options.enforcer;
    this.#context = options.context;
    this.#recorder = options.recorder;
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
      namespace[definition.name] = (...args: WasmValue[]) => this.call(definition, args);
    }
    return imports;
  }

  /** Runs one guest call through the gate and returns what the guest gets. */
  call(definition: SyscallDefinition, args: readonly WasmValue[]): WasmValue | undefined {
    // A guest built with exception handling can catch our exit unwinding; it never gets to run on.
    if (this.#exit) throw this.#exit;
    this.#checkpoint?.();
    const seq = this.#recorder.nextSeq();
    const time = this.#clock.now();
    if (this.#windowCalls > 0 && --this.#windowLeft < 0) this.#checkRate(definition, seq, time, args);
    let started = -1n;
    if (--this.#sampleCountdown < 0) {
      this.#sampleCountdown = this.#sampling - 1;
      started = this.#clock.monotonicNs();
    }
    const memory = this.#context.memory;

    let decoded: Record<string, SyscallArg>;
    try {
      decoded = definition.decode(args, memory);
    } catch (error) {
      if (!(error instanceof GuestFault)) throw error;
      const decision: Decision = {
        action: 'deny',
        reasons: [{ policy: 'gate', message: `bad guest pointer: ${error.message}` }],
      };
      const result = definition.faultResult;
      this.#finish(definition, seq, time, started, args, {}, decision, false, result, 'fault');
      return result;
    }

    const request: SyscallRequest = {
      containerId: this.#context.containerId,
      identity: this.#context.identity,
      syscall: definition.syscall,
      args: decoded,
      time,
    };
    const enforcement = this.#enforcer.enforce(request);
    const { decision } = enforcement;
    if (!enforcement.execute) {
      const result = definition.deniedResult;
      this.#finish(definition, seq, time, started, args, decoded, decision, false, result, undefined);
      this.#quarantineIfAsked(enforcement);
      return result;
    }

    this.#writes = undefined;
    if (this.#recordWrites) memory.onWrite = this.#collectWrite;
    let result: WasmValue | undefined;
    try {
      result = definition.execute({ context: this.#context, args, decoded });
    } catch (error) {
      if (error instanceof GuestFault) {
        const fault = definition.faultResult;
        this.#finish(definition, seq, time, started, args, decoded, decision, true, fault, 'fault');
        return fault;
      }
      if (error instanceof GuestExit) {
        this.#exit = error;
        this.#finish(definition, seq, time, started, args, decoded, decision, true, error.exitCode, 'exit');
      }
      throw error;
    } finally {
      memory.onWrite = undefined;
    }
    this.#finish(definition, seq, time, started, args, decoded, decision, true, result, undefined);
    this.#quarantineIfAsked(enforcement);
    return result;
  }

  /** A window's calls are used up: start a new window, or stop the guest if it came too soon. */
  #checkRate(definition: SyscallDefinition, seq: number, time: number, args: readonly WasmValue[]): void {
    const now = this.#clock.monotonicNs();
    if (this.#windowStart !== 0n && now - this.#windowStart < this.#windowNs) {
      const perSecond = Number((BigInt(this.#windowCalls) * 1_000_000_000n) / this.#windowNs);
      const message = `syscall rate limit: more than ${this.#windowCalls} calls in ${Number(this.#windowNs) / 1e6} ms (${perSecond}/s)`;
      const decision: Decision = { action: 'deny', reasons: [{ policy: 'limits', rule: 'syscallRate', message }] };
      this.#finish(definition, seq, time, -1n, args, {}, decision, false, definition.deniedResult, 'limit');
      throw new ForgeError('FORGE_LIMIT_SYSCALL_RATE', `guest stopped: ${message}`, {
        details: { limit: 'syscallRate', max: perSecond },
      });
    }
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

  #finish(
    definition: SyscallDefinition,
    seq: number,
    time: number,
    started: bigint,
    params: readonly WasmValue[],
    args: Record<string, SyscallArg>,
    decision: Decision,
    executed: boolean,
    result: WasmValue | undefined,
    outcome: TraceEvent['outcome'],
  ): void {
    const event: Mutable<TraceEvent> = {
      seq,
      syscall: definition.syscall,
      args,
      params,
      action: decision.action,
      executed,
      reasons: decision.reasons,
      result: result === undefined ? null : typeof result === 'bigint' ? result.toString() : result,
      durationNs: started < 0n ? -1 : Number(this.#clock.monotonicNs() - started),
      time,
    };
    const writes = this.#writes;
    if (writes !== undefined) {
      event.writes = writes;
      this.#writes = undefined;
    }
    if (outcome !== undefined) event.outcome = outcome;
    this.#recorder.record(event);
    this.#dna.observe(definition.syscall, decision.action !== 'allow', time);
    if (this.#events?.hasListeners('syscall.decided')) {
      this.#events.emit('syscall.decided', {
        request: {
          containerId: this.#context.containerId,
          identity: this.#context.identity,
          syscall: definition.syscall,
          args,
          time,
        },
        decision,
        enforced: !executed,
      });
    }
  }
}
