import type {
  ContainerId,
  Decision,
  ExecutionDNA,
  JsonValue,
  KernelEventBus,
  SyscallEnforcerPort,
  SyscallRequest,
} from '@forgeone/common';
import type {
  DecodedSnapshot,
  EncodeSnapshotOptions,
  EncodedSnapshot,
  TraceBatch,
  TraceEvent,
} from '@forgeone/observer';
import type { EnforcerSpec } from '../gate/enforcerSpec';
import type { GuestEvent } from '../forge/forgeEventSyscalls';
import type { GuestSecrets } from '../forge/forgeSecretSyscalls';
import type { KvBackend } from '../forge/forgeKvBackend';
import type { WorldSpec } from '../world/guestWorld';
import type { InvokeOptions, InvokeResult } from './invokeExport';
import { nextInstanceState, type InstanceEvent, type InstanceState } from './instanceLifecycle';
import type { ReplayCursor } from '../replay/replaySyscalls';
import type { SyscallDefinition } from '../gate/syscallDefinition';
import type { SyscallRateLimit } from '../gate/syscallGate';
import type { TypedValue } from './typedValue';

export type Isolation = 'inline' | 'worker';

/** Everything about one instance except the module: identity, policy, WASI view, hooks. */
export interface InstanceOptions {
  readonly containerId?: ContainerId;
  readonly identity?: WorldSpec['identity'];
  /** How calls are decided (JSON: rebuilt inside the worker). Default: deny everything. */
  readonly enforcer?: EnforcerSpec;
  /** An enforcer object instead of a spec (inline isolation only). */
  readonly enforcerInstance?: SyscallEnforcerPort;
  readonly wasi?: WorldSpec['wasi'];
  /** Calls per second before the guest is stopped (FORGE_LIMIT_SYSCALL_RATE). */
  readonly rateLimit?: SyscallRateLimit;
  /** Replays a recorded trace instead of executing (inline isolation). */
  readonly replay?: readonly TraceEvent[];
  /** With `replay`: stop the guest right after the recorded call of this seq (a forensic stop point). */
  readonly replayStopAfter?: number;
  readonly recordWrites?: boolean;
  readonly durationSampling?: number;
  /** Events kept in memory; with `onTraceBatch` every event is also handed over, in batches. */
  readonly traceCapacity?: number;
  readonly onTraceBatch?: (events: readonly TraceEvent[]) => void;
  /**
   * Every event too, in batches handed over unbuilt (built when read; the taker releases each):
   * what a consumer that works off the guest's call path takes, a store flush. Worker isolation
   * hands over the events its messages brought, built.
   */
  readonly onTraceLazyBatch?: (batch: TraceBatch) => void;
  readonly onLog?: (message: string) => void;
  readonly onStdout?: (bytes: Uint8Array) => void;
  readonly onStderr?: (bytes: Uint8Array) => void;
  readonly onAudit?: (entry: JsonValue) => void;
  /** Answers `ask` decisions; the guest waits (worker isolation: on Atomics.wait) up to `approverTimeoutMs`, then deny. */
  readonly approver?: (
    request: SyscallRequest,
    decision: Decision,
  ) => 'allow' | 'deny' | Promise<'allow' | 'deny'>;
  readonly approverTimeoutMs?: number;
  /** Called when the guest is paused (by `pause()` or, with `holdQuarantined`, a quarantine). */
  readonly onPaused?: (reason: string) => void;
  /**
   * A redzone decides what a quarantine does: worker isolation keeps the guest suspended at its
   * syscall until `resume()` or `terminate()`; inline, the call is unwound at that syscall (the
   * outcome says FORGE_CONTAINER_QUARANTINED) and the instance stays usable for later calls.
   * Default: the instance is stopped at once with FORGE_CONTAINER_QUARANTINED.
   */
  readonly holdQuarantined?: boolean;
  /**
   * Deadline of the module's start function, run at instantiation, in ms (worker isolation: the
   * worker is terminated; inline: V8 stops it). A start function past it leaves the instance
   * trapped with FORGE_LIMIT_TIMEOUT. WasmHost sets it to its call deadline. Default: none.
   */
  readonly startTimeoutMs?: number;
  /**
   * Inline isolation: how a deadline is enforced. `metered` (the default for a module compiled
   * with deadline metering, which compileModule does unless told not to): the checks compiled into
   * the module stop the guest wherever it is, even in a loop that never calls the host, at no cost
   * per call (a tight loop pays a few per cent; a deadline is overshot by about a millisecond at
   * most); refused for a module without them. `watchdog` (the default for other modules): V8 stops
   * the guest wherever it is; each timed call costs ~0.1 ms more. Either way the instance is
   * terminated. `syscalls`: checked only when the guest calls the host (a guest looping without
   * calling runs on: trusted code only).
   */
  readonly inlineDeadline?: 'metered' | 'watchdog' | 'syscalls';
  /** More capabilities (inline isolation only). */
  readonly extraDefinitions?: readonly SyscallDefinition[];
  /**
   * The container's kv namespace (`forge.kv_*`; the policy still decides each call). Inline, the
   * guest uses it directly; in a worker, each call crosses to this thread and is applied to it
   * before the guest's call returns (quota checked here). Instances may share one backend: each
   * sees the others' writes at once. Flushing a StorageKvBackend is the caller's. Without one,
   * allowed kv calls answer DENIED.
   */
  readonly kv?: KvBackend;
  /**
   * Worker isolation: how long a kv call waits for this thread to answer before the guest gets
   * UNAVAILABLE (and the call is not applied). Default 5,000 ms.
   */
  readonly kvTimeoutMs?: number;
  /** Worker isolation: told of each kv call that went unanswered in time (see `kvTimeoutMs`). */
  readonly onKvUnanswered?: (call: {
    readonly op: 'get' | 'put' | 'delete' | 'usage';
    readonly key?: string;
  }) => void;
  /**
   * The values `forge.secret_read` answers with, by name (the policy still decides each call). In a
   * worker they cross once, at instantiation. Never recorded in a trace.
   */
  readonly secrets?: GuestSecrets;
  /** Receives each `forge.emit_event` event (worker isolation: as it happens, fire-and-forget). */
  readonly onEvent?: (event: GuestEvent) => void;
  /**
   * Starts from this snapshot (decodeSnapshot): restored right after instantiation, into a module
   * compiled with `snapshots` whose SHA-256 it names, then the module's `forge_on_restore` export
   * is called when it has one. Inline isolation only (worker isolation refuses it with
   * FORGE_SNAPSHOT_UNSUPPORTED).
   */
  readonly fromSnapshot?: DecodedSnapshot;
  /** The module's name and version as a snapshot records them (restore refuses another version). */
  readonly moduleName?: string;
  readonly moduleVersion?: string;
}

/** A running guest: call its exports, pause, resume, terminate; read its trace and DNA. */
export interface WasmInstance {
  readonly containerId: ContainerId;
  readonly isolation: Isolation;
  readonly state: InstanceState;
  /** How instantiation ended when the start function trapped or exited (the instance is then unusable). */
  readonly startOutcome: InvokeResult['outcome'] | undefined;
  /** Started `fromSnapshot`: how its `forge_on_restore` export ended, when it has one. */
  readonly restoreOutcome?: InvokeResult['outcome'] | undefined;
  /** Calls an export with typed values. Limits hit and traps come back in the outcome. */
  invoke(entry: string, args?: readonly TypedValue[], options?: InvokeCallOptions): Promise<InvokeResult>;
  /** Stops the guest at its next syscall (worker), or refuses calls until `resume` (between calls). */
  pause(): void;
  resume(): void;
  /** Ends the instance (and its worker's hold on it) for good. */
  terminate(): Promise<void>;
  /** Recorded calls still held (the last `traceCapacity`). */
  trace(): TraceEvent[];
  /** Events that fell out of the held trace. */
  readonly droppedEvents: number;
  /**
   * Calls the guest has made so far, recorded or not (the trace sequence number of the last one):
   * read between two calls, it is where the next call's events begin.
   */
  readonly callsMade: number;
  dna(): ExecutionDNA;
  logs(): readonly string[];
  stdout(): Uint8Array;
  stderr(): Uint8Array;
  /** The replay's progress, for instances created with `replay`. */
  readonly replay: ReplayCursor | undefined;
  /**
   * Captures the instance between calls as a `.fsnap` snapshot (memory, mutable globals, WASI
   * descriptors, DNA, trace position). Inline isolation, modules compiled with `snapshots`;
   * whatever cannot be captured is refused with a code (FORGE_SNAPSHOT_UNSUPPORTED, _STATE).
   */
  captureSnapshot(options?: EncodeSnapshotOptions): EncodedSnapshot;
}

export interface InvokeCallOptions extends InvokeOptions {
  /**
   * Wall-clock deadline of this call in ms. Past it the guest is stopped (FORGE_LIMIT_TIMEOUT) and
   * the instance terminated: a worker is destroyed; inline, the module's deadline checks or V8
   * stop the code (or, with `inlineDeadline: 'syscalls'`, the next syscall fails).
   */
  readonly timeoutMs?: number;
}

/** The state machine and captured output every instance kind shares. */
export abstract class InstanceBase {
  #state: InstanceState = 'created';
  #inFlight = false;
  protected readonly logLines: string[] = [];
  protected readonly stdoutChunks: Uint8Array[] = [];
  protected readonly stderrChunks: Uint8Array[] = [];

  get state(): InstanceState {
    return this.#state;
  }

  protected get callInFlight(): boolean {
    return this.#inFlight;
  }

  protected transition(event: InstanceEvent): void {
    // The two moves of every call (the table's rows, without its keyed lookups per call).
    if (event === 'invoke' && this.#state === 'created') {
      this.#state = 'running';
      this.#inFlight = true;
      return;
    }
    if (event === 'return' && this.#state === 'running') {
      this.#state = 'created';
      this.#inFlight = false;
      return;
    }
    this.#state = nextInstanceState(this.#state, event, this.#inFlight);
    if (event === 'invoke') this.#inFlight = true;
    if (event === 'return' || event === 'trap' || event === 'exit' || event === 'terminate')
      this.#inFlight = false;
  }

  /** After a call: back to created, or trapped, or terminated (exit). */
  protected settle(outcome: InvokeResult['outcome']): void {
    if (this.#state === 'terminated') return;
    if (outcome.status === 'returned') this.transition('return');
    else if (outcome.status === 'exited') this.transition('exit');
    else this.transition('trap');
  }

  logs(): readonly string[] {
    return this.logLines;
  }

  stdout(): Uint8Array {
    return Buffer.concat(this.stdoutChunks);
  }

  stderr(): Uint8Array {
    return Buffer.concat(this.stderrChunks);
  }
}

/**
 * Where a guest's `forge.emit_event` events go: the kernel's bus (`guest.event`) and the
 * instance's `onEvent`; undefined when neither is there.
 */
export function guestEventSink(
  options: InstanceOptions,
  events: KernelEventBus | undefined,
): ((event: GuestEvent) => void) | undefined {
  const { onEvent } = options;
  if (events === undefined) return onEvent;
  return (event) => {
    events.emit('guest.event', event);
    onEvent?.(event);
  };
}
