// Issue 14, item 3 (the default syscall rate) and speed item (e): a real WASI workload end to end.
// wasiMixedCalls.wat makes 1,000,000 WASI calls (clock_time_get, path_open / fd_read / fd_close on
// a preopen, fd_write of one byte to stdout, sent to a null sink) and is run, in the same run and in
// alternating rounds, by node:wasi, by a WasmHost in this process (the gate, rate limit off) and by
// `forgeone run` (the built CLI, a child process, default limits but --timeout). Each figure is
// calls per second, with its ratio to node:wasi in the same round. Run from the repository root:
//   npx vitest bench --run --project core packages/core/bench/wasiCalls.bench.ts
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';
import { afterAll, bench, describe } from 'vitest';
import { WasmHost, watToWasm, type EnforcerSpec } from '@forgeone/execution';

const CALLS = 1_000_000;
const here = fileURLToPath(new URL('.', import.meta.url));
const watFile = join(here, 'wasiMixedCalls.wat');
const cli = resolve(here, '../../../apps/cli/dist/main.js');
const data = mkdtempSync(join(tmpdir(), 'forgeone-bench-wasi-'));
mkdirSync(join(data, 'root'));
writeFileSync(join(data, 'root', 'input.txt'), 'x');
const root = join(data, 'root');
const module = await WebAssembly.compile((await watToWasm(readFileSync(watFile))) as Uint8Array<ArrayBuffer>);

/** Seconds one run of `fn` took; it must report success. */
async function seconds(fn: () => Promise<void> | void): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function nodeWasi(): void {
  const sink = openSync('/dev/null', 'w');
  try {
    const wasi = new WASI({ version: 'preview1', preopens: { '/': root }, stdout: sink, returnOnExit: true });
    const instance = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports);
    const code = wasi.start(instance);
    if (code !== 0) throw new Error(`node:wasi run failed at call ${code - 1}`);
  } finally {
    closeSync(sink);
  }
}

const policy: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['wasi.*'] } };
const host = new WasmHost({
  development: true,
  isolation: 'inline',
  limits: { timeoutMs: 600_000, syscallsPerSecond: 0 },
});
const loaded = await host.loadModule(readFileSync(watFile), { format: 'wat' });
async function gateInline(): Promise<void> {
  const run = await host.run(loaded, {
    enforcer: policy,
    wasi: { preopens: [{ kind: 'host', guestPath: '/', hostPath: root }] },
    onStdout: () => undefined,
  });
  if (run.outcome.status !== 'returned') throw new Error(`gate run ended ${JSON.stringify(run.outcome)}`);
}

/** `forgeone run` at the default limits (the default syscall rate included), stdout to a null sink. */
function forgeoneRun(isolation: 'worker' | 'inline') {
  return () => {
    const run = spawnSync(
      process.execPath,
      [
        cli,
        'run',
        watFile,
        '--allow',
        'wasi.*',
        '--dir',
        `${root}:/`,
        '--timeout',
        '600000',
        '--isolation',
        isolation,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
    );
    if (run.status !== 0) throw new Error(`forgeone run exited ${run.status}: ${run.stderr}`);
  };
}

const once = { iterations: 1, time: 0, warmupIterations: 0 };
describe(`${CALLS} mixed WASI calls`, () => {
  bench('node:wasi', nodeWasi, once);
  bench('WasmHost inline (the gate, rate limit off)', gateInline, once);
  bench('forgeone run (worker isolation)', forgeoneRun('worker'), once);
  bench('forgeone run --isolation inline', forgeoneRun('inline'), once);
});

afterAll(async () => {
  const cases: [string, () => Promise<void> | void][] = [
    ['WasmHost inline (the gate, rate limit off)', gateInline],
    ['forgeone run (worker isolation, default limits)', forgeoneRun('worker')],
    ['forgeone run --isolation inline (default limits)', forgeoneRun('inline')],
  ];
  const rounds = 2;
  const rows = new Map<string, { perSecond: number[]; ratio: number[] }>();
  const base: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, fn] of cases) {
      const wasiSeconds = await seconds(nodeWasi);
      const caseSeconds = await seconds(fn);
      base.push(CALLS / wasiSeconds);
      const row = rows.get(name) ?? { perSecond: [], ratio: [] };
      row.perSecond.push(CALLS / caseSeconds);
      row.ratio.push(caseSeconds / wasiSeconds);
      rows.set(name, row);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} calls/s`;
  console.log(
    `\n(e) ${CALLS} mixed WASI calls: median calls/s; time per call over node:wasi's in the same round`,
  );
  console.log(`  ${'node:wasi'.padEnd(52)} ${fmt(median(base)).padStart(20)}  1.00x`);
  for (const [name, row] of rows) {
    console.log(
      `  ${name.padEnd(52)} ${fmt(median(row.perSecond)).padStart(20)}  ${median(row.ratio).toFixed(2)}x`,
    );
  }
  await host.close();
  // Minutes on a shared machine: well past the project's hook timeout.
}, 1_800_000);
