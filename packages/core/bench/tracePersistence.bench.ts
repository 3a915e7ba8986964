// Issue 15, speed (a): durable traces. Run from the repository root:
//   npx vitest bench --run --project core packages/core/bench/tracePersistence.bench.ts
// (a1) sustained events per second from a TraceRecorder into a SQLite store through a TraceSink
//      (its batches, entries of 1,024 events, one append per 64 entries), durability full and normal;
// (a2) the gate's per-call cost with the durable trace on versus off: the same guest loop of 10,000
//      forge.input_len calls, paired round by round. The recorder hands the sink its batches unbuilt
//      (TraceBatch, as core wires it); the sink builds, encodes and writes them between rounds
//      (untimed: off the guest's path, as they run when an inline guest returns or on the main thread
//      while a worker guest calls), and that cost per event is printed beside, so nothing is hidden.
// Figures are printed after vitest's own summary.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import {
  IdentityContextSchema,
  SqliteStore,
  systemClock,
  type ContainerId,
  type SqliteDurability,
} from '@forgeone/common';
import {
  ForgeIoBuffers,
  GuestMemory,
  SyscallGate,
  compileModule,
  forgeBufferSyscalls,
  watToWasm,
} from '@forgeone/execution';
import {
  DnaTracker,
  TraceRecorder,
  TraceSink,
  type TraceBatch,
  type TraceEvent,
  type TraceRecorderOptions,
} from '@forgeone/observer';
import { AllowListPdp, SyscallEnforcer } from '@forgeone/trust';
import { paired, printPaired, type Paired } from './pairedTiming';

const dir = mkdtempSync(join(tmpdir(), 'forgeone-bench-trace-'));
let stores = 0;
const openStore = (durability: SqliteDurability) =>
  SqliteStore.open(join(dir, `s${(stores += 1)}.db`), { durability });
const header = (containerId: string) => ({
  module: 'c'.repeat(64),
  entry: '_start',
  args: [],
  containerId,
  recordedAt: systemClock.now(),
});

// (a1) A call as the gate records it: a syscall with decoded args, its raw params, a decision with
// a reason, a result and (every fourth call) a small memory write.
function event(seq: number): TraceEvent {
  return {
    seq,
    syscall: seq % 2 === 0 ? 'wasi.fd_write' : 'wasi.clock_time_get',
    args: seq % 2 === 0 ? { fd: 1, iovs: 2, bytes: 64 } : { clock: 1 },
    params: [1, 16, 1, 32],
    action: 'allow',
    executed: true,
    reasons: [{ policy: 'allow-list', rule: 'wasi.*', message: 'allowed by the allow-list' }],
    result: 0,
    durationNs: -1,
    time: 1_700_000_000_000 + Math.floor(seq / 100),
    ...(seq % 4 === 0 ? { writes: [{ ptr: 512, bytes: 'AAAAAAAAAAA=' }] } : {}),
  };
}
const EVENTS = 1_000_000;
/** Events a guest records between two turns of the event loop (the sink writes in those turns). */
const SLICE = 16_384;

async function sustained(durability: SqliteDurability): Promise<{ perSecond: number; bytes: number }> {
  const store = await openStore(durability);
  const sink = await TraceSink.open(store, { header: header(`ctr_bench_${durability}`) });
  const recorder = new TraceRecorder({ capacity: 65_536, onLazyBatch: (batch) => sink.add(batch) });
  const start = process.hrtime.bigint();
  for (let from = 1; from <= EVENTS; from += SLICE) {
    for (let seq = from; seq < from + SLICE && seq <= EVENTS; seq += 1) recorder.record(event(seq));
    await new Promise((resolve) => setImmediate(resolve));
  }
  recorder.flush();
  const acknowledged = await sink.close({ status: 'exited', exitCode: 0 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (acknowledged !== EVENTS || sink.lost !== 0)
    throw new Error(`acknowledged ${acknowledged}, lost ${sink.lost}`);
  const bytes = sink.index.stored.bytes;
  await store.close();
  return { perSecond: EVENTS / seconds, bytes };
}

// (a2) The gate: forge.input_len (writes a u32 into guest memory, recorded) in a loop.
const CALLS = 10_000;
const module = (
  await compileModule(
    await watToWasm(`(module
  (import "forge" "input_len" (func $call (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (local $i i32)
    (loop $again
      (drop (call $call (i32.const 64)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const ${CALLS}))))))`),
  )
).module;
const buffers = new ForgeIoBuffers();
buffers.begin(new Uint8Array(5));

function gatedRun(batches: Pick<TraceRecorderOptions, 'onBatch' | 'onLazyBatch'> = {}): () => void {
  const memory = new GuestMemory();
  const gate = new SyscallGate({
    enforcer: new SyscallEnforcer({ pdp: new AllowListPdp(['forge.input_len']), mode: 'enforce' }),
    context: {
      containerId: 'ctr_bench' as ContainerId,
      identity: IdentityContextSchema.parse({ subject: 'bench' }),
      memory,
    },
    recorder: new TraceRecorder({ capacity: 65_536, ...batches }),
    dna: new DnaTracker('ctr_bench'),
    clock: systemClock,
    rateLimit: { perSecond: 1e12 },
  });
  const definitions = forgeBufferSyscalls(buffers).filter((d) => d.name === 'input_len');
  const instance = new WebAssembly.Instance(module, gate.imports(definitions));
  memory.bind(instance.exports.memory as WebAssembly.Memory);
  return instance.exports.run as () => void;
}

const figures: Paired[] = [];
const lines: string[] = [];

afterAll(async () => {
  for (const durability of ['full', 'normal'] as const) {
    const { perSecond, bytes } = await sustained(durability);
    lines.push(
      `  recorder -> TraceSink -> SQLite (durability ${durability}): ${Math.round(perSecond).toLocaleString('en')} events/s sustained (${EVENTS.toLocaleString('en')} events, ${(bytes / EVENTS).toFixed(0)} bytes/event stored)`,
    );
  }
  // The floor of a consumer of built batches: the recorder building the events it hands over (the
  // audit log pays it), with nothing done with them; then the same for unbuilt batches.
  figures.push(
    await paired(
      'gate per call, built batches to a no-op vs no batches',
      gatedRun(),
      gatedRun({ onBatch: () => undefined }),
      {
        block: 4,
      },
    ),
  );
  figures.push(
    await paired(
      'gate per call, unbuilt batches to a no-op vs no batches',
      gatedRun(),
      gatedRun({ onLazyBatch: (batch: TraceBatch) => batch.release() }),
      { block: 4 },
    ),
  );
  for (const durability of ['full', 'normal'] as const) {
    const store = await openStore(durability);
    const sink = await TraceSink.open(store, { header: header(`ctr_gate_${durability}`) });
    const off = gatedRun();
    const on = gatedRun({ onLazyBatch: (batch) => sink.add(batch) });
    let flushNs = 0;
    let flushed = 0;
    figures.push(
      await paired(`gate per call, durable trace on (${durability}) vs off`, off, on, {
        block: 4,
        cleanup: async () => {
          const before = sink.acknowledgedSeq;
          const start = process.hrtime.bigint();
          await sink.flush();
          flushNs += Number(process.hrtime.bigint() - start);
          flushed += sink.acknowledgedSeq - before;
        },
      }),
    );
    lines.push(
      `  store writes off the guest's path (${durability}): ${(flushNs / Math.max(1, flushed)).toFixed(0)} ns per event, ${flushed.toLocaleString('en')} events, lost ${sink.lost}`,
    );
    await sink.close();
    await store.close();
  }
  // paired() reports ns per fn() call: one fn() is CALLS guest calls.
  printPaired(
    `(a2) ${CALLS} forge.input_len calls per loop (ns per loop; ratio on/off, median of paired rounds)`,
    figures,
  );
  console.log(`\n(a1) trace persistence\n${lines.join('\n')}`);
  rmSync(dir, { recursive: true, force: true });
}, 600_000);

describe('durable trace', () => {
  bench('encode + store 16,384 events (a slice of the sustained run)', async () => {
    const store = await openStore('normal');
    const sink = await TraceSink.open(store, { header: header(`ctr_slice_${stores}`) });
    const events: TraceEvent[] = [];
    for (let seq = 1; seq <= SLICE; seq += 1) events.push(event(seq));
    sink.add(events);
    await sink.close();
    await store.close();
  });
});
