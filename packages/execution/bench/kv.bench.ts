// Cost of one forge.kv_put / kv_get as the guest sees it: inline (the backend is called directly)
// against worker isolation (each call crosses to the main thread's backend and waits for its
// answer on the sync bridge), and what durability costs: a StorageKvBackend over a SqliteStore
// file committing every write before the call returns (`commit`, the default; synchronous=FULL as
// the CLI's state store, and NORMAL) against `relaxed-100ms`, and three worker guests writing at
// once (their writes share group commits). A guest export makes N calls in a loop; the figure is
// the median time of one export call divided by N. Run from the repository root:
//   npx vitest bench --run --project execution packages/execution/bench/kv.bench.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { SqliteStore } from '@forgeone/common';
import {
  MemoryKvBackend,
  StorageKvBackend,
  WasmHost,
  watToWasm,
  type EnforcerSpec,
  type KvBackend,
  type WasmInstance,
} from '../src/index';
import { medianNsAsync, printRatios } from './measure';

const WAT = `(module
  (import "forge" "kv_get" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "counter")
  (func (export "puts") (param $n i32) (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store (i32.const 64) (local.get $i))
      (drop (call $put (i32.const 0) (i32.const 7) (i32.const 64) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func (export "gets") (param $n i32) (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (drop (call $get (i32.const 0) (i32.const 7) (i32.const 128) (i32.const 64) (i32.const 256)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func (export "none") (param $n i32)))`;
const policy: EnforcerSpec = {
  mode: 'enforce',
  policy: { kind: 'allow-list', allow: ['forge.kv_get', 'forge.kv_put'] },
};
const INLINE_CALLS = 10_000;
const WORKER_CALLS = 1_000;

const inline = new WasmHost({ development: true, isolation: 'inline', limits: { timeoutMs: 60_000 } });
const worker = new WasmHost({ development: true, isolation: 'worker', limits: { timeoutMs: 60_000 } });
const source = await watToWasm(WAT);
const kv = new MemoryKvBackend('bench');
// The default syscall rate limit would stop a guest calling in a tight loop for long.
const open = async (host: WasmHost, backend: KvBackend = kv): Promise<WasmInstance> =>
  host.instantiate(await host.loadModule(source), {
    enforcer: policy,
    kv: backend,
    traceCapacity: 1024,
    rateLimit: { perSecond: 1e12 },
  });
const inlineInstance = await open(inline);
const workerInstance = await open(worker);

const loop = (instance: WasmInstance, entry: string, n: number) => async () => {
  const { outcome } = await instance.invoke(entry, [{ type: 'i32', value: n }], { timeoutMs: 60_000 });
  if (outcome.status === 'trapped') throw outcome.error;
};

describe('forge.kv_put, one export call making many', () => {
  bench(`inline, ${INLINE_CALLS} puts`, loop(inlineInstance, 'puts', INLINE_CALLS));
  bench(`worker isolation, ${WORKER_CALLS} puts`, loop(workerInstance, 'puts', WORKER_CALLS));
});

const dir = mkdtempSync(join(tmpdir(), 'forgeone-kv-bench-'));
const full = await SqliteStore.open(join(dir, 'full.db'));
const normal = await SqliteStore.open(join(dir, 'normal.db'), { durability: 'normal' });
const committed = await StorageKvBackend.load(full, 'bench');
const committedNormal = await StorageKvBackend.load(normal, 'bench');
const relaxed = await StorageKvBackend.load(full, 'fast', {}, { durability: 'relaxed-100ms' });
// Every SQLite commit with synchronous=FULL waits for the disk: fewer calls, fewer rounds.
const DURABLE_CALLS = 10;

afterAll(async () => {
  /** ns per kv call: an export call making n of them, less one making none. */
  const perCall = async (instance: WasmInstance, entry: string, n: number) => {
    const empty = await medianNsAsync(loop(instance, 'none', n), 50);
    return ((await medianNsAsync(loop(instance, entry, n), 30)) - empty) / n;
  };
  printRatios('kv: one forge.kv_* call as the guest sees it (median; ratio to inline kv_put)', [
    ['kv_put, inline (backend called directly)', await perCall(inlineInstance, 'puts', INLINE_CALLS)],
    ['kv_get, inline', await perCall(inlineInstance, 'gets', INLINE_CALLS)],
    [
      'kv_put, worker isolation (applied on the main thread first)',
      await perCall(workerInstance, 'puts', WORKER_CALLS),
    ],
    [
      'kv_get, worker isolation (read from the main thread)',
      await perCall(workerInstance, 'gets', WORKER_CALLS),
    ],
  ]);
  const durable = async (backend: KvBackend, host: WasmHost, n: number, rounds: number) => {
    const instance = await open(host, backend);
    const empty = await medianNsAsync(loop(instance, 'none', n), rounds);
    const ns = ((await medianNsAsync(loop(instance, 'puts', n), rounds)) - empty) / n;
    await instance.terminate();
    return ns;
  };
  /** Three worker guests putting at once: ns per put over all of them (group commit shares fsyncs). */
  const concurrent = async (backend: KvBackend, n: number, rounds: number) => {
    // Three: with the instance above that is the pool's 4 workers.
    const guests = await Promise.all([0, 1, 2].map(() => open(worker, backend)));
    const all = () => Promise.all(guests.map((g) => loop(g, 'puts', n)())).then(() => undefined);
    const ns = (await medianNsAsync(all, rounds)) / (3 * n);
    await Promise.all(guests.map((g) => g.terminate()));
    return ns;
  };
  printRatios('kv durability: one kv_put into a SqliteStore file (median; ratio to inline MemoryKvBackend)', [
    ['kv_put, inline, MemoryKvBackend (nothing kept)', await perCall(inlineInstance, 'puts', INLINE_CALLS)],
    ['kv_put, inline, relaxed-100ms', await durable(relaxed, inline, 1000, 10)],
    ['kv_put, inline, commit (synchronous=NORMAL)', await durable(committedNormal, inline, 100, 5)],
    [
      'kv_put, inline, commit (synchronous=FULL, the CLI)',
      await durable(committed, inline, DURABLE_CALLS, 3),
    ],
    ['kv_put, worker, relaxed-100ms', await durable(relaxed, worker, 200, 10)],
    ['kv_put, worker, commit (synchronous=NORMAL)', await durable(committedNormal, worker, 100, 5)],
    [
      'kv_put, worker, commit (synchronous=FULL, the CLI)',
      await durable(committed, worker, DURABLE_CALLS, 3),
    ],
    ['kv_put, 3 workers at once, commit (FULL), per put', await concurrent(committed, DURABLE_CALLS, 3)],
  ]);
  await Promise.all([inlineInstance.terminate(), workerInstance.terminate()]);
  await Promise.all([inline.close(), worker.close()]);
  await Promise.all([full.close(), normal.close()]);
  rmSync(dir, { recursive: true, force: true });
}, 300_000);
