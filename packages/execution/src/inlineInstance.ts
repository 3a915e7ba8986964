import {
  ForgeError,
  type Clock,
  type ContainerId,
  type ExecutionDNA,
  type KernelEventBus,
} from '@forgeone/common';
import type { TraceEvent } from '@forgeone/observer';
import { createGuestWorld, type GuestWorld, type WorldSpec } from './guestWorld';
import { instantiateGuest, invokeExport, type InvokeResult } from './instanceRunner';
import type { CompiledModule } from './moduleSource';
import type { ReplayCursor } from './replaySyscalls';
import type { TypedValue } from './typedValue';
import {
  InstanceBase,
  guestEventSink,
  type InstanceOptions,
  type InvokeCallOptions,
  type WasmInstance,
} from './wasmInstance';

/** Checks the syscall-boundary deadline every this many calls (reading the clock costs more than a call). */
const DEADLINE_CHECK_EVERY = 32;

/**
 * A guest on the calling thread: the cheapest isolation. A deadline can only be checked when the
 * guest calls the host, so a guest that loops without calling is stopped only by fuel metering —
 * run untrusted code with worker isolation.
 */
export class InlineInstance extends InstanceBase implements WasmInstance {
  readonly isolation = 'inline';
  readonly containerId: ContainerId;
  readonly startOutcome: InvokeResult['outcome'] | undefined;
  readonly #compiled: CompiledModule;
  readonly #world: GuestWorld;
  readonly #instance: WebAssembly.Instance | undefined;
  readonly #clock: Clock;
  #deadlineNs = 0n;
  #deadlineCountdown = DEADLINE_CHECK_EVERY;

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
        ...(options.onAudit ? { audit: options.onAudit } : {}),
        ...(options.approver ? { approver: syncApprover(options.approver) } : {}),
        ...(options.extraDefinitions ? { extraDefinitions: options.extraDefinitions } : {}),
        ...(options.kv ? { kv: options.kv } : {}),
        ...(onGuestEvent ? { onGuestEvent } : {}),
        ...(options.enforcerInstance ? { enforcer: options.enforcerInstance } : {}),
        ...(events ? { events } : {}),
        checkpoint: () => this.#checkDeadline(),
      },
      compiled.imports,
    );
    let instance: WebAssembly.Instance | ReturnType<typeof instantiateGuest>;
    try {
      instance = instantiateGuest(compiled, this.#world.imports, this.#world.memory);
    } catch (error) {
      this.#world.close();
      throw error;
    }
    if (instance instanceof WebAssembly.Instance) {
      this.#instance = instance;
      this.startOutcome = undefined;
    } else {
      this.#instance = undefined;
      this.startOutcome = instance;
      this.transition('invoke');
      this.settle(instance);
      this.#world.recorder.flush();
    }
  }

  get replay(): ReplayCursor | undefined {
    return this.#world.replay;
  }

  get droppedEvents(): number {
    return this.#world.recorder.dropped;
  }

  invoke(
    entry: string,
    args: readonly TypedValue[] = [],
    options: InvokeCallOptions = {},
  ): Promise<InvokeResult> {
    return new Promise((resolve) => resolve(this.invokeSync(entry, args, options)));
  }

  /** `invoke` without the promise (inline only): the cheapest way to call a guest. */
  invokeSync(entry: string, args: readonly TypedValue[] = [], options: InvokeCallOptions = {}): InvokeResult {
    const instance = this.#instance;
    if (instance === undefined) {
      throw new ForgeError('FORGE_INSTANCE_STATE', `cannot invoke an instance that is ${this.state}`);
    }
    this.transition('invoke');
    this.#deadlineNs =
      options.timeoutMs === undefined
        ? 0n
        : this.#clock.monotonicNs() + BigInt(options.timeoutMs) * 1_000_000n;
    this.#deadlineCountdown = 0;
    let result: InvokeResult;
    try {
      result = invokeExport(this.#compiled, instance, this.#world.memory, entry, args, options);
    } catch (error) {
      // Wrong arguments or a missing export: the caller's error; the instance is unchanged.
      this.transition('return');
      throw error;
    } finally {
      this.#world.recorder.flush();
    }
    this.settle(result.outcome);
    return result;
  }

  #checkDeadline(): void {
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
