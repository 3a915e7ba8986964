// Issue 15, speed (c) and (d): snapshots. Run from the repository root:
//   npx vitest bench --run --project execution packages/execution/bench/snapshot.bench.ts
// (c) capture and restore of an inline container with 64 MiB of memory, every page written and
//     every page different (no zero page to skip, nothing to deduplicate: the worst case), against
//     the floor of copying 64 MiB and hashing it (SHA-256) measured beside each in the same round.
// (d) starting a service from its snapshot (decode the file, instantiate, restore, forge_on_restore)
//     against instantiating it and running its ~50 ms init export.
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

// A service whose init computes a 1 MiB table for `n` rounds (n is calibrated to ~50 ms).
const SERVICE = `(module
  (memory (export "memory") 17)
  (global $seed (mut i32) (i32.const 1))
  (global $ready (mut i32) (i32.const 0))
  (func (export "init") (param $n i32) (local $i i32) (local $x i32)
    (local.set $x (i32.const 12345))
    (loop $l
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (i32.store (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const 0xFFFFC)) (local.get $x))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (global.set $ready (i32.const 1)))
  (func (export "forge_on_restore") (global.set $seed (i32.add (global.get $seed) (i32.const 1))))
  (func (export "lookup") (param $k i32) (result i32)
    (i32.add (global.get $ready) (i32.load (i32.and (i32.shl (local.get $k) (i32.const 2)) (i32.const 0xFFFFC))))))`;

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
const copyTarget = new Uint8Array(memoryBytes);
/** The floor: copy 64 MiB once and hash it once. */
const floor = () => {
  copyTarget.set(liveMemory);
  createHash('sha256').update(copyTarget).digest();
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

const serviceModule: LoadedModule = await host.loadModule(await watToWasm(SERVICE));
/** Rounds of init's loop that take about `ms` ms here. */
async function calibrate(ms: number): Promise<number> {
  const probe = (await host.instantiate(serviceModule)) as InlineInstance;
  const n = 5_000_000;
  probe.invokeSync('init', [{ type: 'i32', value: n }]);
  const start = performance.now();
  probe.invokeSync('init', [{ type: 'i32', value: n }]);
  const took = performance.now() - start;
  await probe.terminate();
  return Math.min(0x7fff_ffff, Math.round((n * ms) / took));
}
const rounds = await calibrate(50);
const coldStart = async () => {
  const instance = (await host.instantiate(serviceModule)) as InlineInstance;
  instance.invokeSync('init', [{ type: 'i32', value: rounds }]);
  instance.invokeSync('lookup', [{ type: 'i32', value: 7 }]);
  await instance.terminate();
};
const seed = (await host.instantiate(serviceModule)) as InlineInstance;
seed.invokeSync('init', [{ type: 'i32', value: rounds }]);
const serviceSnapshot = seed.captureSnapshot().bytes;
const fromSnapshot = async () => {
  const instance = (await host.instantiate(serviceModule, {
    fromSnapshot: decodeSnapshot(serviceSnapshot),
  })) as InlineInstance;
  instance.invokeSync('lookup', [{ type: 'i32', value: 7 }]);
  await instance.terminate();
};

describe('snapshots', () => {
  bench('floor: copy + SHA-256 of 64 MiB', floor, { iterations: 5 });
  bench('capture of a 64 MiB container', capture, { iterations: 5 });
  bench('restore of a 64 MiB container', restore, { iterations: 5 });
  bench('start: instantiate + ~50 ms init', coldStart, { iterations: 5 });
  bench('start: from the snapshot', fromSnapshot, { iterations: 5 });
});

afterAll(async () => {
  const asyncFloor = () => Promise.resolve(floor());
  printPaired(
    '(c) snapshot of a container with 64 MiB of memory (median; median ratio to copy + hash of 64 MiB beside it)',
    'floor',
    [
      pairedRatio('floor: copy 64 MiB + SHA-256 of it', floor, floor, 1, 12, 3),
      pairedRatio('capture (call, capture, encode the .fsnap bytes)', floor, capture, 1, 12, 3),
      await pairedRatioAsync(
        'restore (decode + verify, instantiate, restore, terminate)',
        asyncFloor,
        restore,
        12,
        1,
        3,
      ),
    ],
  );
  console.log(
    `  snapshot file: ${(bigSnapshot.bytes.byteLength / 1048576).toFixed(1)} MiB for 64 MiB of memory`,
  );
  const cold = await pairedRatioAsync('start: instantiate + init (cold)', coldStart, coldStart, 8, 1, 2);
  const warm = await pairedRatioAsync('start: from the snapshot', coldStart, fromSnapshot, 8, 1, 2);
  printPaired(
    `(d) start a service whose init takes ~50 ms (${rounds} rounds; median ratio to a cold start beside it)`,
    'cold start',
    [cold, warm],
  );
  console.log(`  from the snapshot: ${(cold.ns / warm.ns).toFixed(1)}x faster (medians)`);
  await big.terminate();
  await seed.terminate();
  await host.close();
});
