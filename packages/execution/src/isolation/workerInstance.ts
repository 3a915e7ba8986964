import {
  ForgeError,
  emptyExecutionDna,
  type ContainerId,
  type Decision,
  type ExecutionDNA,
  type KernelEventBus,
  type SyscallRequest,
} from '@forgeone/common';
import { receiveMessageOnPort } from 'node:worker_threads';
import { TraceBatch, TraceRecorder, type EncodedSnapshot, type TraceEvent } from '@forgeone/observer';
import { DEFAULT_KV_TIMEOUT_MS, KV_BRIDGE_BYTES, answerKvRequest, type KvRequest } from './bridgedKvBackend';
import type { GuestEvent } from '../forge/forgeEventSyscalls';
import type { WorldSpec } from '../world/guestWorld';
import { openLivePolicyLane, type LivePolicyLane } from './workerLivePolicy';
import { deadlineError, type InvokeResult } from './invokeExport';
import type { CompiledModule } from '../module/moduleSource';
import { answerBridge, claimBridge, completeBridge, createBridgeBuffer } from './syncBridge';
import { OUTPUT_DELAY_MS, OutputRingReader, type OutputStream } from './outputRing';
import { decodeTraceBatch, readTraceTail } from './traceTail';
import { noteModuleSent, noteTraceTaken, resetLane, type WorkerLane } from './workerLane';
import type { TypedValue } from './typedValue';
import {
  InstanceBase,
  guestEventSink,
  type InstanceOptions,
  type InvokeCallOptions,
  type WasmInstance,
} from './wasmInstance';
import type { PooledWorker } from './workerPool';
import {
  fromWireError,
  fromWireOutcome,
  type FromWorker,
  type ToWorker,
  type WireModule,
  START_TIME_OFFSET,
} from './workerProtocol';

/**
 * How long a worker may take to build a guest's world (compile its policy) before the guest's own
 * deadline starts: a backstop (policies are compiled, and refused when too big, on the main thread
 * first), so that a world that cannot be built is a policy error, not a hang or a guest timeout.
 */
const PREPARE_LIMIT_MS = 30_000;

/** Default wait for an operator's answer before the call is denied. */
export const DEFAULT_APPROVER_TIMEOUT_MS = 30_000;

/** A call's wall-clock deadline that stops counting while the guest waits for the main thread. */
class Deadline {
  #timer: NodeJS.Timeout | undefined;
  #left: number;
  #startedAt = 0;

  constructor(
    ms: number,
    readonly onExpire: () => void,
  ) {
    this.#left = ms;
    this.resume();
  }

  pause(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#left -= Date.now() - this.#startedAt;
  }

  resume(): void {
    if (this.#timer !== undefined) return;
    this.#startedAt = Date.now();
    this.#timer = setTimeout(this.onExpire, Math.max(0, this.#left));
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

interface PendingCall {
  readonly resolve: (result: InvokeResult) => void;
  readonly reject: (error: unknown) => void;
  readonly deadline: Deadline | undefined;
}

/**
 * A guest in a pooled worker thread. A call past its deadline is stopped by terminating the
 * worker (a guest in `(loop br 0)` cannot be interrupted any other way); the main thread never
 * waits on the guest. Synchronous guest calls that need the main thread (an operator's approval,
 * every kv call) block the worker on `Atomics.wait` while the main thread answers through shared
 * memory. A kv call is applied to `options.kv` before the guest's call returns, so nothing the
 * guest was told succeeded can be lost when its worker is stopped.
 */
export class WorkerInstance extends InstanceBase implements WasmInstance {
  readonly isolation = 'worker';
  readonly containerId: ContainerId;
  readonly replay = undefined;
  #startOutcome: InvokeResult['outcome'] | undefined;
  readonly #pooled: PooledWorker;
  readonly #options: InstanceOptions;
  /**
   * Shared with the worker for the main thread's answers: made only when there can be one (an
   * approver: 64 KiB; a kv namespace: room for the largest kv value).
   */
  readonly #bridge: SharedArrayBuffer | undefined;
  /** The worker's control words, trace port and tail, shared for the worker's life (see workerLane.ts). */
  readonly #lane: WorkerLane;
  readonly #control: Int32Array;
  readonly #output: OutputRingReader;
  /** Set while a read of the output ring is scheduled (see outputRing.ts). */
  #outputTimer: NodeJS.Timeout | undefined;
  readonly #onEvent: ((event: GuestEvent) => void) | undefined;
  readonly #trace: TraceRecorder;
  #dna: ExecutionDNA;
  #nextCall = 1;
  #pending = new Map<number, PendingCall>();
  #instantiated: ((message: Extract<FromWorker, { type: 'instantiated' | 'failed' }>) => void) | undefined;
  #ended = false;
  /** Keeps a guest under a live policy on the version in force (see workerLivePolicy.ts). */
  readonly #live: LivePolicyLane | undefined;

  private constructor(
    pooled: PooledWorker,
    spec: WorldSpec,
    options: InstanceOptions,
    events: KernelEventBus | undefined,
  ) {
    super();
    this.#pooled = pooled;
    this.#options = options;
    this.#onEvent = guestEventSink(options, events);
    this.#bridge =
      options.kv !== undefined
        ? createBridgeBuffer(KV_BRIDGE_BYTES)
        : options.approver !== undefined
          ? createBridgeBuffer()
          : undefined;
    this.containerId = spec.containerId;
    this.#live = openLivePolicyLane(spec.enforcer);
    this.#trace = new TraceRecorder(
      options.traceCapacity === undefined ? {} : { capacity: options.traceCapacity },
    );
    this.#dna = emptyExecutionDna(spec.containerId);
    this.#lane = pooled.lane;
    this.#control = pooled.lane.control;
    resetLane(this.#lane);
    this.#output = new OutputRingReader(pooled.lane.output);
    this.#lane.sink = this.#onTrace;
    pooled.worker.on('message', this.#onMessage);
    pooled.worker.on('error', this.#onError);
    pooled.worker.on('exit', this.#onExit);
  }

  /** Lends a pooled worker the module and world, and waits until the guest is instantiated. */
  static async start(
    pooled: PooledWorker,
    compiled: CompiledModule,
    spec: WorldSpec,
    options: InstanceOptions,
    events?: KernelEventBus,
  ): Promise<WorkerInstance> {
    const instance = new WorkerInstance(pooled, spec, options, events);
    if (options.fromSnapshot !== undefined) {
      await instance.#detach(false);
      throw snapshotInWorker();
    }
    let deadline: Deadline | undefined;
    const reply = await new Promise<
      Extract<FromWorker, { type: 'instantiated' | 'failed' }> | 'expired' | 'unprepared'
    >((resolve) => {
      instance.#instantiated = resolve;
      // The module's start function runs in the worker at instantiation: it gets a deadline too.
      // Its clock starts when the worker starts the guest (it writes the time into the control
      // buffer), not before: building the world, compiling the policy first, is not the guest's time.
      const startTimeoutMs = options.startTimeoutMs;
      const sentAt = Date.now();
      const began = new Float64Array(instance.#control.buffer, START_TIME_OFFSET, 1);
      const arm = (ms: number): void => {
        deadline = new Deadline(ms, () => {
          const at = began[0]!;
          const now = Date.now();
          if (at === 0) {
            if (now - sentAt >= PREPARE_LIMIT_MS) resolve('unprepared');
            else arm(Math.min(startTimeoutMs!, PREPARE_LIMIT_MS - (now - sentAt)));
          } else if (now < at + startTimeoutMs!) arm(at + startTimeoutMs! - now);
          else resolve('expired');
        });
      };
      if (startTimeoutMs !== undefined) arm(startTimeoutMs);
      const live = instance.#live?.wire;
      const wire = wireModuleOf(compiled);
      // A pooled worker keeps the modules it was sent: a launch of one of them sends its number.
      const held = instance.#lane.modulesSent.has(wire.id);
      instance.#send({
        type: 'instantiate',
        moduleId: wire.id,
        ...(held ? {} : { module: wire }),
        world: spec,
        ...(live && { livePolicy: live }),
        ...(instance.#bridge === undefined ? {} : { bridge: instance.#bridge }),
        ...(options.approver === undefined
          ? {}
          : { approverTimeoutMs: options.approverTimeoutMs ?? DEFAULT_APPROVER_TIMEOUT_MS }),
        forwardAudit: options.onAudit !== undefined,
        forwardEvents: instance.#onEvent !== undefined,
        ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
        ...(options.kv === undefined
          ? {}
          : {
              kv: {
                namespace: options.kv.namespace,
                timeoutMs: options.kvTimeoutMs ?? DEFAULT_KV_TIMEOUT_MS,
              },
            }),
      });
      // Posted: the worker keeps it now (a message that could not be cloned reached no one).
      if (!held) noteModuleSent(instance.#lane, wire.id);
    });
    deadline?.clear();
    instance.#instantiated = undefined;
    if (reply === 'unprepared') {
      await instance.#detach(true);
      throw new ForgeError(
        'FORGE_POLICY_INVALID',
        `the isolation worker spent more than ${PREPARE_LIMIT_MS / 1000} s building the guest's world (compiling its policy): make the policy smaller`,
      );
    }
    if (reply === 'expired') {
      const error = deadlineError(options.startTimeoutMs!, 'its start function');
      instance.#startOutcome = { status: 'trapped', exitCode: null, error };
      instance.transition('invoke');
      instance.settle(instance.#startOutcome);
      await instance.#detach(true); // the worker is still running the guest: it is replaced
      return instance;
    }
    if (reply.type === 'failed') {
      await instance.#detach(false);
      throw fromWireError(reply.error);
    }
    if (reply.outcome !== undefined) {
      instance.#startOutcome = fromWireOutcome(reply.outcome);
      instance.transition('invoke');
      instance.settle(instance.#startOutcome);
      await instance.#detach(false);
    }
    return instance;
  }

  get startOutcome(): InvokeResult['outcome'] | undefined {
    return this.#startOutcome;
  }

  /** The count the worker's gate keeps in the shared control words (current even mid-call). */
  get callsMade(): number {
    return Atomics.load(this.#control, 1);
  }

  get droppedEvents(): number {
    this.#drainTrace();
    return this.#trace.dropped;
  }

  /** Takes every trace message the worker posted so far (synchronously: also after it was terminated). */
  #drainTrace(): void {
    for (;;) {
      const received = receiveMessageOnPort(this.#lane.port);
      if (received === undefined) return;
      noteTraceTaken(this.#lane);
      this.#onTrace(received.message as FromWorker);
    }
  }

  readonly #onTrace = (message: FromWorker): void => {
    if (message.type !== 'trace') return;
    // What the guest wrote before these calls ended comes first, as it did.
    this.#drainOutput();
    const events = decodeTraceBatch(message.batch);
    for (const event of events) this.#trace.append(event);
    this.#options.onTraceBatch?.(events);
    this.#options.onTraceLazyBatch?.(TraceBatch.of(events));
  };

  invoke(
    entry: string,
    args: readonly TypedValue[] = [],
    options: InvokeCallOptions = {},
  ): Promise<InvokeResult> {
    try {
      this.transition('invoke');
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.#nextCall++;
    const { timeoutMs, ...invokeOptions } = options;
    return new Promise<InvokeResult>((resolve, reject) => {
      const deadline =
        timeoutMs === undefined ? undefined : new Deadline(timeoutMs, () => void this.#expire(id, timeoutMs));
      this.#pending.set(id, { resolve, reject, deadline });
      this.#send({ type: 'invoke', id, entry, args, options: invokeOptions });
    });
  }

  pause(): void {
    this.transition('pause');
    Atomics.store(this.#control, 0, 1);
  }

  resume(): void {
    this.transition('resume');
    Atomics.store(this.#control, 0, 0);
    Atomics.notify(this.#control, 0);
    for (const call of this.#pending.values()) call.deadline?.resume();
  }

  async terminate(): Promise<void> {
    if (this.state === 'terminated') return;
    // A call may be running: the worker cannot be trusted to come back, so it is replaced.
    const busy = this.callInFlight || this.#pending.size > 0;
    this.transition('terminate');
    if (this.#pending.size > 0) {
      this.#failPending(
        new ForgeError('FORGE_INSTANCE_STATE', 'the instance was terminated during the call'),
      );
    }
    await this.#detach(busy);
  }

  /** Snapshots are taken inline only: a worker's memory would have to cross to this thread mid-life. */
  captureSnapshot(): EncodedSnapshot {
    throw snapshotInWorker();
  }

  trace(): TraceEvent[] {
    this.#drainTrace();
    return this.#trace.events();
  }

  dna(): ExecutionDNA {
    return this.#dna;
  }

  async #expire(id: number, timeoutMs: number): Promise<void> {
    const call = this.#pending.get(id);
    if (call === undefined) return;
    this.#pending.delete(id);
    await this.#stop([call], deadlineError(timeoutMs));
  }

  /**
   * Ends the guest for good (its worker is replaced) and reports `error` as each call's outcome at
   * once: the worker is told to stop, but its calls do not wait for it to be gone. (V8 may take
   * long to honour a terminate, e.g. while a guest grows its memory page by page and every grow
   * runs a garbage collection; the deadline is kept all the same.)
   */
  async #stop(calls: readonly PendingCall[], error: ForgeError): Promise<void> {
    const outcome = { status: 'trapped', exitCode: null, error } as const;
    if (this.state !== 'terminated') this.transition('terminate');
    const stopped = this.#detach(true);
    for (const call of calls) {
      call.deadline?.clear();
      call.resolve({ outcome, values: [] });
    }
    await stopped;
  }

  #send(message: ToWorker): void {
    const live = this.#live?.wire.port;
    this.#pooled.worker.postMessage(message, live && message.type === 'instantiate' ? [live] : []);
  }

  /** Hands over what the guest wrote so far (in the order it wrote it). */
  #drainOutput(): void {
    if (this.#outputTimer !== undefined) {
      clearTimeout(this.#outputTimer);
      this.#outputTimer = undefined;
    }
    this.#output.drain(this.#deliverOutput);
  }

  readonly #deliverOutput = (stream: OutputStream, bytes: Uint8Array): void => {
    if (stream === 'stdout') {
      this.stdoutChunks.push(bytes);
      this.#options.onStdout?.(bytes);
    } else {
      this.stderrChunks.push(bytes);
      this.#options.onStderr?.(bytes);
    }
  };

  readonly #onMessage = (message: FromWorker): void => {
    if (message.type === 'output') {
      // Writes gather for a moment (one wake-up for many); a guest waiting for room is read at once.
      if (message.urgent) this.#drainOutput();
      else this.#outputTimer ??= setTimeout(() => this.#drainOutput(), OUTPUT_DELAY_MS);
      return;
    }
    // The guest wrote that output before this message: it keeps its place.
    this.#drainOutput();
    switch (message.type) {
      case 'instantiated':
        this.#instantiated?.(message);
        return;
      case 'result': {
        const call = this.#pending.get(message.id);
        if (call === undefined) return;
        this.#pending.delete(message.id);
        call.deadline?.clear();
        // The call's events were posted (on the trace port) before its result.
        this.#drainTrace();
        this.#dna = message.dna;
        const outcome = fromWireOutcome(message.outcome);
        this.settle(outcome);
        if (this.state === 'terminated') void this.#detach(false);
        call.resolve({
          outcome,
          values: message.values,
          ...(message.fuelLeft === undefined ? {} : { fuelLeft: message.fuelLeft }),
        });
        return;
      }
      case 'failed': {
        if (message.id === undefined) {
          this.#instantiated?.(message);
          return;
        }
        const call = this.#pending.get(message.id);
        if (call === undefined) return;
        this.#pending.delete(message.id);
        call.deadline?.clear();
        if (this.state === 'running' || this.state === 'paused') this.transition('return');
        call.reject(fromWireError(message.error));
        return;
      }
      case 'log':
        this.logLines.push(message.message);
        this.#options.onLog?.(message.message);
        return;
      case 'audit':
        this.#options.onAudit?.(message.entry);
        return;
      case 'kv':
        this.#serveKv(message.id, message.request);
        return;
      case 'event':
        try {
          this.#onEvent?.({ containerId: this.containerId, name: message.name, payload: message.payload });
        } catch {
          // Fire-and-forget: the guest already has its OK, and a listener's failure must not end the host.
        }
        return;
      case 'paused': {
        // Without someone to decide (a redzone holding it), a quarantined guest is stopped at once:
        // a suspended guest that nobody will ever release is a hang, not a safe state.
        this.#drainTrace();
        if (message.dna !== undefined) this.#dna = message.dna;
        if (message.reason.startsWith('quarantined:') && !this.#options.holdQuarantined) {
          const calls = [...this.#pending.values()];
          this.#pending.clear();
          const reason = message.reason.slice('quarantined:'.length).trim();
          void this.#stop(
            calls,
            new ForgeError('FORGE_CONTAINER_QUARANTINED', `container quarantined: ${reason}`, {
              details: { containerId: this.containerId, reason },
            }),
          );
          return;
        }
        // Posted before a resume that this thread has made since: the guest runs, and its
        // deadline keeps counting.
        if (message.reason === 'paused' && this.state !== 'paused') return;
        for (const call of this.#pending.values()) call.deadline?.pause();
        // A pause the main thread asked for is in the state already (and may have been resumed
        // since this word was posted); only a worker's own pause (a quarantine held) moves it.
        if (this.state === 'running' && message.reason !== 'paused') this.transition('pause');
        this.#options.onPaused?.(message.reason);
        return;
      }
      case 'bridge':
        void this.#answer(message);
        return;
      default:
        return;
    }
  };

  /**
   * Applies a guest's kv call to the namespace and answers it, unless the guest stopped waiting:
   * it was then told UNAVAILABLE, so the call must not happen after all. Once claimed, the answer
   * always comes: at once, or (a write, with durable kv) right after the group commit that keeps it.
   */
  #serveKv(id: number, request: KvRequest): void {
    const bridge = this.#bridge;
    if (bridge === undefined) return;
    if (!claimBridge(bridge, id)) {
      try {
        this.#options.onKvUnanswered?.(
          request.op === 'usage' ? { op: request.op } : { op: request.op, key: request.key },
        );
      } catch {
        // A listener's failure must not end the host.
      }
      return;
    }
    answerKvRequest(this.#options.kv, request, KV_BRIDGE_BYTES, (code, bytes) =>
      completeBridge(bridge, code, bytes),
    );
  }

  /** Answers a guest's question (an approval) while its deadline stands still. */
  async #answer(request: Extract<FromWorker, { type: 'bridge' }>): Promise<void> {
    for (const call of this.#pending.values()) call.deadline?.pause();
    let answer: 'allow' | 'deny' = 'deny';
    try {
      if (request.kind === 'approve' && this.#options.approver) {
        const { request: syscall, decision } = request.payload as unknown as {
          request: SyscallRequest;
          decision: Decision;
        };
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'deny'>((resolve) => {
          timer = setTimeout(() => resolve('deny'), request.timeoutMs);
        });
        answer = await Promise.race([Promise.resolve(this.#options.approver(syscall, decision)), timeout]);
        clearTimeout(timer);
      }
    } catch {
      answer = 'deny';
    }
    if (!this.#ended && this.#bridge !== undefined)
      answerBridge(this.#bridge, request.id, answer === 'allow' ? 'allow' : 'deny');
    for (const call of this.#pending.values()) call.deadline?.resume();
  }

  readonly #onError = (error: Error): void => {
    const memory = /ERR_WORKER_OUT_OF_MEMORY|heap out of memory/i.test(
      `${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}`,
    );
    const forge = memory
      ? new ForgeError(
          'FORGE_LIMIT_MEMORY',
          'guest stopped: the isolation worker ran out of its memory budget',
          {
            details: { limit: 'workerHeapMb' },
          },
        )
      : new ForgeError('FORGE_WORKER_FAILED', `the isolation worker failed: ${error.message}`);
    this.#crash(forge);
  };

  readonly #onExit = (): void => {
    if (!this.#ended)
      this.#crash(new ForgeError('FORGE_WORKER_FAILED', 'the isolation worker exited during the call'));
  };

  #crash(error: ForgeError): void {
    for (const [id, call] of this.#pending) {
      this.#pending.delete(id);
      call.deadline?.clear();
      call.resolve({ outcome: { status: 'trapped', exitCode: null, error }, values: [] });
    }
    if (this.state !== 'terminated') this.transition('terminate');
    void this.#detach(true);
  }

  #failPending(error: ForgeError): void {
    for (const [id, call] of this.#pending) {
      this.#pending.delete(id);
      call.deadline?.clear();
      call.reject(error);
    }
  }

  /** Gives the worker back (after it dropped the instance), or destroys it when it may be stuck. */
  async #detach(destroy: boolean): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#live?.close();
    const { worker } = this.#pooled;
    worker.off('message', this.#onMessage);
    worker.off('error', this.#onError);
    worker.off('exit', this.#onExit);
    if (destroy) {
      // A guest held at a syscall (paused, quarantined) stays held until the terminate ends it:
      // let go, it would make calls of its own past a quarantine, and their events could reach
      // the record read below. (A guest waiting on the bridge is inside a call, so its worker is
      // destroyed too; its question is never claimed.)
      // The terminate is asked for now; the record is closed at once too: calls the worker's gate
      // saw that have not reached the trace port by now are counted as dropped, not waited for.
      const stopped = this.#pooled.destroy();
      this.#closeTrace();
      await stopped;
      return;
    }
    // Not in a call: nothing is held, and the next instance starts with the flag clear.
    Atomics.store(this.#control, 0, 0);
    Atomics.notify(this.#control, 0);
    // A worker handles its messages in order: it drops this instance before it reads the next
    // one's `instantiate`, so it can be lent again at once, without a round trip.
    worker.postMessage({ type: 'dispose' } satisfies ToWorker);
    this.#pooled.release();
    this.#closeTrace();
  }

  /**
   * Reads the last of the worker's trace messages, then counts the calls its gate saw whose events
   * never came (the worker was stopped before it could post them) as dropped, so the record says
   * which sequence numbers are gone rather than leave them out unsaid.
   */
  #closeTrace(): void {
    this.#drainOutput();
    this.#drainTrace();
    const tail = readTraceTail(this.#lane.tail).filter((event) => event.seq >= this.#trace.nextSeq());
    for (const event of tail) this.#trace.append(event);
    if (tail.length > 0) {
      this.#options.onTraceBatch?.(tail);
      this.#options.onTraceLazyBatch?.(TraceBatch.of(tail));
    }
    this.#trace.skipTo(Atomics.load(this.#control, 1) + 1);
    this.#lane.sink = undefined;
  }
}

/**
 * By compiled module object: a host hands out a new CompiledModule per load of the same source,
 * with the one WebAssembly.Module its cache holds (the same module gets the same number).
 */
const wireModules = new WeakMap<WebAssembly.Module, WireModule>();

/** The number the next compiled module sent to a worker gets (see WireModule.id). */
let nextWireModuleId = 1;

/** What a worker is sent of a module, worked out once per compiled module. */
function wireModuleOf(compiled: CompiledModule): WireModule {
  let wire = wireModules.get(compiled.module);
  if (wire === undefined) {
    wire = {
      id: nextWireModuleId++,
      module: compiled.module,
      sha256: compiled.sha256,
      fuel: compiled.fuel === true,
      signatures: Object.fromEntries(
        (compiled.info?.exports ?? []).flatMap((e) => (e.signature ? [[e.name, e.signature]] : [])),
      ),
    };
    wireModules.set(compiled.module, wire);
  }
  return wire;
}

function snapshotInWorker(): ForgeError {
  return new ForgeError(
    'FORGE_SNAPSHOT_UNSUPPORTED',
    'snapshots are captured and restored in inline isolation only; use isolation inline',
    { details: { what: 'isolation worker' } },
  );
}
