// Summary of a 1,000,000-call trace (issue 15, speed (b)) beside the floor of merely reading and
// checking the file, in the same run. Run:
// `npx vitest bench --run --project observer packages/observer/bench/traceSummary.bench.ts`.
// The summary is streamed: the peak RSS of a process doing only that is printed first (build first).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import {
  summarizeTraceFile,
  traceFileRecords,
  traceLines,
  type RecordedTrace,
  type TraceEvent,
} from '../src/index';
import { peakRssMb } from './peakMemory';

const CALLS = 1_000_000;
const dir = mkdtempSync(join(tmpdir(), 'forgeone-bench-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const syscalls = ['wasi.fd_read', 'wasi.fd_write', 'wasi.clock_time_get', 'wasi.path_open', 'wasi.fd_close'];
const events: TraceEvent[] = [];
for (let i = 0; i < CALLS; i += 1) {
  const refused = i % 50_000 === 7;
  events.push({
    seq: i + 1,
    // Two phases: reads and writes, then clock reads and opens.
    syscall: syscalls[(i < CALLS / 2 ? 0 : 2) + (i % 2)]!,
    args: i % 10 === 0 ? { path: `/data/file-${i % 100}.txt` } : { fd: 3, bytes: 64 },
    action: refused ? 'deny' : 'allow',
    executed: !refused,
    reasons: refused ? [{ policy: 'example', rule: 'no-etc', message: 'outside the grant' }] : [],
    result: refused ? 76 : 0,
    durationNs: -1,
    time: 1_700_000_000_000 + i,
  });
}
const trace: RecordedTrace = {
  header: {
    format: 'forgeone-trace',
    version: 2,
    module: 'f'.repeat(64),
    entry: '_start',
    args: [],
    containerId: 'ctr_bench',
    recordedAt: 1,
  },
  events,
  end: { status: 'exited', exitCode: 0, dropped: 0 },
};
const path = join(dir, 'million.jsonl');
writeFileSync(path, `${[...traceLines(trace)].join('\n')}\n`);
events.length = 0;

const summary = await summarizeTraceFile(path);
const rss = peakRssMb('await observer.summarizeTraceFile(args[0]);', [path]);
const readRss = peakRssMb('for await (const _ of observer.traceFileRecords(args[0]));', [path]);
// Streamed, so it fits a small heap whatever the length of the run (the RSS above is the GC's choice).
const capped = peakRssMb('await observer.summarizeTraceFile(args[0]);', [path], ['--max-old-space-size=48']);
console.log(
  `summary of ${summary.outcome.calls} calls: ${summary.tokens} tokens, ${summary.refusals.length} refusal group(s), ${summary.phases.length} phase(s); peak RSS of a process that summarises it ${rss.task.toFixed(0)} MB, that only reads it ${readRss.task.toFixed(0)} MB, that does nothing ${rss.idle.toFixed(0)} MB; with the JS heap capped at 48 MB it still summarises it, at ${capped.task.toFixed(0)} MB RSS (the file is ${(statSync(path).size / 1e6).toFixed(0)} MB)`,
);

describe(`a trace of ${CALLS} calls`, () => {
  bench(
    'read and check the file (baseline)',
    async () => {
      for await (const _ of traceFileRecords(path));
    },
    { iterations: 2, warmupIterations: 0 },
  );
  bench('summarize', async () => void (await summarizeTraceFile(path)), {
    iterations: 2,
    warmupIterations: 0,
  });
});
