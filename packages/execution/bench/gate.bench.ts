// Benchmark 9a: a forge.* syscall through the gate (allowed by trust's allow-list enforcer, traced
// with its memory write recorded, DNA learned) against a raw V8 host import, in one guest loop of
// 10,000 calls. Run from the repository root:
//   npx vitest bench --run --project execution packages/execution/bench/gate.bench.ts
// vitest prints its own summary; the ns per call and the ratios are printed after the run.
import { afterAll, bench, describe } from 'vitest';
import {
  IdentityContextSchema,
  systemClock,
  type ContainerId,
  type Enforcement,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import { DnaTracker, TraceRecorder } from '@forgeone/observer';
import { AllowListPdp, SyscallEnforcer, compilePolicy } from '@forgeone/trust';
import {
  GuestMemory,
  SyscallGate,
  compileModule,
  forgeBufferSyscalls,
  forgeSyscalls,
  watToWasm,
  ForgeIoBuffers,
} from '../src/index';
import { medianNs, printRatios } from './measure';

const CALLS = 10_000;
const loop = (module: string, name: string) => `(module
  (import "${module}" "${name}" (func $call (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (local $i i32)
    (loop $again
      (drop (call $call (i32.const 64)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const ${CALLS}))))))`;

const raw = (await compileModule(await watToWasm(loop('env', 'f')))).module;
const rawRun = new WebAssembly.Instance(raw, { env: { f: () => 0 } }).exports.run as () => void;
/** A raw V8 import doing `work` with a DataView on the guest's memory, without the gate. */
function rawDoing(work: (view: DataView, out: number) => void): () => void {
  const memory: { view?: DataView } = {};
  const instance = new WebAssembly.Instance(raw, {
    env: {
      f: (out: number) => {
        work(memory.view!, out);
        return 0;
      },
    },
  });
  memory.view = new DataView((instance.exports.memory as WebAssembly.Memory).buffer);
  return instance.exports.run as () => void;
}
// The same work as forge.input_len (write a u32 into guest memory) and forge.clock_now (read the
// clock, write a u64), without the gate.
const input = new Uint8Array(5);
const buffers = new ForgeIoBuffers();
buffers.begin(input);
const rawInputLen = rawDoing((view, out) => view.setUint32(out, input.byteLength, true));
const rawClockNow = rawDoing((view, out) =>
  view.setBigUint64(out, BigInt(Math.round(systemClock.now())) * 1_000_000n, true),
);

const gatedModules = {
  input_len: (await compileModule(await watToWasm(loop('forge', 'input_len')))).module,
  clock_now: (await compileModule(await watToWasm(loop('forge', 'clock_now')))).module,
};
const allowed: Enforcement = { decision: { action: 'allow', reasons: [] }, execute: true, mode: 'enforce' };
const bare: SyscallEnforcerPort = { enforce: () => allowed };
function gatedRun(
  name: keyof typeof gatedModules,
  durationSampling?: number,
  enforcer?: SyscallEnforcerPort,
): () => void {
  const memory = new GuestMemory();
  const gate = new SyscallGate({
    enforcer: enforcer ?? new SyscallEnforcer({ pdp: new AllowListPdp([`forge.${name}`]), mode: 'enforce' }),
    context: {
      containerId: 'ctr_bench' as ContainerId,
      identity: IdentityContextSchema.parse({ subject: 'bench' }),
      memory,
    },
    recorder: new TraceRecorder({ capacity: 65_536 }),
    dna: new DnaTracker('ctr_bench'),
    clock: systemClock,
    ...(durationSampling === undefined ? {} : { durationSampling }),
    rateLimit: { perSecond: 1e12 },
  });
  const definitions = [
    ...forgeSyscalls({ clock: systemClock, onLog: () => undefined }),
    ...forgeBufferSyscalls(buffers),
  ].filter((d) => d.name === name);
  const instance = new WebAssembly.Instance(gatedModules[name], gate.imports(definitions));
  memory.bind(instance.exports.memory as WebAssembly.Memory);
  return instance.exports.run as () => void;
}
/** A ZTA policy graph allowing forge.input_len; `minTrust` adds a rule the graph must weigh on every call. */
function graphEnforcer(minTrust?: number): SyscallEnforcerPort {
  const graph = compilePolicy({
    apiVersion: 'forgeone.dev/v1',
    kind: 'Policy',
    metadata: { name: 'gate-bench' },
    spec: {
      nodes: [
        {
          name: 'base',
          rules: [
            {
              id: 'input',
              action: 'allow',
              match: {
                syscall: 'forge.input_len',
                ...(minTrust === undefined ? {} : { trust: { atLeast: minTrust } }),
              },
            },
          ],
        },
      ],
    },
  });
  return new SyscallEnforcer({ pdp: graph, mode: 'enforce' });
}

const inputLen = gatedRun('input_len');
const inputLenEvery = gatedRun('input_len', 1);
const inputLenBare = gatedRun('input_len', undefined, bare);
const inputLenGraph = gatedRun('input_len', undefined, graphEnforcer());
const inputLenGraphTrust = gatedRun('input_len', undefined, graphEnforcer(0.1));
const clockNow = gatedRun('clock_now');
const clockEvery = gatedRun('clock_now', 1);

describe(`${CALLS} host calls from one guest loop`, () => {
  bench('raw V8 host import', rawRun);
  bench('forge.input_len through the gate (allowed, traced, writes recorded)', inputLen);
  bench('forge.input_len, every call timed', inputLenEvery);
  bench('forge.clock_now through the gate', clockNow);
});

afterAll(() => {
  const empty = medianNs(rawRun, CALLS);
  printRatios('9a: one host call (median ns per call; ratio to an empty raw V8 import)', [
    ['raw V8 host import (empty)', empty],
    ["raw V8 host import doing input_len's work", medianNs(rawInputLen, CALLS)],
    ['forge.input_len through the gate (default timing)', medianNs(inputLen, CALLS)],
    ['forge.input_len through the gate, every call timed', medianNs(inputLenEvery, CALLS)],
    ['forge.input_len, bare allow enforcer (never reused)', medianNs(inputLenBare, CALLS)],
    ['forge.input_len under a ZTA policy graph (rule by name: reused)', medianNs(inputLenGraph, CALLS)],
    ['forge.input_len, graph rule reads trust (asked every call)', medianNs(inputLenGraphTrust, CALLS)],
  ]);
  printRatios("9a': forge.clock_now (ratio to a raw V8 import doing the same work)", [
    ["raw V8 host import doing clock_now's work", medianNs(rawClockNow, CALLS)],
    ['forge.clock_now through the gate (default timing)', medianNs(clockNow, CALLS)],
    ['forge.clock_now through the gate, every call timed', medianNs(clockEvery, CALLS)],
  ]);
  console.log(`  (empty raw V8 import: ${empty.toFixed(1)} ns)`);
});
