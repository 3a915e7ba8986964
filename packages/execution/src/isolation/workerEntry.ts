// The isolation worker: runs one guest instance at a time for the main thread's WasmHost. Built as
// its own entry (dist/hostWorker.js); it holds no state beyond the instance it is lent for.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import {
  adoptCoarseClock,
  systemClock,
  type ExecutionDNA,
  type JsonValue,
  type SyscallRequest,
} from '@forgeone/common';
import { parsedEnforcerSpec, type EnforcerSpec } from '../gate/enforcerSpec';
import { BridgedKvBackend } from './bridgedKvBackend';
import { livePolicyHooks, type WorkerLivePolicy } from './workerLivePolicy';
import { createGuestWorld, type GuestWorld } from '../world/guestWorld';
import { instantiateGuest, invokeExport } from './invokeExport';
import { isReservedExport } from '../module/wasmCodeRewrite';
import type { CompiledModule } from '../module/moduleSource';
import { SyncBridgeClient } from './syncBridge';
import { OutputRingWriter } from './outputRing';
import { TraceTailWriter } from './traceTail';
import { MAX_TRACE_MESSAGES_IN_FLIGHT, TRACE_TAKEN_WORD, laneEndsOf } from './workerLane';
import {
  toWireError,
  toWireOutcome,
  type FromWorker,
  type ToWorker,
  MAX_WORKER_MODULES,
  START_TIME_OFFSET,
} from './workerProtocol';

const port = parentPort;
if (port === null) throw new Error('hostWorker must run in a worker thread');
// Read the pool's coarse clock rather than start a ticker thread per worker.
adoptCoarseClock((workerData as { coarseClock?: unknown } | null)?.coarseClock);
// The control words, trace port and tail this worker shares with the main thread for its life.
const lane = laneEndsOf(workerData) ?? failNoLane();
const laneControl = new Int32Array(lane.control);
const laneTail = new TraceTailWriter(lane.tail);

function failNoLane(): never {
  throw new Error('hostWorker must be started by a WorkerPool (its workerData has no lane)');
}
/** How often a paused guest repeats that it is paused (see waitWhilePaused). */
const PAUSED_REPEAT_MS = 10;
const post = (message: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer ?? []);
const laneOutput = new OutputRingWriter(lane.output, (urgent) => post({ type: 'output', urgent }));

let current:
  | {
      compiled: CompiledModule;
      world: GuestWorld;
      instance: WebAssembly.Instance;
      trace: MessagePort;
      live?: WorkerLivePolicy | undefined;
    }
  | undefined;

/** Trace messages posted for the current instance (the main thread counts those it took in the lane). */
let tracePosted = 0;

/**
 * Waits (the guest is at a syscall) until the main thread has taken all but
 * MAX_TRACE_MESSAGES_IN_FLIGHT of the trace messages posted: a guest cannot post faster than the
 * main thread reads, whatever its rate of calls.
 */
function waitForTraceRoom(): void {
  for (;;) {
    const taken = Atomics.load(laneControl, TRACE_TAKEN_WORD);
    if (tracePosted - taken <= MAX_TRACE_MESSAGES_IN_FLIGHT) return;
    Atomics.wait(laneControl, TRACE_TAKEN_WORD, taken, 50);
  }
}

/**
 * Hands the main thread the events it has not seen yet, on the instance's trace port: the main
 * thread reads that port synchronously, also after it terminated this worker, so what is posted
 * there is never lost to a deadline.
 */
function sendTrace(): void {
  current?.world.recorder.flush();
}

/**
 * The compiled modules this worker was sent, by number (WireModule.id), oldest first: a pooled
 * worker is lent the same modules again and again, and the main thread sends each one once (it
 * evicts as this does, so a launch that sends only a number finds it here).
 */
const modules = new Map<number, CompiledModule>();

function compiledOf(message: Extract<ToWorker, { type: 'instantiate' }>): CompiledModule {
  const wire = message.module;
  if (wire === undefined) {
    const kept = modules.get(message.moduleId);
    if (kept === undefined) throw new Error(`module ${message.moduleId} was never sent to this worker`);
    return kept;
  }
  const compiled: CompiledModule = {
    module: wire.module,
    sha256: wire.sha256,
    fuel: wire.fuel,
    imports: WebAssembly.Module.imports(wire.module),
    exports: WebAssembly.Module.exports(wire.module).filter((e) => !isReservedExport(e.name)),
    info: {
      imports: [],
      exports: Object.entries(wire.signatures).map(([name, signature]) => ({
        name,
        kind: 'function',
        signature,
      })),
      memories: [],
      tables: [],
      // Not sent: the deadline of a worker's start function is kept by the main thread.
      hasStart: true,
    },
  };
  if (!modules.has(wire.id) && modules.size >= MAX_WORKER_MODULES) {
    const oldest = modules.keys().next().value;
    if (oldest !== undefined) modules.delete(oldest);
  }
  modules.set(wire.id, compiled);
  return compiled;
}

/** Allow-list specs this worker was sent, parsed and frozen once each (the enforcer is then prepared once too). */
const enforcerSpecs = new Map<string, EnforcerSpec>();
const MAX_ENFORCER_SPECS = 64;

function enforcerSpecOf(spec: EnforcerSpec): EnforcerSpec {
  // JSON is a faithful key only for plain data: a policy document or per-syscall policy may hold anything.
  if (spec.policy.kind !== 'allow-list' || spec.syscalls !== undefined) return spec;
  const key = JSON.stringify(spec);
  let parsed = enforcerSpecs.get(key);
  if (parsed === undefined) {
    parsed = parsedEnforcerSpec(spec);
    if (enforcerSpecs.size >= MAX_ENFORCER_SPECS) enforcerSpecs.clear();
    enforcerSpecs.set(key, parsed);
  }
  return parsed;
}

const jsonSafe = (value: unknown): JsonValue =>
  JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
  ) as JsonValue;

function instantiate(message: Extract<ToWorker, { type: 'instantiate' }>): void {
  // First: a module sent is kept even when this launch fails (the main thread counts it as held).
  const compiled = compiledOf(message);
  const control = laneControl;
  const { approverTimeoutMs } = message;
  const bridge =
    message.bridge === undefined
      ? undefined
      : new SyncBridgeClient(message.bridge, (request) => post(request));
  // The namespace stays on the main thread: each kv call is applied there before it returns.
  const kv =
    message.kv === undefined || bridge === undefined
      ? undefined
      : new BridgedKvBackend(
          message.kv.namespace,
          bridge,
          (id, request) => post({ type: 'kv', id, request }),
          message.kv.timeoutMs,
        );
  const { trace } = lane;
  const tail = laneTail;
  tail.reset();
  tracePosted = 0;
  const waitWhilePaused = (reason: string, dna?: ExecutionDNA) => {
    post({ type: 'paused', reason, ...(dna === undefined ? {} : { dna }) });
    // A resume and a new pause can both land before this thread waits (the resume's notify is
    // then lost and the flag reads paused again): the main thread's new pause waits for a word
    // that this thread, still blocked, would never send. So while paused it says so again every
    // PAUSED_REPEAT_MS (the main thread ignores the words it did not wait for). A repeat only says
    // "still blocked" (reason `paused`), never the quarantine again: one posted just before a
    // release arrives after it, and would quarantine the released container anew while its guest
    // runs on (its next calls then waited for a release that never came).
    while (Atomics.load(control, 0) === 1) {
      Atomics.wait(control, 0, 1, PAUSED_REPEAT_MS);
      if (Atomics.load(control, 0) === 1) post({ type: 'paused', reason: 'paused' });
    }
  };
  const spec = Object.assign({}, message.world, { enforcer: enforcerSpecOf(message.world.enforcer) });
  let live: WorkerLivePolicy | undefined;
  const world = createGuestWorld(
    spec,
    livePolicyHooks(message, spec.enforcer, (l) => (live = l), {
      clock: systemClock,
      onLog: (text) => post({ type: 'log', message: text }),
      onStdout: (bytes) => laneOutput.write('stdout', bytes),
      onStderr: (bytes) => laneOutput.write('stderr', bytes),
      // Events go to the main thread in batches, and those of the last few calls into the shared
      // tail (see TraceTailWriter): the worker may be terminated at any moment.
      // Unbuilt: the tail holds most of a batch encoded already (TraceTailWriter.batchBytes).
      onTraceLazyBatch: (events) => {
        const batch = tail.batchBytes(events);
        const lastSeq = events.lastSeq;
        events.release();
        trace.postMessage({ type: 'trace', batch } satisfies FromWorker, [batch]);
        tail.posted(lastSeq);
        tracePosted += 1;
        waitForTraceRoom();
      },
      ...(message.forwardAudit ? { audit: (entry: JsonValue) => post({ type: 'audit', entry }) } : {}),
      ...(kv ? { kv } : {}),
      ...(message.secrets === undefined ? {} : { secrets: message.secrets }),
      ...(message.forwardEvents
        ? { onGuestEvent: ({ name, payload }) => post({ type: 'event', name, payload }) }
        : {}),
      ...(bridge && approverTimeoutMs !== undefined
        ? {
            approver: (request: SyscallRequest, decision) =>
              bridge.request('approve', jsonSafe({ request, decision }), approverTimeoutMs) === 'allow'
                ? ('allow' as const)
                : ('deny' as const),
          }
        : {}),
      onQuarantine: (reason) => {
        // The main thread may stop this worker for good: hand over the trace up to this call first.
        sendTrace();
        Atomics.store(control, 0, 1);
        // With the DNA up to this call: the worker may be stopped here, before any result says it.
        waitWhilePaused(`quarantined: ${reason}`, world.dna.snapshot());
      },
      checkpoint: () => {
        if (Atomics.load(control, 0) === 1) waitWhilePaused('paused');
        // Word 1 counts the calls the gate saw: the main thread reads it after a terminate, and
        // reports every call whose event never reached it as dropped, by sequence number.
        control[1] = control[1]! + 1;
      },
      afterCall: () => tail.afterCall(world.recorder),
    }),
    compiled.imports,
  );
  // The guest's clock (its start function's deadline, kept by the main thread) starts now.
  new Float64Array(lane.control, START_TIME_OFFSET, 1)[0] = Date.now();
  const instance = instantiateGuest(compiled, world.imports, world.memory);
  current = { compiled, world, instance: undefined as never, trace, live };
  if (!(instance instanceof WebAssembly.Instance)) {
    sendTrace();
    current = undefined;
    world.close();
    post({ type: 'instantiated', outcome: toWireOutcome(instance) });
    return;
  }
  current.instance = instance;
  post({ type: 'instantiated', outcome: undefined });
}

function invoke(message: Extract<ToWorker, { type: 'invoke' }>): void {
  if (current === undefined) throw new Error('no instance');
  const { compiled, world, instance } = current;
  current.live?.check(); // a version swapped in between two calls decides the first of them
  const result = invokeExport(compiled, instance, world.memory, message.entry, message.args, message.options);
  sendTrace();
  post({
    type: 'result',
    id: message.id,
    outcome: toWireOutcome(result.outcome),
    values: result.values,
    ...(result.fuelLeft === undefined ? {} : { fuelLeft: result.fuelLeft }),
    dna: world.dna.snapshot(),
  });
}

port.on('message', (message: ToWorker) => {
  try {
    switch (message.type) {
      case 'instantiate':
        instantiate(message);
        return;
      case 'invoke':
        invoke(message);
        return;
      case 'dispose': {
        // Nobody waits for this: the worker is lent again as soon as the message is sent.
        const world = current?.world;
        // (The trace port is closed by the main thread once it read everything on it.)
        current?.live?.close();
        current = undefined;
        world?.close();
        return;
      }
    }
  } catch (error) {
    // Closing is best effort (WasiState.closeAll); a report now would reach the next instance.
    if (message.type === 'dispose') return;
    sendTrace();
    post({
      type: 'failed',
      id: message.type === 'invoke' ? message.id : undefined,
      error: toWireError(error),
    });
  }
});
post({ type: 'ready' });
