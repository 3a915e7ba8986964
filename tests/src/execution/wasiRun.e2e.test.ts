import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace } from '../support/cli';

const scratch = mkdtempSync(join(tmpdir(), 'forgeone-e2e-wasi-'));
const file = (name: string, content: string) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};

/** Prints argv[1], then $GREETING, then the contents of /data/in.txt, then exits with argv[1]'s length. */
const PROGRAM = file(
  'prog.wat',
  `(module
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 900) "in.txt")
  (data (i32.const 910) "\\n")
  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $end (loop $next
      (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1))) (br $next)))
    (local.get $n))
  (func $print (param $p i32) (param $n i32)
    (i32.store (i32.const 0) (local.get $p)) (i32.store (i32.const 4) (local.get $n))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 0) (i32.const 910)) (i32.store (i32.const 4) (i32.const 1))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start") (local $arg i32)
    (drop (call $args_get (i32.const 100) (i32.const 1000)))
    (local.set $arg (i32.load (i32.const 104)))
    (call $print (local.get $arg) (call $strlen (local.get $arg)))
    (drop (call $environ_get (i32.const 200) (i32.const 2000)))
    (call $print (i32.load (i32.const 200)) (call $strlen (i32.load (i32.const 200))))
    (if (call $open (i32.const 3) (i32.const 0) (i32.const 900) (i32.const 6) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16))
      (then (call $exit (i32.const 99))))
    (i32.store (i32.const 32) (i32.const 4096)) (i32.store (i32.const 36) (i32.const 200))
    (drop (call $read (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 40)))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 48)))
    (call $print (i32.const 4096) (i32.load (i32.const 40)))
    (call $exit (call $strlen (local.get $arg)))))`,
);
const data = join(scratch, 'data');
mkdirSync(data);
writeFileSync(join(data, 'in.txt'), 'from the host');

describe('forgeone run: WASI programs (end to end)', () => {
  it('gives guest args after --, --env and a --dir preopen; the exit code becomes the CLI exit code', () => {
    const run = forgeone([
      'run',
      PROGRAM,
      '--allow',
      'wasi.*',
      '--dir',
      `${data}:/data:ro`,
      '--env',
      'GREETING=hello',
      '--',
      'abcde',
    ]);
    expect(hasStackTrace(run.stderr)).toBe(false);
    expect(run.stdout.split('\n').slice(0, 3)).toEqual(['abcde', 'GREETING=hello', 'from the host']);
    expect(run.stdout).toMatch(/exited, exit code 5/);
    expect(run.code).toBe(5);
  });

  it('denies WASI without --allow: the program cannot open its file', () => {
    const run = forgeone([
      'run',
      PROGRAM,
      '--dir',
      `${data}:/data`,
      '--allow',
      'wasi.args_get,wasi.fd_write,wasi.proc_exit',
      '--',
      'x',
    ]);
    expect(run.stdout).toMatch(/wasi\.path_open\s+deny/);
    expect(run.code).toBe(99);
  });

  it('records with --trace and replays with the file deleted and another clock: identical output', () => {
    const dir = mkdtempSync(join(scratch, 'replay-'));
    writeFileSync(join(dir, 'in.txt'), 'recorded once');
    const trace = join(scratch, 'run.jsonl');
    const run = forgeone([
      'run',
      PROGRAM,
      '--allow',
      'wasi.*',
      '--dir',
      `${dir}:/data`,
      '--env',
      'GREETING=recorded',
      '--trace',
      trace,
      '--',
      'abc',
    ]);
    expect(run.code).toBe(3);
    expect(run.stdout.split('\n').slice(0, 3)).toEqual(['abc', 'GREETING=recorded', 'recorded once']);
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ kind: 'header', format: 'forgeone-trace' });
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ kind: 'end', status: 'exited', exitCode: 3 });
    rmSync(dir, { recursive: true });
    const replay = forgeone(['replay', trace, PROGRAM]);
    expect(replay.stderr).toBe('');
    expect(replay.stdout.split('\n').slice(0, 3)).toEqual(['abc', 'GREETING=recorded', 'recorded once']);
    expect(replay.stdout).toMatch(/replayed (\d+) of \1 call\(s\); exited with code 3/);
    expect(replay.code).toBe(3);
  });

  it('reports the first divergence of a tampered trace with FORGE_REPLAY_DIVERGED', () => {
    const dir = mkdtempSync(join(scratch, 'diverge-'));
    writeFileSync(join(dir, 'in.txt'), 'x');
    const trace = join(scratch, 'tampered.jsonl');
    expect(
      forgeone(['run', PROGRAM, '--allow', 'wasi.*', '--dir', `${dir}:/data`, '--trace', trace, '--', 'ab'])
        .code,
    ).toBe(2);
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    const second = JSON.parse(lines[2]!) as { params: number[] };
    second.params[0] = 12345;
    lines[2] = JSON.stringify(second);
    writeFileSync(trace, `${lines.join('\n')}\n`);
    // The trace is hash-chained: the edited record is refused before anything runs.
    const refused = forgeone(['replay', trace, PROGRAM]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toMatch(/^FORGE_TRACE_TAMPERED: trace line 3: /);
    // Without the chain (a format-1 file), the edit reaches replay, which finds where the run departs.
    const unchained = lines.map((line) => {
      const { hash: _hash, ...record } = JSON.parse(line) as Record<string, unknown>;
      return JSON.stringify(record['kind'] === 'header' ? { ...record, version: 1 } : record);
    });
    writeFileSync(trace, `${unchained.join('\n')}\n`);
    const replay = forgeone(['replay', trace, PROGRAM]);
    expect(replay.code).toBe(1);
    expect(replay.stderr.trim()).toMatch(/^FORGE_REPLAY_DIVERGED: replay diverged at call #2 \(args\)/);
    const json = JSON.parse(forgeone(['replay', trace, PROGRAM, '--json']).stdout) as {
      divergence: { kind: string };
    };
    expect(json.divergence.kind).toBe('args');
  });

  it('refuses a malformed trace with one coded line', () => {
    const run = forgeone(['replay', file('bad.jsonl', '{"kind":"call"}\n'), PROGRAM]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^FORGE_TRACE_INVALID: trace line 1/);
  });

  it('calls an export with typed --args and prints its result', () => {
    const add = file(
      'add.wat',
      '(module (func (export "add") (param i32 i64) (result i64) (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1))))',
    );
    const run = forgeone(['run', add, '--call', 'add', '--args', '-2', '9007199254740993']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('=> i64 9007199254740991');
    const bad = forgeone(['run', add, '--call', 'add', '--args', '1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toMatch(/^FORGE_INVOKE_ARGS: export 'add' takes \(i32, i64\)/);
  });

  it('runs the same program inline', () => {
    const run = forgeone([
      'run',
      PROGRAM,
      '--isolation',
      'inline',
      '--allow',
      'wasi.*',
      '--dir',
      `${data}:/data`,
      '--',
      'abcd',
    ]);
    expect(run.code).toBe(4);
  });

  it('rejects malformed --dir and --env with a usage line', () => {
    expect(forgeone(['run', PROGRAM, '--dir', 'nocolon']).stderr).toMatch(/^FORGE_CLI_USAGE: --dir takes/);
    expect(forgeone(['run', PROGRAM, '--env', 'NOEQUALS']).code).toBe(2);
  });
});
