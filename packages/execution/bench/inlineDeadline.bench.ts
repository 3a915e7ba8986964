// Issue 14 speed (b), inline: what a call's deadline costs. Deadline metering (the checks compiled
// into a module) against V8's per-call watchdog and a direct call through the JS API; the
// instrumented code's compute cost; and how far past its deadline a guest runs. Run from the
// repository root:
//   npx vitest bench --run --project execution packages/execution/bench/inlineDeadline.bench.ts
import { afterAll, bench, describe } from 'vitest';
import { compileModule, WasmHost, watToWasm, type InlineInstance, type LoadedModule } from '../src/index';
import { pairedRatio, pairedRatioAsync, printPaired, type PairedFigure } from './measure';

const WAT = `(module (memory (export "memory") 1)
  (func (export "noop"))
  (func (export "sum1k") (result i32) (local $i i32) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.const 1024)))
      (local.set $acc (i32.add (local.get $acc) (i32.load (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next)))
    (local.get $acc))
  (func (export "checksum") (result i32) (local $i i32) (local $h i32)
    (local.set $h (i32.const 0x811c9dc5))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.const 65536)))
      (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (local.get $i))) (i32.const 0x01000193)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $h))
  (func (export "spin") (loop br 0))
  (func (export "fill") (loop (memory.fill (i32.const 0) (i32.const 7) (i32.const 65536)) (br 0)))
  (func (export "deep") (call $deep_tree (i32.const 40)))
  (func $deep_tree (param $n i32)
    (if (i32.ge_u (local.get $n) (i32.const 2))
      (then (call $deep_tree (i32.sub (local.get $n) (i32.const 1))) (call $deep_tree (i32.sub (local.get $n) (i32.const 2)))))))`;

const h = new WasmHost({ development: true, isolation: 'inline', limits: { timeoutMs: 600_000 } });
const source = await watToWasm(WAT);
const module: LoadedModule = await h.loadModule(source);
const plain = await compileModule(source, { deadlineMetering: false });
if (module.deadlineMetered !== true) throw new Error('the bench module should be metered');
type Exports = Record<'noop' | 'sum1k' | 'checksum', () => number>;
const raw = new WebAssembly.Instance(plain.module).exports as unknown as Exports;
// The metered module without the host: its table keeps the fallback tick (no clock), pure code cost.
const rawMetered = new WebAssembly.Instance(module.module).exports as unknown as Exports;
const metered = (await h.instantiate(module)) as InlineInstance;
const watchdog = (await h.instantiate(module, { inlineDeadline: 'watchdog' })) as InlineInstance;
const call = { timeoutMs: 600_000 };

const N = 1000;
const times = (fn: () => unknown) => () => {
  for (let i = 0; i < N; i += 1) fn();
};

describe('inline deadlines', () => {
  bench('direct call of noop (JS API)', () => {
    raw.noop();
  });
  bench('invokeSync noop, metered deadline', () => {
    metered.invokeSync('noop', [], call);
  });
  bench('invokeSync noop, watchdog deadline', () => {
    watchdog.invokeSync('noop', [], call);
  });
});

afterAll(async () => {
  const figures: PairedFigure[] = [
    pairedRatio(
      'invokeSync noop, metered  / direct',
      times(raw.noop),
      times(() => metered.invokeSync('noop', [], call)),
      N,
    ),
    pairedRatio(
      'invokeSync sum 1 KiB, metered / direct',
      times(raw.sum1k),
      times(() => metered.invokeSync('sum1k', [], call)),
      N,
    ),
    pairedRatio(
      'invokeSync noop, watchdog / direct',
      () => raw.noop(),
      () => watchdog.invokeSync('noop', [], call),
      1,
      40,
      5,
    ),
    await pairedRatioAsync(
      'invoke noop, metered / awaited direct',
      async () => raw.noop(),
      () => metered.invoke('noop', [], call),
      40,
      1000,
    ),
    await pairedRatioAsync(
      'invoke sum 1 KiB, metered / awaited direct',
      async () => raw.sum1k(),
      () => metered.invoke('sum1k', [], call),
      40,
      1000,
    ),
    pairedRatio(
      'checksum 64 KiB, metered code / plain code (no host)',
      () => raw.checksum(),
      () => rawMetered.checksum(),
      1,
      60,
      10,
    ),
    pairedRatio(
      'checksum 64 KiB, invokeSync metered / direct plain',
      () => raw.checksum(),
      () => metered.invokeSync('checksum', [], call),
      1,
      60,
      10,
    ),
  ];
  printPaired(
    'inline calls: median per call, and the median ratio to the baseline in the same round',
    'baseline',
    figures,
  );

  console.log('\ndeadline overshoot, metered (ms past the deadline; 5 runs each: median, max)');
  for (const entry of ['spin', 'fill', 'deep'] as const) {
    for (const timeoutMs of [20, 200]) {
      const over: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const instance = (await h.instantiate(module)) as InlineInstance;
        const start = performance.now();
        const result = instance.invokeSync(entry, [], { timeoutMs });
        over.push(performance.now() - start - timeoutMs);
        if (result.outcome.status !== 'trapped') throw new Error(`${entry} was not stopped`);
      }
      over.sort((a, b) => a - b);
      console.log(
        `  ${`${entry}, deadline ${timeoutMs} ms`.padEnd(30)} median ${over[2]!.toFixed(2)} ms  max ${over[4]!.toFixed(2)} ms`,
      );
    }
  }
  await h.close();
}, 600_000);
