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
import { AllowListPdp, SyscallEnforcer } from '@forgeone/trust';
import { GuestMemory, SyscallGate, compileModule, forgeSyscalls, watToWasm } from '../src/index';
import { medianNs, printRatios } from './measure';

const CALLS = 10_000;
const loop = (module: string) => `(module
  (import "${module}" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (local $i i32)
    (loop $again
      (drop (call $now (i32.const 64)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const ${CALLS}))))))`;

const raw = (await compileModule(await watToWasm(loop('env')))).module;
const rawRun = new WebAssembly.Instance(raw, { env: { clock_now: () => 0 } }).exports.run as () => void;
// The same work as forge.clock_now (read the clock, write a u64 into guest memory), without the gate.
const rawWork = (() => {
  const memory: { view?: DataView } = {};
  const instance = new WebAssembly.Instance(raw, {
    env: {
      clock_now: (out: number) => {
        memory.view!.setBigUint64(out, BigInt(Math.round(systemClock.now())) * 1_000_000n, true);
        return 0;
      },
    },
  });
  memory.view = new DataView((instance.exports.memory as WebAssembly.Memory).buffer);
  return instance.exports.run as () => void;
})();

const gated = (await compileModule(await watToWasm(loop('forge')))).module;
const allowed: Enforcement = { decision: { action: 'allow', reasons: [] }, execute: true, mode: 'enforce' };
const bare: SyscallEnforcerPort = { enforce: () => allowed };
function gatedRun(durationSampling: number, enforcer?: SyscallEnforcerPort): () => void {
  const memory = new GuestMemory();
  const gate = new SyscallGate({
    enforcer:
      enforcer ?? new SyscallEnforcer({ pdp: new AllowListPdp(['forge.clock_now']), mode: 'enforce' }),
    context: {
      containerId: 'ctr_bench' as ContainerId,
      identity: IdentityContextSchema.parse({ subject: 'bench' }),
      memory,
    },
    recorder: new TraceRecorder({ capacity: 65_536 }),
    dna: new DnaTracker('ctr_bench'),
    clock: systemClock,
    durationSampling,
    rateLimit: { perSecond: 1e12 },
  });
  const instance = new WebAssembly.Instance(
    gated,
    gate.imports(forgeSyscalls({ clock: systemClock, onLog: () => undefined })),
  );
  memory.bind(instance.exports.memory as WebAssembly.Memory);
  return instance.exports.run as () => void;
}
const gatedEvery = gatedRun(1);
const gatedSampled = gatedRun(16);
const gateOnly = gatedRun(16, bare);

describe(`${CALLS} host calls from one guest loop`, () => {
  bench('raw V8 host import', rawRun);
  bench("raw V8 host import doing clock_now's work", rawWork);
  bench('forge.clock_now through the gate (allowed, traced, writes recorded)', gatedEvery);
  bench('same, clocks read 1 call in 16', gatedSampled);
});

afterAll(() => {
  printRatios('9a: one host call (median ns per call; ratio to raw V8)', [
    ['raw V8 host import (empty)', medianNs(rawRun, CALLS)],
    ["raw V8 host import doing clock_now's work", medianNs(rawWork, CALLS)],
    ['forge.clock_now through the gate, every duration measured', medianNs(gatedEvery, CALLS)],
    ['forge.clock_now through the gate, clocks read 1 call in 16', medianNs(gatedSampled, CALLS)],
    ['same with a bare allow enforcer (the gate alone)', medianNs(gateOnly, CALLS)],
  ]);
});
