// Benchmark 9c: the same WASI hello program (one line to stdout) on ForgeOne's V8 backend
// (createWasiPreview1 + SyscallGate + runInstance, module compiled once) and on @wasmer/sdk (one
// client kept warm; each run creates a package and a sandbox, as WasmerBackend.run does). Run:
// `npx vitest bench --run --project execution bench/wasmer.bench.ts` from the repository root.
// The summary vitest prints is the ratio ("x times faster than"); the cold wasmer start (client
// start + first run) is printed once, before the timed runs.
import { afterAll, bench, describe } from 'vitest';
import { IdentityContextSchema, ManualClock, type ContainerId } from '@forgeone/common';
import { DnaTracker, TraceRecorder } from '@forgeone/observer';
import { AllowListPdp, SyscallEnforcer } from '@forgeone/trust';
import {
  GuestMemory,
  SyscallGate,
  WasmerBackend,
  compileModule,
  createWasiPreview1,
  runInstance,
  watToWasm,
} from '../src/index';

const HELLO = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "hello, world\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 13))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

const module = await watToWasm(HELLO);
const compiled = await compileModule(module);
const identity = IdentityContextSchema.parse({ subject: 'bench' });
const enforcer = new SyscallEnforcer({ pdp: new AllowListPdp(['wasi.fd_write']), mode: 'enforce' });
const clock = new ManualClock(0);

/** One run on the V8 backend, as the runtime does it: fresh WASI world, gate and instance. */
function helloOnV8(): void {
  const wasi = createWasiPreview1({ args: ['hello'] });
  const memory = new GuestMemory();
  const gate = new SyscallGate({
    enforcer,
    context: { containerId: 'ctr_bench' as ContainerId, identity, memory },
    recorder: new TraceRecorder({ capacity: 64 }),
    dna: new DnaTracker('ctr_bench'),
    clock,
  });
  const outcome = runInstance({ compiled, imports: gate.imports(wasi.definitions), memory });
  if (outcome.status === 'trapped' || wasi.stdout().byteLength !== 13) throw new Error('V8 hello failed');
  wasi.close();
}

const wasmer = new WasmerBackend();
const coldStart = performance.now();
const first = await wasmer.run({ module });
const coldMs = performance.now() - coldStart;
if (new TextDecoder().decode(first.stdout) !== 'hello, world\n') throw new Error('wasmer hello failed');
console.log(`wasmer cold start (client start + first run): ${coldMs.toFixed(0)} ms`);
afterAll(() => wasmer.close());

describe('hello program: V8 backend vs @wasmer/sdk', () => {
  bench('ForgeOne V8 backend (WASI + gate + runInstance) (baseline)', helloOnV8, { time: 2000 });
  bench(
    '@wasmer/sdk (warm client, fresh sandbox per run)',
    async () => {
      const result = await wasmer.run({ module });
      if (result.stdout.byteLength !== 13) throw new Error('wasmer hello failed');
    },
    { time: 4000, warmupIterations: 3 },
  );
});
