import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, type CliRun } from '../support/cli';

const scratch = mkdtempSync(join(tmpdir(), 'forgeone-e2e-limits-'));
const file = (name: string, content: string) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};

/** Stopped with one `CODE: message` line on stderr, exit 1, no stack. */
function expectLimit(run: CliRun, code: string, names: RegExp) {
  expect(run.code).toBe(1);
  expect(hasStackTrace(run.stderr + run.stdout)).toBe(false);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${code}: `));
  expect(lines[0]).toMatch(names);
  expect(run.stdout).toContain(`trapped (${code})`);
}

describe('forgeone run: hostile modules against the limits (end to end)', () => {
  it('an endless loop is stopped at --timeout', () => {
    const run = forgeone([
      'run',
      file('spin.wat', '(module (func (export "_start") (loop br 0)))'),
      '--timeout',
      '300',
    ]);
    expectLimit(run, 'FORGE_LIMIT_TIMEOUT', /deadline of 300 ms/);
  });

  it('an endless loop in the start function, or under inline isolation, is stopped at --timeout', () => {
    const atStart = file(
      'start-spin.wat',
      '(module (func $s (loop br 0)) (start $s) (func (export "_start")))',
    );
    const spin = file('spin-inline.wat', '(module (func (export "_start") (loop br 0)))');
    for (const isolation of ['worker', 'inline']) {
      expectLimit(
        forgeone(['run', atStart, '--timeout', '300', '--isolation', isolation]),
        'FORGE_LIMIT_TIMEOUT',
        /start function ran past its deadline of 300 ms/,
      );
    }
    expectLimit(
      forgeone(['run', spin, '--timeout', '300', '--isolation', 'inline']),
      'FORGE_LIMIT_TIMEOUT',
      /deadline of 300 ms/,
    );
  });

  it('replaying a trace of a guest that spins is stopped at the deadline too', () => {
    const spin = file('spin-replay.wat', '(module (func (export "_start") (loop br 0)))');
    const trace = join(scratch, 'spin.jsonl');
    expectLimit(
      forgeone(['run', spin, '--timeout', '300', '--trace', trace]),
      'FORGE_LIMIT_TIMEOUT',
      /deadline/,
    );
    // Replay runs inline: the guest spins on the CLI's own thread, and is stopped there.
    const replay = forgeone(['replay', trace, spin]);
    expect(replay.stdout).toContain('replayed 0 of 0 call(s); trapped with code FORGE_LIMIT_TIMEOUT');
    expect(replay.code).toBe(1);
    expect(hasStackTrace(replay.stderr + replay.stdout)).toBe(false);
    expect(replay.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^FORGE_LIMIT_TIMEOUT: guest stopped: the call ran past its deadline of \d+ ms$/),
    ]);
  });

  it('a memory bomb gets no more than --memory-pages', () => {
    const bomb = file(
      'bomb.wat',
      `(module (memory (export "memory") 1)
        (func (export "grow") (result i32)
          (block $full (loop $more (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $more)))
          (memory.size)))`,
    );
    const run = forgeone(['run', bomb, '--call', 'grow', '--memory-pages', '8']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('=> i32 8');
    const big = forgeone([
      'run',
      file('big.wat', '(module (memory 9) (func (export "_start")))'),
      '--memory-pages',
      '8',
    ]);
    expect(big.code).toBe(1);
    expect(big.stderr.trim()).toMatch(
      /^FORGE_LIMIT_MEMORY: memory 0 starts at 9 pages, over the limit of 8 pages/,
    );
  });

  it('runaway recursion traps with FORGE_LIMIT_STACK', () => {
    expectLimit(
      forgeone(['run', file('deep.wat', '(module (func $f (export "_start") (call $f)))')]),
      'FORGE_LIMIT_STACK',
      /call stack/,
    );
  });

  it('a syscall flood is stopped with FORGE_LIMIT_SYSCALL_RATE', () => {
    const flood = file(
      'flood.wat',
      `(module (import "forge" "clock_now" (func $now (param i32) (result i32))) (memory (export "memory") 1)
        (func (export "_start") (loop (drop (call $now (i32.const 0))) (br 0))))`,
    );
    expectLimit(
      // At a rate well under what a flood reaches in either isolation: the default (2,000,000/s) is
      // above what worker isolation lets a guest make at all on a loaded machine (see config's README).
      forgeone([
        'run',
        flood,
        '--allow',
        'forge.clock_now',
        '--timeout',
        '60000',
        '--syscall-rate',
        '100000',
      ]),
      'FORGE_LIMIT_SYSCALL_RATE',
      /syscall rate limit/,
    );
  });

  it('an oversized table is refused', () => {
    const run = forgeone([
      'run',
      file('table.wat', '(module (table 100000 funcref) (func (export "_start")))'),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^FORGE_LIMIT_TABLE: table 0 starts with 100000 elements/);
  });

  it('--backend wasmer refuses the flags it cannot honour, with a usage line', () => {
    const run = forgeone([
      'run',
      file('w.wat', '(module (func (export "_start")))'),
      '--backend',
      'wasmer',
      '--trace',
      join(scratch, 't.jsonl'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(
      /^FORGE_CLI_UNSUPPORTED_OPTION: --trace cannot be honoured with --backend wasmer: /,
    );
  });
});
