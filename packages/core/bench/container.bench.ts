// Issue 14 item 2 benchmarks: long-lived containers. Run from the repository root:
//   npx vitest bench --run --project core packages/core/bench/container.bench.ts
// (a) launch of a service container from a cached module vs a raw WebAssembly.instantiate of the
//     same compiled module, paired, inline and worker;
// (b) invoke of an export that makes no syscall vs a direct call through the JS API (inline) and a
//     bare postMessage round trip to a worker (worker);
// (d) pause-to-blocked and resume-to-running latency (worker and inline), median and p99.
// (a) is measured on the bench's runtime (registry in memory) and again on one whose registry is a
// SQLite store in a temp dir (the kernel's default): each state change is written before it resolves.
// vitest prints its own summary; the paired figures are printed after the run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, bench, describe } from 'vitest';
import { KernelEventBus, SqliteStore, systemClock, type ContainerId } from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import { WasmHost, WorkerPool, watToWasm, type EnforcerSpec } from '@forgeone/execution';
import { Runtime } from '../src/index';
import { paired, printLatency, printPaired, type Paired } from './pairedTiming';

const WAT = `(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "noop"))
  (func (export "spin") (param $k i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $k)))
      (drop (call $now (i32.const 8)))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br $again))))
  (func (export "last") (param $k i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $k)))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br $again)))
    (drop (call $now (i32.const 8)))))`;
const policy: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.clock_now'] } };
const source = await watToWasm(WAT);
// Room for a round of worker launches (each holds a worker until the round's cleanup).
const pool = new WorkerPool({ warm: 2, maxWorkers: 16 });
const events = new KernelEventBus();
// A container that fails here spoils its figures: say why at once.
events.on('container.state', (e) => {
  if (e.state === 'failed') console.log(`container ${e.name} failed: ${e.reason ?? ''}`);
});
const runtime = new Runtime({
  clock: systemClock,
  events,
  limits: defaultRuntimeConfig().limits,
  mode: 'enforce',
  pool,
});
await pool.prewarm();
// The same compiled module for the raw baseline (the runtime's hosts cache theirs by SHA-256).
const rawModule = (await new WasmHost({ development: true, isolation: 'inline' }).loadModule(source)).module;
const rawImports = { forge: { clock_now: () => 0 } };
const rawInstantiate = () => WebAssembly.instantiate(rawModule, rawImports);

const stateDir = mkdtempSync(join(tmpdir(), 'forge-bench-'));
const sqliteStore = await SqliteStore.open(join(stateDir, 'state.db'));
const sqliteRuntime = new Runtime({
  clock: systemClock,
  events,
  limits: defaultRuntimeConfig().limits,
  mode: 'enforce',
  pool,
  store: sqliteStore,
});

/** Launches on `on` (the containers it launched are stopped and removed by `cleanup`, untimed). */
function launcher(on: Runtime) {
  const launched: ContainerId[] = [];
  const launch = (isolation: 'inline' | 'worker') => async () => {
    launched.push(await on.launchContainer({ source, name: 'bench', policy, isolation }));
  };
  const cleanup = async () => {
    for (const id of launched.splice(0)) {
      await on.stop(id);
      await on.remove(id);
    }
  };
  return { launch, cleanup };
}
const { launch, cleanup } = launcher(runtime);
const sqlite = launcher(sqliteRuntime);

// A generous call deadline: on a loaded machine a stall must not end the container under test.
const limits = { timeoutMs: 600_000 };
const inlineId = await runtime.launchContainer({ source, policy, isolation: 'inline', limits });
const workerId = await runtime.launchContainer({ source, policy, isolation: 'worker', limits });
const direct = (await WebAssembly.instantiate(rawModule, rawImports)).exports['noop'] as () => void;
const inlineInvoke = () => runtime.invoke(inlineId, 'noop');
// Trusted code: the deadline checked at syscalls only, without V8's per-call watchdog thread.
const trustedId = await runtime.launchContainer({
  source,
  policy,
  isolation: 'inline',
  inlineDeadline: 'syscalls',
  limits,
});
const trustedInvoke = () => runtime.invoke(trustedId, 'noop');
const workerInvoke = () => runtime.invoke(workerId, 'noop');
const echo = new Worker(new URL('./echoWorker.mjs', import.meta.url));
const roundTrip = () =>
  new Promise<void>((resolve) => {
    echo.once('message', () => resolve());
    echo.postMessage({ type: 'invoke', id: 1, entry: 'noop', args: [] });
  });
await roundTrip();

describe('containers', () => {
  bench('raw WebAssembly.instantiate (compiled module)', async () => {
    await rawInstantiate();
  });
  bench('launchContainer (service) + stop + remove, inline', async () => {
    await launch('inline')();
    await cleanup();
  });
  bench('launchContainer (service) + stop + remove, worker', async () => {
    await launch('worker')();
    await cleanup();
  });
  bench('direct call of an export (JS API)', () => direct());
  bench('invoke, inline', async () => {
    await inlineInvoke();
  });
  bench('bare postMessage round trip to a worker', roundTrip);
  bench('invoke, worker', async () => {
    await workerInvoke();
  });
});

afterAll(async () => {
  const figures: Paired[] = [
    await paired('(a) launch service, inline  / raw instantiate', rawInstantiate, launch('inline'), {
      cleanup,
    }),
    await paired('(a) launch service, worker  / raw instantiate', rawInstantiate, launch('worker'), {
      cleanup,
      rounds: 20,
      block: 5,
    }),
    await paired(
      '(a) launch service, inline, SQLite registry / raw',
      rawInstantiate,
      sqlite.launch('inline'),
      {
        cleanup: sqlite.cleanup,
      },
    ),
    await paired(
      '(a) launch service, worker, SQLite registry / raw',
      rawInstantiate,
      sqlite.launch('worker'),
      {
        cleanup: sqlite.cleanup,
        rounds: 20,
        block: 5,
      },
    ),
    await paired('(b) invoke noop, inline     / direct JS call', direct, inlineInvoke, { block: 1000 }),
    await paired('(b) invoke noop, inline     / awaited direct JS call', async () => direct(), inlineInvoke, {
      block: 1000,
    }),
    await paired('(b) invoke noop, inline, deadline at syscalls / direct JS call', direct, trustedInvoke, {
      block: 1000,
    }),
    await paired(
      '(b) invoke noop, inline, deadline at syscalls / awaited direct',
      async () => direct(),
      trustedInvoke,
      {
        block: 1000,
      },
    ),
    await paired('(b) invoke noop, worker     / bare postMessage round trip', roundTrip, workerInvoke, {
      block: 50,
    }),
  ];
  printPaired(
    'containers: median per operation, and the median ratio to the baseline in the same round',
    figures,
  );

  // (d) A worker service spinning on syscalls is paused (until its guest reports itself blocked at
  // a syscall) and resumed; resume-to-running is timed on a call paused at its last syscall: from
  // resume() to its result on this thread (one wake-up, the syscall, one message back).
  const spinner = await runtime.launchContainer({
    source,
    policy,
    isolation: 'worker',
    limits: { syscallsPerSecond: 0, timeoutMs: 3_600_000 },
  });
  // Ended by the stop below (FORGE_INSTANCE_STATE): awaited then.
  const spinning = runtime
    .invoke(spinner, 'spin', [{ type: 'i32', value: 2_000_000_000 }])
    .catch(() => undefined);
  const pauseNs: number[] = [];
  for (let i = 0; i < 200; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const start = process.hrtime.bigint();
    await runtime.pause(spinner);
    pauseNs.push(Number(process.hrtime.bigint() - start));
    await runtime.resume(spinner);
  }
  await runtime.stop(spinner, { deadlineMs: 0 });
  await spinning;
  const resumeNs: number[] = [];
  const held = await runtime.launchContainer({
    source,
    policy,
    isolation: 'worker',
    limits: { timeoutMs: 60_000 },
  });
  for (let i = 0; i < 200; i += 1) {
    const call = runtime.invoke(held, 'last', [{ type: 'i32', value: 200_000 }]);
    await new Promise((resolve) => setImmediate(resolve));
    await runtime.pause(held);
    const start = process.hrtime.bigint();
    await runtime.resume(held);
    await call;
    resumeNs.push(Number(process.hrtime.bigint() - start));
  }
  console.log('\n(d) pause and resume, worker isolation');
  printLatency('pause() until the guest is blocked at its next syscall', pauseNs);
  printLatency('resume() until the held call has run on and returned', resumeNs);

  // Inline: the guest runs on this thread, so a pause takes effect between calls (the next call
  // waits); resume-to-running is from resume() to the result of a call that waited for it.
  const inlinePauseNs: number[] = [];
  const inlineResumeNs: number[] = [];
  for (let i = 0; i < 200; i += 1) {
    const start = process.hrtime.bigint();
    await runtime.pause(inlineId);
    inlinePauseNs.push(Number(process.hrtime.bigint() - start));
    const call = runtime.invoke(inlineId, 'last', [{ type: 'i32', value: 1_000 }]);
    const resumed = process.hrtime.bigint();
    await runtime.resume(inlineId);
    await call;
    inlineResumeNs.push(Number(process.hrtime.bigint() - resumed));
  }
  console.log('\n(d) pause and resume, inline isolation');
  printLatency('pause() of a service between calls', inlinePauseNs);
  printLatency('resume() until the call that waited has run and returned', inlineResumeNs);
  await echo.terminate();
  await runtime.close();
  await sqliteRuntime.close();
  await sqliteStore.close();
  rmSync(stateDir, { recursive: true, force: true });
  await pool.close();
}, 600_000);
