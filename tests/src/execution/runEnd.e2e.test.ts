import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace } from '../support/cli';

// However a run ends, the text report, --json and the --trace file are one record of its calls,
// and a guest that asked to exit non-zero never reports success.

const scratch = mkdtempSync(join(tmpdir(), 'forgeone-e2e-run-end-'));
const file = (name: string, content: string) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};

const fiveDeniedThenSpin = file(
  'five-denied.wat',
  `(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 0) "hi")
  (func (export "_start")
    (drop (call $log (i32.const 0) (i32.const 2))) (drop (call $log (i32.const 0) (i32.const 2)))
    (drop (call $log (i32.const 0) (i32.const 2))) (drop (call $log (i32.const 0) (i32.const 2)))
    (drop (call $log (i32.const 0) (i32.const 2)))
    (loop br 0)))`,
);

const exit7 = file(
  'exit7.wat',
  `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 0) "still running")
  (func (export "_start") (call $exit (i32.const 7)) (drop (call $log (i32.const 0) (i32.const 13)))))`,
);

describe.each(['worker', 'inline'])('forgeone run: how a run ends (--isolation %s)', (isolation) => {
  it('five denied calls then a spin: the report, --json and --trace all list the five calls', () => {
    const trace = join(scratch, `five-${isolation}.jsonl`);
    const text = forgeone([
      'run',
      fiveDeniedThenSpin,
      '--timeout',
      '500',
      '--isolation',
      isolation,
      '--trace',
      trace,
    ]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('--- trace: 5 call(s), 5 denied ---');
    expect(text.stdout).toContain('trapped (FORGE_LIMIT_TIMEOUT)');
    const lines = readFileSync(trace, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; seq?: number; dropped?: number });
    expect(lines.filter((l) => l.kind === 'call').map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(lines.at(-1)).toMatchObject({ kind: 'end', code: 'FORGE_LIMIT_TIMEOUT', dropped: 0 });

    const json = forgeone([
      'run',
      fiveDeniedThenSpin,
      '--timeout',
      '500',
      '--isolation',
      isolation,
      '--json',
    ]);
    const report = JSON.parse(json.stdout) as { calls: { seq: number; action: string }[]; dropped: number };
    expect(report.calls.map((c) => [c.seq, c.action])).toEqual([1, 2, 3, 4, 5].map((s) => [s, 'deny']));
    expect(report.dropped).toBe(0);
  });

  it('a denied proc_exit(7) ends the run as a policy violation, exit code 1, never 0', () => {
    const run = forgeone(['run', exit7, '--allow', 'forge.log', '--isolation', isolation]);
    expect(run.code).toBe(1);
    expect(hasStackTrace(run.stderr + run.stdout)).toBe(false);
    expect(run.stdout).not.toContain('still running');
    expect(run.stdout).toContain('trapped (FORGE_EXIT_DENIED)');
    expect(run.stderr.trim()).toMatch(/^FORGE_EXIT_DENIED: guest stopped: it asked to exit with code 7/);
  });
});
