import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffTraceFiles, traceToJsonl, type RecordedTrace, type TraceEvent } from '../../index';

const dir = mkdtempSync(join(tmpdir(), 'forge-trace-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Call = Pick<TraceEvent, 'syscall'> & Partial<TraceEvent>;

function write(name: string, calls: Call[]): string {
  const trace: RecordedTrace = {
    header: {
      format: 'forgeone-trace',
      version: 2,
      module: 'd'.repeat(64),
      entry: '_start',
      args: [],
      containerId: `ctr_${name}`,
      recordedAt: 1,
    },
    events: calls.map((call, i) => ({
      seq: i + 1,
      args: {},
      action: 'allow',
      executed: true,
      reasons: [],
      result: 0,
      durationNs: -1,
      time: 10 + i,
      ...call,
    })),
    end: { status: 'exited', exitCode: 0, dropped: 0 },
  };
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, traceToJsonl(trace));
  return path;
}

/** A run of `n` calls cycling through reads, writes and clock reads, with their fd as argument. */
const run = (n: number): Call[] =>
  Array.from({ length: n }, (_, i) => ({
    syscall: ['wasi.fd_read', 'wasi.fd_write', 'wasi.clock_time_get'][i % 3]!,
    args: { fd: i % 3 },
  }));

describe('trace diff', () => {
  it('one inserted call is one insertion: nothing after it differs', async () => {
    const base = run(3000);
    const withOne = [
      ...base.slice(0, 1500),
      { syscall: 'wasi.path_open', args: { path: '/etc/passwd' } },
      ...base.slice(1500),
    ];
    const diff = await diffTraceFiles(write('a', base), write('b', withOne));
    expect(diff).toMatchObject({
      same: 3000,
      inserted: 1,
      deleted: 0,
      changed: 0,
      omitted: 0,
      approximate: false,
    });
    expect(diff.entries).toEqual([
      {
        kind: 'inserted',
        b: expect.objectContaining({ seq: 1501, syscall: 'wasi.path_open', args: { path: '/etc/passwd' } }),
      },
    ]);
    expect(diff.dna.syscalls).toEqual([{ name: 'wasi.path_open', a: 0, b: 1 }]);
    expect(diff.dna.transitions).toEqual([
      { name: 'wasi.clock_time_get>wasi.fd_read', a: 999, b: 998 },
      { name: 'wasi.clock_time_get>wasi.path_open', a: 0, b: 1 },
      { name: 'wasi.path_open>wasi.fd_read', a: 0, b: 1 },
    ]);
    expect(diff.dna.totalCalls).toEqual([3000, 3001]);
  });

  it('reports changed results, decision changes and changed arguments of the same syscall', async () => {
    const base = run(30);
    const changed = base.map((call, i) =>
      i === 4
        ? { ...call, result: 8 }
        : i === 10
          ? { ...call, action: 'deny' as const, executed: false, result: 76 }
          : i === 20
            ? { ...call, args: { fd: 9 } }
            : call,
    );
    const diff = await diffTraceFiles(write('c', base), write('d', changed));
    expect(diff).toMatchObject({ same: 27, inserted: 0, deleted: 0, changed: 3, decisionChanges: 1 });
    expect(
      diff.entries.map((entry) => [
        entry.kind,
        'a' in entry ? entry.a.seq : 0,
        'fields' in entry ? entry.fields : [],
      ]),
    ).toEqual([
      ['changed', 5, ['result']],
      ['changed', 11, ['action', 'executed', 'result']],
      ['changed', 21, ['args']],
    ]);
    expect(diff.dna.deniedCalls).toEqual([0, 1]);
  });

  it('lists at most --limit differences and counts the rest', async () => {
    const diff = await diffTraceFiles(
      write('e', run(300)),
      write(
        'f',
        run(300).map((call) => ({ ...call, result: 1 })),
      ),
      {
        limit: 10,
      },
    );
    expect(diff).toMatchObject({ changed: 300, omitted: 290 });
    expect(diff.entries).toHaveLength(10);
  });

  it('refuses a trace off its chain, naming the file and line', async () => {
    const good = write('g', run(5));
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(
      bad,
      traceToJsonl({
        header: {
          format: 'forgeone-trace',
          version: 2,
          module: 'e'.repeat(64),
          entry: '_start',
          args: [],
          containerId: 'c',
          recordedAt: 1,
        },
        events: [],
        end: undefined,
      }).replace('"_start"', '"main"'),
    );
    await expect(diffTraceFiles(good, bad)).rejects.toMatchObject({
      code: 'FORGE_TRACE_TAMPERED',
      message: /^trace line 1: /,
    });
  });
});
