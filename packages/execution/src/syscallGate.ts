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
   * Read the clocks on one call in every N: that call records its wall time and host duration; the
   * calls between reuse the last wall time and record `durationNs: -1`. Default 1: every call. On
   * machines where a clock read costs ~100 ns it is most of a call's cost. A call that may block
   * (`SyscallDefinition.blocking`) or is not allowed makes the next call read the clock again.
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
  #time = 0;
  #exit: GuestExit | undefined;
  // Rate limit: calls counted per window; the clock is read once per window, not per call.
  readonly #windowCalls: number;
  readonly #windowNs: bigint;
  #windowLeft = 0;
  #windowStart = 0n;
  #windowOpen = false;
  // Host writes of the call in progress (the gate is re-entered by no one: calls are synchronous).
  #writes: MemoryWrite[] | undefined;
  readonly #collectWrite = (ptr: number, len: number, memory: Uint8Array): void => {
    (this.#writes ??= []).push(recordWrite(ptr, len, memory));
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
    let started = -1n;
    if (--this.#sampleCountdown < 0) {
      this.#sampleCountdown = this.#sampling - 1;
      this.#time = this.#clock.now();
      started = this.#clock.monotonicNs();
    }
    const time = this.#time;
    if (this.#windowCalls > 0 && --this.#windowLeft < 0) this.#checkRate(definition, seq, time, args);
    if (definition.blocking === true) this.#sampleCountdown = 0;
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
    if (decision.action !== 'allow') this.#sampleCountdown = 0;
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
    if (this.#windowOpen && now - this.#windowStart < this.#windowNs) {
      const perSecond = Number((BigInt(this.#windowCalls) * 1_000_000_000n) / this.#windowNs);
      const message = `syscall rate limit: more than ${this.#windowCalls} calls in ${Number(this.#windowNs) / 1e6} ms (${perSecond}/s)`;
      const decision: Decision = {
        action: 'deny',
        reasons: [{ policy: 'limits', rule: 'syscallRate', message }],
      };
      this.#finish(definition, seq, time, -1n, args, {}, decision, false, definition.deniedResult, 'limit');
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

const toBase64 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * A write of at most 8 bytes (the common case: an errno-sized result, a length, a clock) kept as two
 * numbers and encoded only when someone reads it: encoding on every call would cost more than the
 * call. Serialises (JSON, `toJSON`) as a plain MemoryWrite.
 */
class SmallWrite implements MemoryWrite {
  constructor(
    readonly ptr: number,
    readonly len: number,
    readonly lo: number,
    readonly hi: number,
  ) {}

  get bytes(): string {
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, this.lo, true);
    view.setUint32(4, this.hi, true);
    return toBase64(out.subarray(0, this.len));
  }

  toJSON(): MemoryWrite {
    return { ptr: this.ptr, bytes: this.bytes };
  }
}

/** Copies what the host wrote (at once: the guest may change it later) into a MemoryWrite. */
function recordWrite(ptr: number, len: number, memory: Uint8Array): MemoryWrite {
  if (len <= 8) {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < len && i < 4; i += 1) lo |= memory[ptr + i]! << (8 * i);
    for (let i = 4; i < len; i += 1) hi |= memory[ptr + i]! << (8 * (i - 4));
    return new SmallWrite(ptr, len, lo >>> 0, hi >>> 0);
  }
  return { ptr, bytes: toBase64(memory.subarray(ptr, ptr + len)) };
}

/** Plain-object copies of events (for crossing threads: class instances lose their getters). */
export function plainEvents(events: readonly TraceEvent[]): TraceEvent[] {
  return events.map((event) =>
    event.writes === undefined
      ? event
      : { ...event, writes: event.writes.map((w) => ({ ptr: w.ptr, bytes: w.bytes })) },
  );
}
