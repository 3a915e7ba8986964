import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, repoRoot } from '../support/cli';

// `forgeone run --syscall-rate / --syscall-burst` through the built CLI: a guest over the rate is
// stopped with the rate-limit code, one under it runs to the end, and the default rate does not
// stop an honest WASI program.
const scratch = mkdtempSync(join(tmpdir(), 'forgeone-e2e-rate-'));

/** A guest that calls forge.clock_now `calls` times as fast as it can, then returns. */
function clockCaller(calls: number): string {
  const path = join(scratch, `clock-${calls}.wat`);
  writeFileSync(
    path,
    `(module
      (import "forge" "clock_now" (func $now (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start") (local $i i32)
        (loop $calls
          (drop (call $now (i32.const 64)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $calls (i32.lt_u (local.get $i) (i32.const ${calls}))))))`,
  );
  return path;
}

const run = (module: string, ...flags: string[]) =>
  forgeone(['run', module, '--allow', 'forge.clock_now', '--timeout', '30000', ...flags]);

/** How the run ended and how many calls its report kept, from the text report (no stack trace). */
function ending(output: { stdout: string; stderr: string }): { ended: string; calls: number } {
  expect(hasStackTrace(output.stdout + output.stderr)).toBe(false);
  const calls = /^--- trace: (\d+) call\(s\)/m.exec(output.stdout)?.[1];
  const ended = /^--- (returned.*|exited.*|trapped.*) ---$/m.exec(output.stdout)?.[1];
  return { ended: ended ?? '(no ending)', calls: Number(calls) };
}

describe('forgeone run --syscall-rate and --syscall-burst (end to end)', () => {
  for (const isolation of ['worker', 'inline']) {
    it(`stops a guest over --syscall-rate with FORGE_LIMIT_SYSCALL_RATE (${isolation})`, () => {
      // 50,000 calls take a few ms: far more than 1,000 within the first second.
      const over = run(clockCaller(50_000), '--syscall-rate', '1000', '--isolation', isolation);
      expect(over.code).toBe(1);
      expect(over.stderr).toMatch(/^FORGE_LIMIT_SYSCALL_RATE: guest stopped: syscall rate limit/);
      const report = ending(over);
      expect(report.ended).toBe('trapped (FORGE_LIMIT_SYSCALL_RATE)');
      expect(report.calls).toBeLessThan(50_000);
    });

    it(`lets a guest under --syscall-rate run to the end (${isolation})`, () => {
      const under = run(clockCaller(500), '--syscall-rate', '1000', '--isolation', isolation);
      expect(under.code).toBe(0);
      expect(ending(under)).toEqual({ ended: 'returned, exit code 0', calls: 500 });
    });
  }

  it('--syscall-burst narrows the window: the same calls over a high rate but a small burst are stopped', () => {
    const guest = clockCaller(50_000);
    // 100,000/s in windows of 100 calls (1 ms): a guest calling flat out uses one up far sooner.
    const burst = run(guest, '--syscall-rate', '100000', '--syscall-burst', '100');
    expect(burst.code).toBe(1);
    expect(ending(burst).ended).toBe('trapped (FORGE_LIMIT_SYSCALL_RATE)');
    // The same calls at the same rate with the default burst (a one-second window) are not stopped.
    const wide = run(guest, '--syscall-rate', '100000');
    expect(wide.code).toBe(0);
    expect(ending(wide)).toEqual({ ended: 'returned, exit code 0', calls: 50_000 });
    // --syscall-rate 0 turns the limit off.
    const off = run(guest, '--syscall-rate', '0');
    expect(off.code).toBe(0);
    expect(ending(off)).toEqual({ ended: 'returned, exit code 0', calls: 50_000 });
  });

  it('the default rate does not stop an honest WASI program', () => {
    // The bench's mixed WASI program (clock_time_get, path_open, fd_read, fd_close, fd_write),
    // 100,000 calls instead of 1,000,000.
    const wat = readFileSync(join(repoRoot, 'packages/core/bench/wasiMixedCalls.wat'), 'utf8');
    const shorter = wat.replace('(i32.const 200000)', '(i32.const 20000)');
    expect(shorter).not.toBe(wat);
    const module = join(scratch, 'mixed.wat');
    writeFileSync(module, shorter);
    const data = join(scratch, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'input.txt'), 'x');
    const honest = forgeone(
      ['run', module, '--allow', 'wasi.*', '--dir', `${data}:/`, '--timeout', '120000'],
      { cwd: scratch },
    );
    expect(honest.stderr).toBe('');
    expect(honest.code).toBe(0);
    // The report keeps the last 65,536 calls and says how many it dropped: 100,000 were made.
    expect(honest.stdout).toMatch(/^--- trace: 65536 call\(s\), 0 denied, 34\d{3} dropped/m);
    expect(ending(honest).ended).toBe('returned, exit code 0');
  }, 180_000);
});
