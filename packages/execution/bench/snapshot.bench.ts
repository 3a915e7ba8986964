// Issue 15, speed (c) and (d): snapshots. Run from the repository root:
//   npx vitest bench --run --project execution packages/execution/bench/snapshot.bench.ts
// (c) capture and restore of an inline container with 64 MiB of memory, every page written and
//     every page different (no zero page to skip, nothing to deduplicate: the worst case), against
//     the floor of copying 64 MiB and hashing it (SHA-256) measured beside each in the same round.
//     Two floors: the copy into a buffer already in use ("warm"), and into a new one ("fresh"),
//     which pays the kernel's first touch of every page, as any capture (a new file image) and
//     any restore (a new instance's memory) must.
// (d) starting a service from its snapshot (decode the file, instantiate, restore, forge_on_restore)
//     against instantiating it and running its ~50 ms init export, for an init that leaves 64 KiB
//     of state and one that leaves 1 MiB (a restore touches every page of state it writes).
import { createHash } from 'node:crypto';
import { afterAll, bench, describe } from 'vitest';
import { decodeSnapshot } from '@forgeone/observer';
import { WasmHost, watToWasm, type InlineInstance, type LoadedModule } from '../src/index';
import { pairedRatio, pairedRatioAsync, printPaired } from './measure';

const PAGES = 1024; // 64 MiB
const BIG = `(module
  (memory (export "memory") ${PAGES} ${PAGES})
  (global $calls (mut i32) (i32.const 0))
  ;; Every 8 bytes of the memory get a value of their own (no two pages alike, none all zero).
  (func (export "fill") (local $at i32)
    (loop $l
      (i64.store (local.get $at) (i64.mul (i64.extend_i32_u (local.get $at)) (i64.const 0x9E3779B97F4A7C15)))
      (local.set $at (i32.add (local.get $at) (i32.const 8)))
      (br_if $l (i32.lt_u (local.get $at) (i32.const ${PAGES * 65_536})))))
  (func (export "touch") (global.set $calls (i32.add (global.get $calls) (i32.const 1)))))`;

/** A service whose init fills a table of `tableBytes` for `n` rounds (n is calibrated to ~50 ms). */
const service = (tableBytes: number) => `(module
  (memory (export "memory") ${tableBytes / 65_536 + 1})
  (global $seed (mut i32) (i32.const 1))
  (global $ready (mut i32) (i32.const 0))
  (func (export "init") (param $n i32) (local $i i32) (local $x i32)
    (local.set $x (i32.const 12345))
    (loop $l
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (i32.store (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const ${tableBytes - 4})) (local.get $x))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (global.set $ready (i32.const 1)))
  (func (export "forge_on_restore") (global.set $seed (i32.add (global.get $seed) (i32.const 1))))
  (func (export "lookup") (param $k i32) (result i32)
    (i32.add (global.get $ready) (i32.load (i32.and (i32.shl (local.get $k) (i32.const 2)) (i32.const ${tableBytes - 4}))))))`;

const host = new WasmHost({
  development: true,
  isolation: 'inline',
  snapshots: true,
  limits: { memoryPages: PAGES, timeoutMs: 60_000 },
});
const bigModule: LoadedModule = await host.loadModule(await watToWasm(BIG));
const big = (await host.instantiate(bigModule)) as InlineInstance;
big.invokeSync('fill');
const bigSnapshot = big.captureSnapshot();

const memoryBytes = PAGES * 65_536;
const liveMemory = new Uint8Array(memoryBytes).fill(3);
const copyTarget = new Uint8Array(memoryBytes).fill(1);
/** The floor, warm: copy 64 MiB into a buffer in use, and hash it once. */
const floorWarm = () => {
  copyTarget.set(liveMemory);
  createHash('sha256').update(copyTarget).digest();
};
/** The floor, fresh: copy 64 MiB into a new buffer (every page touched for the first time), and hash it. */
const floorFresh = () => {
  const target = new Uint8Array(memoryBytes);
  target.set(liveMemory);
  createHash('sha256').update(target).digest();
};
const capture = () => {
  big.invokeSync('touch');
  big.captureSnapshot();
};
const restore = async () => {
  const decoded = decodeSnapshot(bigSnapshot.bytes);
  const instance = await host.instantiate(bigModule, { fromSnapshot: decoded });
  await instance.terminate();
};

/** A service with its init's rounds calibrated to ~50 ms, its snapshot, and the two ways to start it. */
async function startCase(tableBytes: number) {
  const module: LoadedModule = await host.loadModule(await watToWasm(service(tableBytes)));
  const probe = (await host.instantiate(module)) as InlineInstance;
  const n = 5_000_000;
  let best = Number.POSITIVE_INFINITY;
  // The fastest of several runs: the first ones run before V8's optimising tier has the code.
  for (let i = 0; i < 6; i += 1) {
    const start = performance.now();
    probe.invokeSync('init', [{ type: 'i32', value: n }]);
    best = Math.min(best, performance.now() - start);
  }
  await probe.terminate();
  const rounds = Math.min(0x7fff_ffff, Math.round((n * 50) / best));
  const seed = (await host.instantiate(module)) as InlineInstance;
  seed.invokeSync('init', [{ type: 'i32', value: rounds }]);
  const bytes = seed.captureSnapshot().bytes;
  await seed.terminate();
  const cold = async () => {
    const instance = (await host.instantiate(module)) as InlineInstance;
    instance.invokeSync('init', [{ type: 'i32', value: rounds }]);
    instance.invokeSync('lookup', [{ type: 'i32', value: 7 }]);
    await instance.terminate();
  };
  const warm = async () => {
    const instance = (await host.instantiate(module, {
      fromSnapshot: decodeSnapshot(bytes),
    })) as InlineInstance;
    instance.invokeSync('lookup', [{ type: 'i32', value: 7 }]);
    await instance.terminate();
  };
  return { cold, warm, rounds, fileBytes: bytes.byteLength };
}
const small = await startCase(65_536);
const large = await startCase(1 << 20);

describe('snapshots', () => {
  bench('floor: copy (fresh buffer) + SHA-256 of 64 MiB', floorFresh, { iterations: 3 });
  bench('capture of a 64 MiB container', capture, { iterations: 3 });
  bench('restore of a 64 MiB container', restore, { iterations: 3 });
  bench('start: instantiate + ~50 ms init (1 MiB of state)', large.cold, { iterations: 5 });
  bench('start: from the snapshot (1 MiB of state)', large.warm, { iterations: 5 });
});

afterAll(async () => {
  const asyncFresh = () => Promise.resolve(floorFresh());
  const asyncWarm = () => Promise.resolve(floorWarm());
  printPaired(
    '(c) snapshot of a container with 64 MiB of memory (median; median ratio to the floor beside it)',
    'floor',
    [
      pairedRatio('floor, warm: copy 64 MiB into a buffer in use + SHA-256', floorFresh, floorWarm, 1, 10, 2),
      pairedRatio('floor, fresh: copy 64 MiB into a new buffer + SHA-256', floorFresh, floorFresh, 1, 10, 2),
      pairedRatio('capture (call, capture, encode the .fsnap bytes) / fresh', floorFresh, capture, 1, 10, 2),
      pairedRatio('capture / warm floor', floorWarm, capture, 1, 10, 2),
      await pairedRatioAsync(
        'restore (decode, instantiate, restore, terminate) / fresh',
        asyncFresh,
        restore,
        10,
        1,
        2,
      ),
      await pairedRatioAsync('restore / warm floor', asyncWarm, restore, 10, 1, 2),
    ],
  );
  console.log(
    `  snapshot file: ${(bigSnapshot.bytes.byteLength / 1048576).toFixed(1)} MiB for 64 MiB of memory`,
  );
  for (const [label, c] of [
    ['64 KiB', small],
    ['1 MiB', large],
  ] as const) {
    const cold = await pairedRatioAsync(
      `start: instantiate + init (cold), ${label} of state`,
      c.cold,
      c.cold,
      8,
      1,
      2,
    );
    const warm = await pairedRatioAsync(
      `start: from the snapshot, ${label} of state`,
      c.cold,
      c.warm,
      8,
      1,
      2,
    );
    printPaired(
      `(d) start a service whose init takes ~50 ms (${c.rounds} rounds, ${label} of state, ${c.fileBytes} byte snapshot; ratio to a cold start beside it)`,
      'cold start',
      [cold, warm],
    );
    console.log(`  from the snapshot: ${(1 / warm.ratio).toFixed(1)}x faster (median of paired ratios)`);
  }
  await big.terminate();
  await host.close();
});
