import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './support/inProcess';

const dir = mkdtempSync(join(tmpdir(), 'forgeone-cli-replay-'));
// Reads the clock (the host writes 8 bytes at 512: replayed from the trace), then prints "hi".
writeFileSync(
  join(dir, 'clock.wat'),
  `(module
    (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hi\\n")
    (func (export "_start")
      (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 512)))
      (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`,
);

/** Records clock.wat (in `isolation`) and returns the trace's lines. */
async function record(isolation: 'inline' | 'worker'): Promise<string[]> {
  const trace = join(dir, `clock-${isolation}.jsonl`);
  const run = await cli(
    ['run', 'clock.wat', '--allow', 'wasi.*', '--isolation', isolation, '--trace', trace],
    dir,
  );
  expect(run.code).toBe(0);
  return readFileSync(trace, 'utf8').trim().split('\n');
}

/**
 * `lines` as a format-1 trace: no hash chain, so an edit is not refused as tampering and reaches
 * the checks replay makes of every trace (a chained trace edited the same way is refused earlier).
 */
function unchained(lines: string[]): string[] {
  return lines.map((line) => {
    const { hash: _hash, ...record } = JSON.parse(line) as Record<string, unknown>;
    return JSON.stringify(record['kind'] === 'header' ? { ...record, version: 1 } : record);
  });
}

/** Writes `lines` with the clock call's recorded write replaced, and replays them. */
async function replayWithWrite(lines: string[], write: { ptr: number; bytes: string }, chained = false) {
  const index = lines.findIndex((line) => line.includes('"wasi.clock_time_get"'));
  const record = JSON.parse(lines[index]!) as { writes: unknown[] };
  record.writes = [write];
  const edited = lines.map((line, i) => (i === index ? JSON.stringify(record) : line));
  writeFileSync(join(dir, 'edited.jsonl'), `${(chained ? edited : unchained(edited)).join('\n')}\n`);
  return { run: await cli(['replay', 'edited.jsonl', 'clock.wat'], dir), line: index + 1 };
}

describe('forgeone replay of a tampered trace', () => {
  it.each(['inline', 'worker'] as const)('replays an untouched trace recorded %s', async (isolation) => {
    const lines = await record(isolation);
    writeFileSync(join(dir, 'good.jsonl'), `${lines.join('\n')}\n`);
    const replay = await cli(['replay', 'good.jsonl', 'clock.wat'], dir);
    expect(replay.code).toBe(0);
    expect(replay.out).toEqual(['hi', expect.stringMatching(/^--- replayed 2 of 2 call\(s\)/)]);
  });

  it('refuses a write at 2^32 + 256 (it wrapped to 256 and replayed "successfully")', async () => {
    const { run, line } = await replayWithWrite(await record('inline'), {
      ptr: 2 ** 32 + 256,
      bytes: 'AQIDBAUGBwg=',
    });
    expect(run).toMatchObject({ code: 1, out: [] });
    expect(run.err).toEqual([
      expect.stringMatching(new RegExp(`^FORGE_TRACE_INVALID: trace line ${line}: writes\\.0\\.ptr: `)),
    ]);
  });

  it('refuses a write past the end of memory at that write (it was a divergence at the next call)', async () => {
    const { run, line } = await replayWithWrite(await record('inline'), {
      ptr: 65_532,
      bytes: 'AQIDBAUGBwg=',
    });
    expect(run).toMatchObject({ code: 1, out: [] });
    expect(run.err).toEqual([
      `FORGE_TRACE_INVALID: trace line ${line} (call #${line - 1}): writes.0: [65532, 65540) lies past the end of memory (65536 bytes at that call)`,
    ]);
  });

  it('refuses an edited record of a hash-chained trace before anything runs', async () => {
    const { run, line } = await replayWithWrite(
      await record('inline'),
      { ptr: 512, bytes: 'AQIDBAUGBwg=' },
      true,
    );
    expect(run).toMatchObject({ code: 1, out: [] });
    expect(run.err).toEqual([
      expect.stringMatching(
        new RegExp(`^FORGE_TRACE_TAMPERED: trace line ${line}: the record does not match its hash`),
      ),
    ]);
  });

  it('refuses numbers written as strings and a denied call that executed nothing yet wrote', async () => {
    const lines = await record('inline');
    const index = lines.findIndex((line) => line.includes('"wasi.clock_time_get"'));
    for (const [change, field] of [
      [(r: Record<string, unknown>) => (r.seq = '1'), 'seq'],
      [(r: Record<string, unknown>) => ((r.action = 'deny'), (r.executed = false)), 'writes'],
      [(r: Record<string, unknown>) => (r.result = '0x0'), 'result'],
    ] as const) {
      const record = JSON.parse(lines[index]!) as Record<string, unknown>;
      change(record);
      writeFileSync(
        join(dir, 'edited.jsonl'),
        lines.map((l, i) => (i === index ? JSON.stringify(record) : l)).join('\n'),
      );
      const run = await cli(['replay', 'edited.jsonl', 'clock.wat', '--json'], dir);
      expect(run.code).toBe(1);
      expect(JSON.parse(run.out[0]!)).toMatchObject({
        ok: false,
        code: 'FORGE_TRACE_INVALID',
        message: expect.stringMatching(new RegExp(`^trace line ${index + 1}: ${field}: `)),
      });
    }
  });
});
