import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace } from '../support/cli';

const scratch = mkdtempSync(join(tmpdir(), 'forgeone-e2e-kv-'));

/**
 * Counts its runs in kv key `visits` (one ASCII digit), emits the new count as `visit.counted`,
 * and deletes the key when run with the argument `reset` (argv[1] starting with `r`).
 */
const COUNTER = join(scratch, 'counter.wat');
writeFileSync(
  COUNTER,
  `(module
  (import "forge" "kv_get" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_delete" (func $del (param i32 i32) (result i32)))
  (import "forge" "emit_event" (func $emit (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "visits")
  (data (i32.const 32) "visit.counted")
  (data (i32.const 64) "0")
  (func (export "_start")
    (drop (call $sizes (i32.const 200) (i32.const 204)))
    (if (i32.ge_u (i32.load (i32.const 200)) (i32.const 2))
      (then
        (drop (call $args (i32.const 300) (i32.const 400)))
        (if (i32.eq (i32.load8_u (i32.load (i32.const 304))) (i32.const 114))
          (then (drop (call $del (i32.const 0) (i32.const 6))) (return)))))
    (drop (call $get (i32.const 0) (i32.const 6) (i32.const 64) (i32.const 1) (i32.const 128)))
    (i32.store8 (i32.const 64) (i32.add (i32.load8_u (i32.const 64)) (i32.const 1)))
    (drop (call $put (i32.const 0) (i32.const 6) (i32.const 64) (i32.const 1)))
    (drop (call $emit (i32.const 32) (i32.const 13) (i32.const 64) (i32.const 1)))))`,
);

/** Puts "5" under `visits`, then spins until its deadline stops it. */
const HANG = join(scratch, 'hang.wat');
writeFileSync(
  HANG,
  `(module
  (import "forge" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "visits")
  (data (i32.const 64) "5")
  (func (export "_start")
    (drop (call $put (i32.const 0) (i32.const 6) (i32.const 64) (i32.const 1)))
    (loop $spin (br $spin))))`,
);

const counted = (stdout: string) => stdout.match(/^visit\.counted\s+(\S+)$/m)?.[1];

describe('forgeone run --kv (end to end)', () => {
  it('shares a namespace between runs through --state; a delete empties it', () => {
    const state = join(scratch, 'state');
    const run = (...more: string[]) =>
      forgeone(['run', COUNTER, '--allow', 'forge.*,wasi.*', '--kv', 'app', '--state', state, ...more]);
    const first = run();
    expect(hasStackTrace(first.stderr)).toBe(false);
    expect(first.code).toBe(0);
    expect(counted(first.stdout)).toBe('1');
    expect(first.stdout).toMatch(/^--- kv app: 1 written, 0 deleted; holds 1 key\(s\), 7 byte\(s\) ---$/m);
    expect(counted(run('--isolation', 'inline').stdout)).toBe('2');
    expect(existsSync(join(state, 'kernel.db'))).toBe(true);
    const reset = run('--', 'reset');
    expect(reset.stdout).toMatch(/^--- kv app: 0 written, 1 deleted; holds 0 key\(s\), 0 byte\(s\) ---$/m);
    expect(counted(run().stdout)).toBe('1');
    // Another namespace in the same state starts empty.
    const other = forgeone(['run', COUNTER, '--allow', 'forge.*', '--kv', 'other', '--state', state]);
    expect(counted(other.stdout)).toBe('1');
  });

  it('keeps the write of a worker guest stopped at its deadline right after making it', () => {
    const state = join(scratch, 'hang');
    const hung = forgeone([
      'run',
      HANG,
      '--allow',
      'forge.*',
      '--kv',
      'app',
      '--state',
      state,
      '--timeout',
      '500',
    ]);
    expect(hasStackTrace(hung.stderr)).toBe(false);
    expect(hung.code).not.toBe(0);
    expect(`${hung.stdout}${hung.stderr}`).toMatch(/FORGE_LIMIT_TIMEOUT/);
    expect(hung.stdout).toMatch(/^--- kv app: 1 written, 0 deleted; holds 1 key\(s\), 7 byte\(s\) ---$/m);
    const next = forgeone(['run', COUNTER, '--allow', 'forge.*,wasi.*', '--kv', 'app', '--state', state]);
    expect(counted(next.stdout)).toBe('6');
  });

  it('refuses a bad namespace with one coded line and a non-zero exit', () => {
    const run = forgeone(['run', COUNTER, '--allow', 'forge.*', '--kv', 'Not A Name'], { cwd: scratch });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^FORGE_KV_CONFIG_INVALID: kv namespace "Not A Name" is invalid/),
    ]);
    expect(hasStackTrace(run.stderr)).toBe(false);
  });

  it('lets the policy decide: without forge.kv_* allowed nothing is written', () => {
    const state = join(scratch, 'denied');
    const run = forgeone(['run', COUNTER, '--allow', 'forge.emit_event', '--kv', 'app', '--state', state]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/forge\.kv_put\s+deny\s+-> 1 /);
    expect(run.stdout).toMatch(/^--- kv app: 0 written, 0 deleted; holds 0 key\(s\), 0 byte\(s\) ---$/m);
  });
});
