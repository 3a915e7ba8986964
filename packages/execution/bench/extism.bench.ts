// Benchmark 9d: one guest loop making 10,000 host calls (`tick(i) -> i + 1`), run three ways in
// the same process: a raw V8 host import (the floor), ForgeOne's SyscallGate with trust's
// SyscallEnforcer (allow-list, traced) and with a bare allow (the gate's own share), and the
// Extism JS SDK (@extism/extism, in-process, offline). Run:
// `npx vitest bench --run --project execution bench/extism.bench.ts` from the repository root.
// vitest prints the ratios in its summary; the ns per host call are printed after the run.
import createPlugin from '@extism/extism';
import { afterAll, bench, describe } from 'vitest';
import {
  IdentityContextSchema,
  ManualClock,
  type ContainerId,
  type Enforcement,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import { DnaTracker, TraceRecorder } from '@forgeone/observer';
import { AllowListPdp, SyscallEnforcer } from '@forgeone/trust';
import {
  ForgeErrno,
  GuestMemory,
  SyscallGate,
  compileModule,
  hostFunction,
  watToWasm,
  type SyscallDefinition,
} from '../src/index';

const CALLS = 10_000;
/** The same loop under every host; only the import's module name differs. */
const loop = (importModule: string) => `(module
  (import "${importModule}" "tick" (func $tick (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (local $i i32) (local $sum i32)
    (loop $again
      (local.set $sum (i32.add (local.get $sum) (call $tick (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const ${CALLS}))))
    (local.get $sum)))`;
const EXPECTED = (CALLS * (CALLS + 1)) / 2;
const tick = (n: number) => n + 1;

// Raw V8: the host function is a plain import.
const raw = (await compileModule(await watToWasm(loop('env')))).module;
const rawRun = new WebAssembly.Instance(raw, { env: { tick } }).exports.run as () => number;

// ForgeOne: the same function as a plugin author writes it (hostFunction), behind the gate
// (decide, execute, trace, DNA). Its args are its params by name, so they decode lazily and a
// reused decision takes the gate's hot path, like the built-in forge.* calls.
const tickFunction = hostFunction({
  name: 'tick',
  params: { n: 'i32' },
  execute: ([n]) => tick(Number(n)),
});
// The same function as a SyscallDefinition written by hand without `pureDecode`: decoded and
// traced on the gate's general path on every call (why this bench read 27–33× raw before).
const tickDefinition: SyscallDefinition = {
  module: 'forge',
  name: 'tick',
  syscall: 'forge.tick',
  params: ['i32'],
  results: ['i32'],
  decode: ([n]) => ({ n: Number(n) }),
  execute: ({ args: [n] }) => tick(Number(n)),
  deniedResult: ForgeErrno.DENIED,
  faultResult: ForgeErrno.FAULT,
};
const gated = (await compileModule(await watToWasm(loop('forge')))).module;
/** The loop behind a gate with `enforcer`: trust's real one, or a bare allow to see the gate's own share. */
function gatedLoop(
  enforcer: SyscallEnforcerPort,
  definition: SyscallDefinition = tickFunction,
): () => number {
  const memory = new GuestMemory();
  const gate = new SyscallGate({
    enforcer,
    context: {
      containerId: 'ctr_bench' as ContainerId,
      identity: IdentityContextSchema.parse({ subject: 'bench' }),
      memory,
    },
    recorder: new TraceRecorder({ capacity: 65_536 }),
    dna: new DnaTracker('ctr_bench'),
    clock: new ManualClock(0),
  });
  const instance = new WebAssembly.Instance(gated, gate.imports([definition]));
  memory.bind(instance.exports.memory as WebAssembly.Memory);
  return instance.exports.run as () => number;
}
const gatedRun = gatedLoop(new SyscallEnforcer({ pdp: new AllowListPdp(['forge.tick']), mode: 'enforce' }));
const allowed: Enforcement = { decision: { action: 'allow', reasons: [] }, execute: true, mode: 'enforce' };
const bareGateRun = gatedLoop({ enforce: () => allowed });
const handWrittenRun = gatedLoop(
  new SyscallEnforcer({ pdp: new AllowListPdp(['forge.tick']), mode: 'enforce' }),
  tickDefinition,
);

// Extism: the same function as a user host function, the plugin run in-process.
const extism = await createPlugin(
  { wasm: [{ data: await watToWasm(loop('extism:host/user')) }] },
  {
    useWasi: false,
    runInWorker: false,
    functions: { 'extism:host/user': { tick: (_context: unknown, n: number) => tick(n) } },
  },
);

for (const [name, result] of [
  ['raw', rawRun()],
  ['gate', gatedRun()],
  ['bare gate', bareGateRun()],
  ['hand-written definition', handWrittenRun()],
] as const) {
  if (result !== EXPECTED) throw new Error(`${name} loop returned ${result}, expected ${EXPECTED}`);
}

const perCall: Record<string, number[]> = { raw: [], gate: [], bare: [], hand: [], extism: [] };
const timed = (key: string, fn: () => void) => () => {
  const start = process.hrtime.bigint();
  fn();
  perCall[key]?.push(Number(process.hrtime.bigint() - start) / CALLS);
};
const timedAsync = (key: string, fn: () => Promise<void>) => async () => {
  const start = process.hrtime.bigint();
  await fn();
  perCall[key]?.push(Number(process.hrtime.bigint() - start) / CALLS);
};

afterAll(async () => {
  await extism.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const [r, g, b, h, e] = ['raw', 'gate', 'bare', 'hand', 'extism'].map((key) => median(perCall[key] ?? []));
  const ratio = (x: number | undefined) =>
    `${(x ?? NaN).toFixed(1)} ns (${((x ?? NaN) / (r ?? NaN)).toFixed(1)}x raw)`;
  console.log(
    `median per host call: raw V8 ${(r ?? NaN).toFixed(1)} ns; gate + trust enforcer ${ratio(g)}; ` +
      `gate + bare allow ${ratio(b)}; hand-written definition without pureDecode ${ratio(h)}; ` +
      `Extism ${ratio(e)}`,
  );
});

describe(`${CALLS} host calls in one guest loop`, () => {
  bench(
    'raw V8 host import (baseline)',
    timed('raw', () => void rawRun()),
    { time: 1500 },
  );
  bench(
    'ForgeOne SyscallGate + trust SyscallEnforcer (allow-list, traced)',
    timed('gate', () => void gatedRun()),
    { time: 1500 },
  );
  bench(
    'ForgeOne SyscallGate + bare allow (traced)',
    timed('bare', () => void bareGateRun()),
    { time: 1500 },
  );
  bench(
    'ForgeOne SyscallGate, a hand-written SyscallDefinition without pureDecode (general path)',
    timed('hand', () => void handWrittenRun()),
    { time: 1500 },
  );
  bench(
    'Extism JS SDK host function',
    timedAsync('extism', async () => {
      await extism.call('run');
    }),
    { time: 1500 },
  );
});
