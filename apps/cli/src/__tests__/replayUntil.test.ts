import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from './support/inProcess';

const dir = mkdtempSync(join(tmpdir(), 'forgeone-cli-until-'));
// Finds its preopen, opens note.txt, reads it to 256, prints it, reads the clock; `calls` counts.
writeFileSync(
  join(dir, 'reader.wat'),
  `(module
    (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $dirname (param i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
    (memory (export "memory") 1)
    (global $calls (export "calls") (mut i32) (i32.const 0))
    (data (i32.const 0) "note.txt")
    (func $counted (global.set $calls (i32.add (global.get $calls) (i32.const 1))))
    (func (export "_start")
      (drop (call $prestat (i32.const 3) (i32.const 600))) (call $counted)
      (drop (call $dirname (i32.const 3) (i32.const 640) (i32.load (i32.const 604)))) (call $counted)
      (drop (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16))) (call $counted)
      (i32.store (i32.const 32) (i32.const 256)) (i32.store (i32.const 36) (i32.const 100))
      (drop (call $read (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 40))) (call $counted)
      (i32.store (i32.const 36) (i32.load (i32.const 40)))
      (drop (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 44))) (call $counted)
      (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 512))) (call $counted)))`,
);

beforeAll(async () => {
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'note.txt'), 'secret\tnote\n');
  const run = await cli(
    ['run', 'reader.wat', '--allow', 'wasi.*', '--dir', `${join(dir, 'data')}:/data`, '--trace', 't.jsonl'],
    dir,
  );
  expect(run.code).toBe(0);
  // Replay reads nothing of the world: the file it read is gone.
  rmSync(join(dir, 'data'), { recursive: true });
});

const replay = (...flags: string[]) => cli(['replay', 't.jsonl', 'reader.wat', ...flags], dir);

describe('forgeone replay --until', () => {
  it('stops after a seq and shows globals, the fd table and a memory dump', async () => {
    const run = await replay('--until', '4', '--dump-memory', '256:16');
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out).toEqual([
      '--- stopped after call #4 of 6: #4 wasi.fd_read(fd=4, path="/data/note.txt", bytes=100) -> 0 ---',
      'globals:',
      '  calls [0] = 3',
      'fd table (as the recorded calls built it):',
      '  fd 0  stdio  <stdin>',
      '  fd 1  stdio  <stdout>',
      '  fd 2  stdio  <stderr>',
      '  fd 3  preopen  /data  (opened at #1)',
      '  fd 4  file  /data/note.txt  rights 0x2/0x0  fdflags 0  offset 12  (opened at #3)',
      'memory 256:16 (0x100, of 65536 bytes):',
      '  00000100  73 65 63 72 65 74 09 6e 6f 74 65 0a 00 00 00 00  |secret.note.....|',
    ]);
  });

  it('stops at the first call of a syscall by name, with its output so far, as JSON', async () => {
    const run = await replay('--until', 'wasi.clock_time_get', '--dump-memory', '0x100:0x6', '--json');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.out[0]!) as Record<string, unknown>;
    expect(report).toMatchObject({
      ok: true,
      code: 'OK',
      message: 'stopped after call #6 of 6 (wasi.clock_time_get)',
      replayed: 6,
      recorded: 6,
      stopped: { seq: 6, syscall: 'wasi.clock_time_get', result: 0 },
      globals: [{ index: 0, names: ['calls'], value: 5 }],
      memory: [
        { offset: 256, length: 6, hex: '736563726574', base64: Buffer.from('secret').toString('base64') },
      ],
      stdout: 'secret\tnote\n',
    });
    expect(report['fds']).toContainEqual(
      expect.objectContaining({ fd: 4, path: '/data/note.txt', offset: '12' }),
    );
  });

  it.each([
    [['--until', '7'], 'FORGE_REPLAY_RANGE', '--until 7: the trace has calls #1 to #6'],
    [
      ['--until', 'random_get'],
      'FORGE_REPLAY_RANGE',
      '--until random_get: the trace has no call of random_get',
    ],
    [['--until', 'fd_read;rm'], 'FORGE_INVALID_INPUT', '--until "fd_read;rm": expected'],
    [['--until', '0'], 'FORGE_INVALID_INPUT', '--until 0: '],
    [
      ['--until', '2', '--dump-memory', '12'],
      'FORGE_INVALID_INPUT',
      '--dump-memory "12": expected OFFSET:LEN',
    ],
    [['--until', '2', '--dump-memory', '12:0'], 'FORGE_INVALID_INPUT', '--dump-memory "12:0"'],
    [
      ['--until', '2', '--dump-memory', '65530:7'],
      'FORGE_REPLAY_MEMORY',
      'memory region 65530:7 ends at 65537',
    ],
    [['--until', '2', '--dump-memory', '0:1048577'], 'FORGE_REPLAY_MEMORY', 'more than the 1048576'],
    [['--dump-memory', '0:4'], 'FORGE_INVALID_INPUT', '--dump-memory needs --until'],
  ])('refuses %j with one coded line', async (flags, code, text) => {
    const run = await replay(...flags);
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toMatch(new RegExp(`^${code}: `));
    expect(run.err[0]).toContain(text);
    const json = await replay(...flags, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out[0]!)).toMatchObject({ ok: false, code });
  });

  it('reports a divergence with both sides and the calls before it, in text and JSON', async () => {
    const lines = readFileSync(join(dir, 't.jsonl'), 'utf8').trim().split('\n');
    // A format-1 copy (no hash chain) with call #5's fd changed: the replay departs there.
    const edited = lines.map((line) => {
      const { hash: _hash, ...record } = JSON.parse(line) as Record<string, unknown>;
      if (record['kind'] === 'header') return JSON.stringify({ ...record, version: 1 });
      if (record['seq'] === 5) return JSON.stringify({ ...record, params: [2, 32, 1, 44] });
      return JSON.stringify(record);
    });
    writeFileSync(join(dir, 'edited.jsonl'), `${edited.join('\n')}\n`);
    for (const flags of [[], ['--until', '6']]) {
      const run = await cli(['replay', 'edited.jsonl', 'reader.wat', ...flags], dir);
      expect(run.code).toBe(1);
      expect(run.err).toEqual([
        'FORGE_REPLAY_DIVERGED: replay diverged at call #5 (args): expected wasi.fd_write(2, 32, 1, 44), got wasi.fd_write(1, 32, 1, 44)',
      ]);
      expect(run.out).toEqual([
        'expected: #5 wasi.fd_write(fd=1, path="<stdout>", bytes=12) -> 0 (recorded)',
        'actual:   wasi.fd_write(1, 32, 1, 44)',
        'the 4 call(s) before it:',
        '  #1 wasi.fd_prestat_get(fd=3, path="/data") -> 0',
        '  #2 wasi.fd_prestat_dir_name(fd=3, path="/data") -> 0',
        '  #3 wasi.path_open(fd=3, path="/data/note.txt", oflags=0, fdflags=0, read=true, write=false) -> 0',
        '  #4 wasi.fd_read(fd=4, path="/data/note.txt", bytes=100) -> 0',
      ]);
      const json = await cli(['replay', 'edited.jsonl', 'reader.wat', ...flags, '--json'], dir);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.out[0]!)).toMatchObject({
        ok: false,
        code: 'FORGE_REPLAY_DIVERGED',
        divergence: {
          kind: 'args',
          seq: 5,
          recorded: { seq: 5, syscall: 'wasi.fd_write', params: [2, 32, 1, 44], result: 0 },
          before: [{ seq: 1 }, { seq: 2 }, { seq: 3 }, { seq: 4, syscall: 'wasi.fd_read', result: 0 }],
        },
      });
    }
    // --summary: the recorded run's summary, with the first divergence in it (text and JSON).
    const text = await cli(['replay', 'edited.jsonl', 'reader.wat', '--summary', '--budget', '600'], dir);
    expect(text.code).toBe(1);
    expect(text.err).toEqual([expect.stringMatching(/^FORGE_REPLAY_DIVERGED: replay diverged at call #5/)]);
    expect(text.out).toContain('## Divergence');
    expect(text.out).toContainEqual(expect.stringMatching(/^- Replay diverged at #5 \(args\): .* \[#5\]$/));
    expect(text.out.at(-1)).toMatch(/^\(\d+ of 600 tokens, o200k_base\)$/);
    const json = await cli(['replay', 'edited.jsonl', 'reader.wat', '--summary', '--json'], dir);
    expect(JSON.parse(json.out[0]!)).toMatchObject({
      code: 'FORGE_REPLAY_DIVERGED',
      summary: { format: 'forgeone-summary', divergence: { seq: 5, kind: 'args' }, budget: 2000 },
    });
  });

  it('refuses --budget without --summary, --summary with --until, and a budget out of bounds', async () => {
    for (const [flags, message] of [
      [['--budget', '500'], '--budget sizes the --summary'],
      [['--summary', '--until', '2'], '--summary summarises a whole replay'],
      [['--summary', '--budget', '10'], '--budget'],
    ] as const) {
      const run = await cli(['replay', 'trace.jsonl', 'reader.wat', ...flags], dir);
      expect(run.code, flags.join(' ')).not.toBe(0);
      expect(run.out).toEqual([]);
      expect(run.err).toEqual([expect.stringContaining(message)]);
      expect(run.err[0]).toMatch(/^FORGE_[A-Z_]+: /);
    }
  });
});
