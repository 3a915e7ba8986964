// Issue 16, speed (b): a write of the configuration file until the change is applied and its
// subscriber told, median and p99. Run from the repository root:
//   npx vitest bench --run --project config packages/config/bench/configReload.bench.ts
// Two figures, in the same run: `reload()` alone (read, parse, validate, policies, replace with its
// durable history entry in a SQLite store, subscribers), and the whole path through ConfigWatcher
// (fs.watch event, debounce, reload), whose debounce (here 10 ms) is a floor it adds on purpose.
// A policy recompile is not part of a config reload yet (not wired: see the note).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { SqliteStore } from '@forgeone/common';
import { ConfigContext, ConfigWatcher, type ReloadResult } from '../src/index';
import { benchSchema } from './benchSchema';

const schema = benchSchema;

const dir = mkdtempSync(join(tmpdir(), 'forgeone-bench-reload-'));
const file = join(dir, 'forgeone.yaml');
const store = await SqliteStore.open(join(dir, 'kernel.db'));
/** The file with a timeout of `ms`: every write changes one value, so every reload applies. */
const fileWith = (ms: number) =>
  `mode: enforce\nlimits:\n  timeoutMs: ${ms}\n  memoryPages: 256\nresources:\n  memoryPages: 65536\nlog:\n  level: warn\n`;
writeFileSync(file, fileWith(1000));
const context = await ConfigContext.open({ schema, store, initial: { limits: { timeoutMs: 1000 } } });
let told = 0;
context.subscribe('limits.timeoutMs', () => {
  told += 1;
});

const ROUNDS = 200;
const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const line = (label: string, samples: number[]) => {
  samples.sort((a, b) => a - b);
  return `  ${label.padEnd(58)} median ${quantile(samples, 0.5).toFixed(2)} ms   p99 ${quantile(samples, 0.99).toFixed(2)} ms`;
};

/** `reload()` alone: write, then read + validate + replace + history + subscribers. */
async function reloadAlone(): Promise<number[]> {
  const watcher = new ConfigWatcher({ file, context, debounceMs: 60_000, onResult: () => undefined });
  const samples: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i += 1) {
      const before = told;
      writeFileSync(file, fileWith(2000 + i));
      const start = performance.now();
      const result = await watcher.reload();
      samples.push(performance.now() - start);
      if (!result.applied || told !== before + 1) throw new Error(`reload ${i} was not applied`);
    }
  } finally {
    watcher.close();
  }
  return samples;
}

/** The whole path: write, the watcher notices, debounces, reloads; until the subscriber is told. */
async function throughWatcher(): Promise<number[]> {
  let resolveNext: ((result: ReloadResult) => void) | undefined;
  const watcher = new ConfigWatcher({
    file,
    context,
    debounceMs: 10,
    onResult: (result) => resolveNext?.(result),
  });
  const samples: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i += 1) {
      const applied = new Promise<ReloadResult>((resolve) => (resolveNext = resolve));
      const start = performance.now();
      writeFileSync(file, fileWith(5000 + i));
      const result = await Promise.race([
        applied,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no reload in 10 s')), 10_000)),
      ]);
      samples.push(performance.now() - start);
      if (!result.applied) throw new Error(`reload ${i} was refused: ${result.message}`);
      await watcher.idle();
    }
  } finally {
    watcher.close();
  }
  return samples;
}

afterAll(async () => {
  const alone = await reloadAlone();
  const watched = await throughWatcher();
  console.log(
    `\n(b) file write -> change applied and subscriber told (${ROUNDS} writes each, SQLite history)\n${line('reload() alone (read, validate, replace, history, notify)', alone)}\n${line('through ConfigWatcher (fs.watch + 10 ms debounce + reload)', watched)}`,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}, 600_000);

describe('config reload', () => {
  bench('reload() of a changed file', async () => {
    const watcher = new ConfigWatcher({ file, context, debounceMs: 60_000, onResult: () => undefined });
    writeFileSync(file, fileWith(9000 + told));
    await watcher.reload();
    watcher.close();
  });
});
