// The isolation worker: runs one guest instance at a time for the main thread's WasmHost. Built as
// its own entry (dist/hostWorker.js); it holds no state beyond the instance it is lent for.
import { parentPort } from 'node:worker_threads';
import { systemClock, type JsonValue, type SyscallRequest } from '@forgeone/common';
import { createGuestWorld, type GuestWorld } from './guestWorld';
import { instantiateGuest, invokeExport } from './instanceRunner';
import type { CompiledModule } from './moduleSource';
import { SyncBridgeClient } from './syncBridge';
import { plainEvents } from './syscallGate';
import {
  toWireError,
  toWireOutcome,
  type FromWorker,
  type ToWorker,
  type WireModule,
} from './workerProtocol';

const port = parentPort;
if (port === null) throw new Error('hostWorker must run in a worker thread');
const post = (message: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer ?? []);

let current:
  | {
      compiled: CompiledModule;
      world: GuestWorld;
      instance: WebAssembly.Instance;
      streamTrace: boolean;
      sentSeq: number;
    }
  | undefined;

/** Hands the main thread the events it has not seen yet. */
function sendTrace(): void {
  if (current === undefined) return;
  if (current.streamTrace) {
    current.world.recorder.flush();
    return;
  }
  const { sentSeq } = current;
  const events = current.world.recorder.events().filter((e) => e.seq > sentSeq);
  if (events.length === 0) return;
  current.sentSeq = events.at(-1)!.seq;
  post({ type: 'trace', events: plainEvents(events) });
}

function compiledOf(wire: WireModule): CompiledModule {
  return {
    module: wire.module,
    sha256: wire.sha256,
    fuel: wire.fuel,
    imports: WebAssembly.Module.imports(wire.module),
    exports: WebAssembly.Module.exports(wire.module),
    info: {
      imports: [],
      exports: Object.entries(wire.signatures).map(([name, signature]) => ({
        name,
        kind: 'function',
        signature,
      })),
      memories: [],
      tables: [],
    },
  };
}

const jsonSafe = (value: unknown): JsonValue =>
  JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
  ) as JsonValue;

function instantiate(message: Extract<ToWorker, { type: 'instantiate' }>): void {
  const control = new Int32Array(message.control);
  const bridge = new SyncBridgeClient(message.bridge, (request) => post(request));
  const waitWhilePaused = (reason: string) => {
    post({ type: 'paused', reason });
    while (Atomics.load(control, 0) === 1) Atomics.wait(control, 0, 1);
  };
  const compiled = compiledOf(message.module);
  const world = createGuestWorld(
    message.world,
    {
      clock: systemClock,
      onLog: (text) => post({ type: 'log', message: text }),
      onStdout: (bytes) => post({ type: 'stdout', bytes }),
      onStderr: (bytes) => post({ type: 'stderr', bytes }),
      // Streamed only when the main thread asked for every event; otherwise each call's new events
      // go back with its result, so a flooding guest cannot bury the main thread in messages.
      ...(message.streamTrace
        ? { onTraceBatch: (events) => post({ type: 'trace', events: plainEvents(events) }) }
        : {}),
      ...(message.forwardAudit ? { audit: (entry: JsonValue) => post({ type: 'audit', entry }) } : {}),
      ...(message.askApprover
        ? {
            approver: (request: SyscallRequest, decision) =>
              bridge.request('approve', jsonSafe({ request, decision }), message.approverTimeoutMs) ===
              'allow'
                ? ('allow' as const)
                : ('deny' as const),
          }
        : {}),
      onQuarantine: (reason) => {
        // The main thread may stop this worker for good: hand over the trace up to this call first.
        sendTrace();
        Atomics.store(control, 0, 1);
        waitWhilePaused(`quarantined: ${reason}`);
      },
      checkpoint: () => {
        if (Atomics.load(control, 0) === 1) waitWhilePaused('paused');
      },
    },
    compiled.imports,
  );
  const instance = instantiateGuest(compiled, world.imports, world.memory);
  current = { compiled, world, instance: undefined as never, streamTrace: message.streamTrace, sentSeq: 0 };
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
      case 'dispose':
        current?.world.close();
        current = undefined;
        post({ type: 'disposed' });
        return;
    }
  } catch (error) {
    sendTrace();
    post({
      type: 'failed',
      id: message.type === 'invoke' ? message.id : undefined,
      error: toWireError(error),
    });
  }
});
post({ type: 'ready' });
