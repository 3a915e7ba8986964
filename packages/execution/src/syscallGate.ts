import type {
  Clock,
  Decision,
  KernelEventBus,
  PolicyDecisionPoint,
  SyscallArg,
  SyscallRequest,
} from '@forgeone/common';
import type { DnaTracker, MemoryWrite, TraceRecorder } from '@forgeone/observer';
import { GuestFault } from './guestMemory';
import { GuestExit, type SyscallContext, type SyscallDefinition, type WasmValue } from './syscallDefinition';

/**
 * How decisions are applied: `enforce` blocks what is not allowed; `audit` decides and records but
 * lets every call run; `permissive` lets every call run and records only refusals' reasons.
 */
export type EnforcementMode = 'enforce' | 'audit' | 'permissive';
export const enforcementModes: readonly EnforcementMode[] = ['enforce', 'audit', 'permissive'];

export interface SyscallGateOptions {
  readonly pdp: PolicyDecisionPoint;
  readonly context: SyscallContext;
  readonly recorder: TraceRecorder;
  readonly dna: DnaTracker;
  readonly clock: Clock;
  readonly mode?: EnforcementMode;
  /** Record the bytes the host writes into guest memory (needed for replay). Default true. */
  readonly recordWrites?: boolean;
  readonly events?: KernelEventBus;
}

/**
 * The one enforcement point (PEP) every guest import goes through: decide, enforce, execute,
 * record, learn. Capabilities are plain SyscallDefinitions; none can bypass this path because the
 * only way to reach the guest is `imports()`.
 */
export class SyscallGate {
  readonly #pdp: PolicyDecisionPoint;
  readonly #context: SyscallContext;
  readonly #recorder: TraceRecorder;
  readonly #dna: DnaTracker;
  readonly #clock: Clock;
  readonly #mode: EnforcementMode;
  readonly #recordWrites: boolean;
  readonly #events: KernelEventBus | undefined;
  #exit: GuestExit | undefined;

  constructor(options: SyscallGateOptions) {
    this.#pdp = options.pdp;
    this.#context = options.context;
    this.#recorder = options.recorder;
    this.#dna = options.dna;
    this.#clock = options.clock;
    this.#mode = options.mode ?? 'enforce';
    this.#recordWrites = options.recordWrites ?? true;
    this.#events = options.events;
  }

  get mode(): EnforcementMode {
    return this.#mode;
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
      this.#finish(
        definition,
        seq,
        time,
        started,
        {},
        decision,
        false,
        definition.faultResult,
        undefined,
        'fault',
      );
      return definition.faultResult;
    }

    const request: SyscallRequest = {
      containerId: this.#context.containerId,
      identity: this.#context.identity,
      syscall: definition.syscall,
      args: decoded,
      time,
    };
    const decision = this.#pdp.decide(request);
    const executed = decision.action === 'allow' || this.#mode !== 'enforce';
    if (!executed) {
      this.#finish(
        definition,
        seq,
        time,
        started,
        decoded,
        decision,
        false,
        definition.deniedResult,
        undefined,
      );
      return definition.deniedResult;
    }

    const writes: MemoryWrite[] | undefined = this.#recordWrites ? [] : undefined;
    if (writes)
      memory.onWrite = (ptr, bytes) => writes.push({ ptr, bytes: Buffer.from(bytes).toString('base64') });
    let result: WasmValue | undefined;
    try {
      result = definition.execute({ context: this.#context, args, decoded });
    } catch (error) {
      if (error instanceof GuestFault) {
        this.#finish(
          definition,
          seq,
          time,
          started,
          decoded,
          decision,
          true,
          definition.faultResult,
          writes,
          'fault',
        );
        return definition.faultResult;
      }
      if (error instanceof GuestExit) {
        this.#exit = error;
        this.#finish(definition, seq, time, started, decoded, decision, true, error.exitCode, writes, 'exit');
      }
      throw error;
    } finally {
      memory.onWrite = undefined;
    }
    this.#finish(definition, seq, time, started, decoded, decision, true, result, writes);
    return result;
  }

  #finish(
    definition: SyscallDefinition,
    seq: number,
    time: number,
    started: bigint,
    args: Record<string, SyscallArg>,
    decision: Decision,
    executed: boolean,
    result: WasmValue | undefined,
    writes: MemoryWrite[] | undefined,
    outcome?: 'exit' | 'fault',
  ): void {
    const denied = decision.action !== 'allow';
    // Permissive mode keeps the trace of refusals only; the call itself still ran.
    const reasons = this.#mode === 'permissive' && !denied ? [] : decision.reasons;
    this.#recorder.record({
      seq,
      syscall: definition.syscall,
      args,
      action: decision.action,
      executed,
      reasons,
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
