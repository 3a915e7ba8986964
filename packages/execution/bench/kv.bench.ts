// Cost of one forge.kv_put / kv_get as the guest sees it: inline (the backend is called directly)
// against worker isolation (each call crosses to the main thread's backend and waits for its
// answer on the sync bridge). A guest export makes N calls in a loop; the figure is the median
// time of one export call divided by N. Run from the repository root:
//   npx vitest bench --run --project execution packages/execution/bench/kv.bench.ts
import { afterAll, bench, describe } from 'vitest';
import { MemoryKvBackend, WasmHost, watToWasm, type EnforcerSpec, type WasmInstance } from '../src/index';
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
const open = async (host: WasmHost): Promise<WasmInstance> =>
  host.instantiate(await host.loadModule(source), {
    enforcer: policy,
    kv,
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
  await Promise.all([inlineInstance.terminate(), workerInstance.terminate()]);
  await Promise.all([inline.close(), worker.close()]);
});
