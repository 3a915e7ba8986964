// `trace diff` of two 100,000-call traces (issue 15, speed (e)) beside the floor of merely reading
// and checking both files (the hash chain included), in the same run. Run:
// `npx vitest bench --run --project observer packages/observer/bench/traceDiff.bench.ts`.
// The peak RSS of a process doing only the diff is printed first (build first).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import {
  diffTraceFiles,
  traceFileRecords,
  traceLines,
  type RecordedTrace,
  type TraceEvent,
} from '../src/index';
import { peakRssMb } from './peakMemory';

const CALLS = 100_000;
const dir = mkdtempSync(join(tmpdir(), 'forgeone-bench-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const syscalls = ['wasi.fd_read', 'wasi.fd_write', 'wasi.clock_time_get', 'wasi.path_open', 'wasi.fd_close'];

/** A run of mixed WASI calls; `edit` changes it in 100 places spread over the run. */
function write(name: string, edit: boolean): string {
  const events: TraceEvent[] = [];
  for (let i = 0; i < CALLS; i += 1) {
    const edited = edit && i % 1000 === 500;
    if (edited && i % 3000 === 500) continue; // a deleted call
    events.push({
      seq: events.length + 1,
      syscall: syscalls[i % syscalls.length]!,
      args: { fd: 3 + (i % 4), len: 64 },
      action: 'allow',
      executed: true,
      reasons: [],
      result: edited && i % 3000 === 1500 ? 8 : 0, // a changed result
      durationNs: -1,
      time: 1_700_000_000_000 + i,
    });
    if (edited && i % 3000 === 2500)
      events.push({ ...events.at(-1)!, seq: events.length + 1, syscall: 'wasi.random_get' }); // an inserted call
  }
  const trace: RecordedTrace = {
    header: {
      format: 'forgeone-trace',
      version: 2,
      module: 'f'.repeat(64),
      entry: '_start',
      args: [],
      containerId: name,
      recordedAt: 1,
    },
    events,
    end: { status: 'exited', exitCode: 0, dropped: 0 },
  };
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, `${[...traceLines(trace)].join('\n')}\n`);
  return path;
}

const a = write('a', false);
const b = write('b', true);

const diff = await diffTraceFiles(a, b);
const rss = peakRssMb('await observer.diffTraceFiles(args[0], args[1]);', [a, b]);
console.log(
  `trace diff of ${CALLS} vs ${diff.b.calls} calls: ${diff.same} same, ${diff.inserted} inserted, ${diff.deleted} deleted, ${diff.changed} changed; peak RSS of a process that diffs them ${rss.task.toFixed(0)} MB, that does nothing ${rss.idle.toFixed(0)} MB (each file is ${(statSync(a).size / 1e6).toFixed(0)} MB)`,
);

describe(`two traces of ${CALLS} calls`, () => {
  bench(
    'read and check both files (baseline)',
    async () => {
      for await (const _ of traceFileRecords(a));
      for await (const _ of traceFileRecords(b));
    },
    { iterations: 3, warmupIterations: 1 },
  );
  bench('trace diff', async () => void (await diffTraceFiles(a, b)), { iterations: 3, warmupIterations: 1 });
});
