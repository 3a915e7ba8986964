import {
  ForgeError,
  IdentityContextSchema,
  newId,
  parseWith,
  type Clock,
  type ContainerId,
  type ExecutionDNA,
  type IdentityContextInput,
  type KernelEventBus,
  type PolicyDecisionPoint,
  type EnforcementMode,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import type { Limits } from '@forgeone/config';
import {
  GuestMemory,
  SyscallGate,
  forgeSyscalls,
  runInstance,
  type ModuleFormat,
  type RunOutcome,
  type SyscallDefinition,
} from '@forgeone/execution';
import { SyscallEnforcer } from '@forgeone/trust';
import { DnaTracker, TraceRecorder, type TraceEvent, type TraceSummaryRow } from '@forgeone/observer';
import { ModuleCache } from './moduleCache';

export interface RuntimeDeps {
  readonly clock: Clock;
  readonly events: KernelEventBus;
  readonly limits: Limits;
  readonly mode: EnforcementMode;
}

export interface RunModuleOptions {
  /** The module, binary or WebAssembly text. */
  readonly source: Uint8Array;
  /** A name for messages (usually the file name). */
  readonly name: string;
  /** Binary or text; detected from the bytes when omitted. */
  readonly format?: ModuleFormat;
  /**
   * Who decides: a policy decision point (applied in `mode`), or a whole enforcer (which then owns
   * the mode, actions and audit trail). One of the two is required.
   */
  readonly pdp?: PolicyDecisionPoint;
  readonly enforcer?: SyscallEnforcerPort;
  readonly identity?: IdentityContextInput;
  /** Overrides the kernel's enforcement mode for this run. */
  readonly mode?: EnforcementMode;
  /** Export to call. Default `_start`. */
  readonly entry?: string;
  /** Receives each `forge.log` message as it happens. */
  readonly onLog?: (message: string) => void;
}

/** Everything a run produced: how it ended, what it printed, every call and decision, its DNA. */
export interface RunReport {
  readonly containerId: ContainerId;
  readonly moduleSha256: string;
  readonly outcome: RunOutcome;
  readonly logs: readonly string[];
  readonly trace: readonly TraceEvent[];
  readonly summary: readonly TraceSummaryRow[];
  readonly dna: ExecutionDNA;
}

/** Runs guest modules: compile (cached), wire every import through one gate, run, report. */
export class Runtime {
  readonly #deps: RuntimeDeps;
  readonly #modules = new ModuleCache();

  constructor(deps: RuntimeDeps) {
    this.#deps = deps;
  }

  /** Names of every syscall a guest can import from this runtime. */
  syscallNames(): string[] {
    return this.#definitions(() => undefined).map((d) => d.syscall);
  }

  /** Runs one module to completion and reports what happened. */
  async runModule(options: RunModuleOptions): Promise<RunReport> {
    const identity = parseWith(
      IdentityContextSchema,
      options.identity ?? { subject: `module:${options.name}` },
      'identity',
    );
    const compiled = await this.#modules.get(
      options.source,
      options.name,
      { maxModuleBytes: this.#deps.limits.maxModuleBytes },
      options.format,
    );
    const containerId = newId('container', this.#deps.clock.now());
    const logs: string[] = [];
    const definitions = this.#definitions((message) => {
      logs.push(message);
      options.onLog?.(message);
    });
    const memory = new GuestMemory();
    const recorder = new TraceRecorder();
    const dna = new DnaTracker(containerId);
    const gate = new SyscallGate({
      enforcer: this.#enforcer(options),
      context: { containerId, identity, memory },
      recorder,
      dna,
      clock: this.#deps.clock,
      events: this.#deps.events,
    });

    this.#deps.events.emit('container.launched', { containerId, subject: identity.subject });
    const outcome = runInstance({
      compiled,
      imports: gate.imports(definitions),
      memory,
      ...(options.entry ? { entry: options.entry } : {}),
    });
    this.#deps.events.emit('container.exited', {
      containerId,
      exitCode: outcome.exitCode,
      reason: outcome.status === 'trapped' ? outcome.error.code : outcome.status,
    });
    return {
      containerId,
      moduleSha256: compiled.sha256,
      outcome,
      logs,
      trace: recorder.events(),
      summary: recorder.summary(),
      dna: dna.snapshot(),
    };
  }

  #enforcer(options: RunModuleOptions): SyscallEnforcerPort {
    if (options.enforcer) return options.enforcer;
    if (!options.pdp) throw new ForgeError('FORGE_INVALID_INPUT', 'runModule needs a pdp or an enforcer');
    return new SyscallEnforcer({ pdp: options.pdp, mode: options.mode ?? this.#deps.mode });
  }

  #definitions(onLog: (message: string) => void): SyscallDefinition[] {
    return forgeSyscalls({ clock: this.#deps.clock, onLog });
  }
}
