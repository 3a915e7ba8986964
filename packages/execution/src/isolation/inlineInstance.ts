import {
  ForgeError,
  type Clock,
  type ContainerId,
  type ExecutionDNA,
  type KernelEventBus,
} from '@forgeone/common';
import {
  encodeSnapshot,
  type EncodeSnapshotOptions,
  type EncodedSnapshot,
  type TraceEvent,
} from '@forgeone/observer';
import {
  ON_RESTORE_EXPORT,
  captureGuest,
  restoreGuest,
  type SnapshotIdentity,
} from '../snapshot/guestSnapshot';
import type { GuestMemory } from '../gate/guestMemory';
import { createGuestWorld, type GuestWorld, type WorldSpec } from '../world/guestWorld';
import {
  callExport,
  deadlineError,
  instantiateGuest,
  prepareExport,
  type ExportCall,
  type InvokeResult,
} from './invokeExport';
import { DeadlineExpired, callWithDeadline } from './internal/inlineDeadline';
import { DeadlineMeter } from '../module/deadlineMeter';
import type { CompiledModule } from '../module/moduleSource';
import type { ReplayCursor } from '../replay/replaySyscalls';
import type { TypedValue } from './typedValue';
import {
  InstanceBase,
  guestEventSink,
  type InstanceOptions,
  type InvokeCallOptions,
  type WasmInstance,
} from './wasmInstance';

/** What `InlineInstance.inspection` shows of a guest. */
export interface GuestInspection {
  readonly exports: WebAssembly.Exports | undefined;
  readonly memory: GuestMemory;
}

/** Checks the syscall-boundary deadline every this many calls (reading the clock costs more than a call). */
const DEADLINE_CHECK_EVERY = 32;

/** A call stopped at its deadline: the instance is thrown away (see `callWithDeadline`). */
function timedOut(timeoutMs: number, what?: string): InvokeResult['outcome'] {
  return { status: 'trapped', exitCode: null, error: deadlineError(timeoutMs, what) };
}

/** How an inline instance keeps deadlines (InstanceOptions.inlineDeadline, resolved for its module). */
type DeadlineMode = 'metered' | 'watchdog' | 'syscalls';

function deadlineModeOf(asked: InstanceOptions['inlineDeadline'], compiled: CompiledModule): DeadlineMode {
  if (asked === 'metered' && compiled.deadlineMetered !== true) {
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      "inlineDeadline 'metered' needs a module compiled with deadline metering (the default), and one that does not wait on a shared memory; use 'watchdog'",
      { details: { field: 'inlineDeadline' } },
    );
  }
  return asked ?? (compiled.deadlineMetered === true ? 'metered' : 'watchdog');
}

/**
 * A guest on the calling thread: the cheapest isolation, and it blocks this thread while it runs.
 * A call's deadline (and the start function's, `startTimeoutMs`) is enforced wherever the guest
 * is, after which the instance is terminated: by the checks compiled into the module
 * (`inlineDeadline: 'metered'`, the default for a module compiled with deadline metering: no cost
 * per call), or by V8's watchdog (`'watchdog'`, the default for other modules: ~0.1 ms per timed
 * call). With `'syscalls'` it is checked only when the guest calls the host, so a guest looping
 * without calling is stopped only by fuel — trusted code only.
 */
export class InlineInstance extends InstanceBase implements WasmInstance {
  readonly isolation = 'inline';
  readonly containerId: ContainerId;
  readonly startOutcome: InvokeResult['outcome'] | undefined;
  /** The id of the snapshot it started from, if any. */
  readonly restoredFrom: string | undefined;
  /** How its `forge_on_restore` call ended, when it started from a snapshot and has that export. */
  readonly restoreOutcome: InvokeResult['outcome'] | undefined;
  readonly #identity: Omit<SnapshotIdentity, 'now'>;
  readonly #compiled: CompiledModule;
  readonly #world: GuestWorld;
  readonly #instance: WebAssembly.Instance | undefined;
  readonly #clock: Clock;
  #deadlineNs = 0n;
  #deadlineCountdown = DEADLINE_CHECK_EVERY;
  readonly #mode: DeadlineMode;
  /** The module's deadline checks call it (armed only in `metered` mode: otherwise it never stops the guest). */
  readonly #meter = new DeadlineMeter();
  /** Exports looked up on their first call. */
  readonly #exports = new Map<string, ExportCall>();
  /** A quarantine cuts the call at its syscall and keeps the instance for a release (`holdQuarantined`). */
  readonly #holdQuarantined: boolean;

  constructor(
    compiled: CompiledModule,
    spec: WorldSpec,
    options: InstanceOptions,
    clock: Clock,
    events?: KernelEventBus,
  ) {
    super();
    this.containerId = spec.containerId;
    this.#compiled = compiled;
    this.#identity = {
      containerId: spec.containerId,
      ...(options.moduleName !== undefined && { name: options.moduleName }),
      ...(options.moduleVersion !== undefined && { version: options.moduleVersion }),
      ...(options.kv !== undefined && { kvNamespace: options.kv.namespace }),
    };
    this.#clock = clock;
    const onGuestEvent = guestEventSink(options, events);
    this.#world = createGuestWorld(
      spec,
      {
        clock,
        ...(options.onLog ? { onLog: options.onLog } : {}),
        ...(options.onStdout ? { onStdout: options.onStdout } : {}),
        ...(options.onStderr ? { onStderr: options.onStderr } : {}),
        ...(options.onTraceBatch ? { onTraceBatch: options.onTraceBatch } : {}),
        ...(options.onTraceLazyBatch ? { onTraceLazyBatch: options.onTraceLazyBatch } : {}),
        ...(options.onAudit ? { audit: options.onAudit } : {}),
        ...(options.approver ? { approver: syncApprover(options.approver) } : {}),
        ...(options.extraDefinitions ? { extraDefinitions: options.extraDefinitions } : {}),
        ...(options.kv ? { kv: options.kv } : {}),
        ...(options.secrets ? { secrets: options.secrets } : {}),
        ...(onGuestEvent ? { onGuestEvent } : {}),
        ...(options.enforcerInstance ? { enforcer: options.enforcerInstance } : {}),
        ...(events ? { events } : {}),
        checkpoint: () => this.#checkDeadline(),
      },
      compiled.imports,
    );
    this.#holdQuarantined = options.holdQuarantined === true;
    let mode: DeadlineMode;
    try {
      mode = deadlineModeOf(options.inlineDeadline, compiled);
    } catch (error) {
      this.#world.close();
      throw error;
    }
    this.#mode = mode;
    const meter = this.#meter;
    const instantiate = () => instantiateGuest(compiled, this.#world.imports, this.#world.memory, meter);
    const startTimeoutMs = options.startTimeoutMs;
    let instance: WebAssembly.Instance | ReturnType<typeof instantiateGuest>;
    try {
      // The module's start function runs here: a guest looping in it is stopped like a call.
      // (Only a module with a start function runs guest code here: the others skip the ~0.1 ms.)
      if (mode === 'metered') meter.arm(startTimeoutMs);
      instance =
        startTimeoutMs !== undefined && mode === 'watchdog' && compiled.info?.hasStart !== false
          ? callWithDeadline(instantiate, startTimeoutMs)
          : instantiate();
    } catch (error) {
      // Stopped at its deadline: trapped like a start function that traps (terminate closes it).
      if (error instanceof DeadlineExpired) instance = timedOut(error.timeoutMs, 'its start function');
      else {
        this.#world.close();
        throw error;
      }
    }
    const snapshot = options.fromSnapshot;
    if (instance instanceof WebAssembly.Instance) {
      this.#instance = instance;
      this.startOutcome = undefined;
      if (snapshot !== undefined) {
        try {
          restoreGuest(instance, compiled, this.#world, snapshot, { ...this.#identity, now: clock.now() });
        } catch (error) {
          this.#world.close();
          throw error;
        }
      }
    } else {
      if (snapshot !== undefined) {
        // The start function ended the guest before the restore: nothing of the snapshot was restored.
        this.#world.close();
        throw new ForgeError(
          'FORGE_SNAPSHOT_STATE',
          `the module's start function ${instance.status === 'trapped' ? `trapped (${instance.error.message})` : 'exited'} before the snapshot could be restored`,
          instance.status === 'trapped' ? { cause: instance.error } : {},
        );
      }
      this.#instance = undefined;
      this.startOutcome = instance;
      this.transition('invoke');
      this.settle(instance);
      this.#world.recorder.flush();
    }
    this.restoredFrom = snapshot?.id;
    // Right after a restore, before any other call: the guest may reseed what it keeps in memory.
    this.restoreOutcome =
      snapshot !== undefined &&
      compiled.exports.some((e) => e.name === ON_RESTORE_EXPORT && e.kind === 'function')
        ? this.invokeSync(
            ON_RESTORE_EXPORT,
            [],
            options.startTimeoutMs === undefined ? {} : { timeoutMs: options.startTimeoutMs },
          ).outcome
        : undefined;
  }

  /**
   * Captures the instance between calls (not while paused mid-call, trapped or terminated) as a
   * `.fsnap` snapshot: see captureGuest for what it holds and what it refuses.
   */
  captureSnapshot(options: EncodeSnapshotOptions = {}): EncodedSnapshot {
    const instance = this.#instance;
    if (instance === undefined || this.state !== 'created' || this.callInFlight)
      throw new ForgeError(
        'FORGE_SNAPSHOT_STATE',
        `cannot snapshot an instance that is ${this.state}: only between calls`,
        { details: { state: this.state } },
      );
    this.#world.recorder.flush();
    const captured = captureGuest(instance, this.#compiled, this.#world, {
      ...this.#identity,
      now: this.#clock.now(),
    });
    return encodeSnapshot(captured.context, captured.memory, options);
  }

  get replay(): ReplayCursor | undefined {
    return this.#world.replay;
  }

  /**
   * The guest's exports and memory as they are now, for a replay's forensic reads (undefined
   * exports when instantiation did not finish). Read only: nothing here may change the guest.
   */
  get inspection(): GuestInspection {
    return { exports: this.#instance?.exports, memory: this.#world.memory };
  }

  get droppedEvents(): number {
    return this.#world.recorder.dropped;
  }

  get callsMade(): number {
    return this.#world.recorder.nextSeq() - 1;
  }

  invoke(
    entry: string,
    args: readonly TypedValue[] = [],
    options: InvokeCallOptions = {},
  ): Promise<InvokeResult> {
    try {
      return Promise.resolve(this.invokeSync(entry, args, options));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** `invoke` without the promise (inline only): the cheapest way to call a guest. */
  invokeSync(entry: string, args: readonly TypedValue[] = [], options: InvokeCallOptions = {}): InvokeResult {
    const instance = this.#instance;
    if (instance === undefined) {
      throw new ForgeError('FORGE_INSTANCE_STATE', `cannot invoke an instance that is ${this.state}`);
    }
    this.transition('invoke');
    const timeoutMs = options.timeoutMs;
    const meter = this.#meter;
    let result: InvokeResult;
    try {
      const prepared = this.#exports.get(entry) ?? this.#prepare(instance, entry);
      if (this.#mode === 'metered') {
        // No clock read here: the meter starts the call's clock at its first check.
        meter.arm(timeoutMs);
        result = callExport(prepared, this.#world.memory, args, options, meter);
      } else {
        this.#deadlineNs =
          timeoutMs === undefined ? 0n : this.#clock.monotonicNs() + BigInt(timeoutMs) * 1_000_000n;
        this.#deadlineCountdown = 0;
        const call = () => callExport(prepared, this.#world.memory, args, options);
        result =
          timeoutMs !== undefined && this.#mode === 'watchdog' ? callWithDeadline(call, timeoutMs) : call();
      }
    } catch (error) {
      if (error instanceof DeadlineExpired) {
        // V8 unwound the guest and its gate mid-call: nothing of it may run again.
        this.transition('terminate');
        this.#world.recorder.flush();
        this.#world.close();
        return { outcome: timedOut(error.timeoutMs), values: [] };
      }
      // Wrong arguments or a missing export: the caller's error; the instance is unchanged.
      this.transition('return');
      throw error;
    } finally {
      if (this.state !== 'terminated') this.#world.recorder.flush();
    }
    if (meter.expired) {
      // Stopped in the middle of its work, as the watchdog would: nothing of it may run again.
      this.transition('terminate');
      this.#world.close();
      return { outcome: result.outcome, values: [] };
    }
    // A synchronous guest cannot wait at its syscall: the quarantined call is unwound there, and
    // with a redzone holding the container the instance (memory, globals) is kept for a release.
    if (this.#holdQuarantined && isQuarantine(result.outcome)) this.transition('return');
    else this.settle(result.outcome);
    return result;
  }

  #prepare(instance: WebAssembly.Instance, entry: string): ExportCall {
    const prepared = prepareExport(this.#compiled, instance, entry);
    this.#exports.set(entry, prepared);
    return prepared;
  }

  #checkDeadline(): void {
    // Metered, the module's own checks stop the guest; a syscall only starts the call's clock.
    if (this.#mode === 'metered') return this.#meter.start();
    if (this.#deadlineNs === 0n || --this.#deadlineCountdown > 0) return;
    this.#deadlineCountdown = DEADLINE_CHECK_EVERY;
    if (this.#clock.monotonicNs() > this.#deadlineNs) {
      throw new ForgeError(
        'FORGE_LIMIT_TIMEOUT',
        'guest stopped at a syscall: the call ran past its deadline',
        {
          details: { limit: 'timeoutMs' },
        },
      );
    }
  }

  pause(): void {
    this.transition('pause');
  }

  resume(): void {
    this.transition('resume');
  }

  terminate(): Promise<void> {
    if (this.state !== 'terminated') {
      this.transition('terminate');
      this.#world.close();
    }
    return Promise.resolve();
  }

  trace(): TraceEvent[] {
    return this.#world.recorder.events();
  }

  dna(): ExecutionDNA {
    return this.#world.dna.snapshot();
  }

  override logs(): readonly string[] {
    return this.#world.logs;
  }

  override stdout(): Uint8Array {
    return this.#world.wasi.stdout();
  }

  override stderr(): Uint8Array {
    return this.#world.wasi.stderr();
  }
}

/** Inline, an approver must answer at once; a promise cannot be waited for on this thread (deny). */
function syncApprover(
  approver: NonNullable<InstanceOptions['approver']>,
): (...args: Parameters<NonNullable<InstanceOptions['approver']>>) => 'allow' | 'deny' {
  return (request, decision) => {
    const answer = approver(request, decision);
    return answer === 'allow' ? 'allow' : 'deny';
  };
}

function isQuarantine(outcome: InvokeResult['outcome']): boolean {
  return outcome.status === 'trapped' && outcome.error.code === 'FORGE_CONTAINER_QUARANTINED';
}
