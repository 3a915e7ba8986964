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
import type { DnaTracker, MemoryWrite, TraceRecorder } from '@forgeone/observer';
import { GuestFault } from './guestMemory';
import { GuestExit, type SyscallContext, type SyscallDefinition, type WasmValue } from './syscallDefinition';

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
  #exit: GuestExit | undefined;

  constructor(options: SyscallGateOptions) {
    this.#enforcer = options.enforcer;
    this.#context = options.context;
    this.#recorder = options.recorder;
    this.#dna = options.dna;
    this.#clock = options.clock;
    this.#recordWrites = options.recordWrites ?? true;
    this.#events = options.events;
    this.#onQuarantine = options.onQuarantine;
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
    const started = this.#clock.monotonicNs();
    const time = this.#clock.now();
    const seq = this.#recorder.nextSeq();
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
      this.#finish({ definition, seq, time, started, args: {}, decision, executed: false, result, outcome: 'fault' });
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
    const base = { definition, seq, time, started, args: decoded, decision };
    if (!enforcement.execute) {
      const result = definition.deniedResult;
      this.#finish({ ...base, executed: false, result });
      this.#quarantineIfAsked(enforcement);
      return result;
    }

    const writes: MemoryWrite[] | undefined = this.#recordWrites ? [] : undefined;
    if (writes) {
      memory.onWrite = (ptr, bytes) => writes.push({ ptr, bytes: Buffer.from(bytes).toString('base64') });
    }
    let result: WasmValue | undefined;
    try {
      result = definition.execute({ context: this.#context, args, decoded });
    } catch (error) {
      if (error instanceof GuestFault) {
        const fault = definition.faultResult;
        this.#finish({ ...base, executed: true, result: fault, writes, outcome: 'fault' });
        return fault;
      }
      if (error instanceof GuestExit) {
        this.#exit = error;
        this.#finish({ ...base, executed: true, result: error.exitCode, writes, outcome: 'exit' });
      }
      throw error;
    } finally {
      memory.onWrite = undefined;
    }
    this.#finish({ ...base, executed: true, result, writes });
    this.#quarantineIfAsked(enforcement);
    return result;
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

  #finish(call: {
    definition: SyscallDefinition;
    seq: number;
    time: number;
    started: bigint;
    args: Record<string, SyscallArg>;
    decision: Decision;
    executed: boolean;
    result: WasmValue | undefined;
    writes?: MemoryWrite[] | undefined;
    outcome?: 'exit' | 'fault';
  }): void {
    const { definition, seq, time, started, args, decision, executed, result, writes, outcome } = call;
    const denied = decision.action !== 'allow';
    this.#recorder.record({
      seq,
      syscall: definition.syscall,
      args,
      action: decision.action,
      executed,
      reasons: decision.reasons,
      result: result === undefined ? null : typeof result === 'bigint' ? result.toString() : result,
      durationNs: Number(this.#clock.monotonicNs() - started),
      time,
      ...(writes && writes.length > 0 ? { writes } : {}),
      ...(outcome ? { outcome } : {}),
    });
    this.#dna.observe(definition.syscall, denied, time);
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
