import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, repoRoot } from '../support/cli';

// Issue 15, "how it will be checked": summaries of a short run with denials and a quarantine, and of
// a long run, through the built CLI, checked against the trace file they summarise: the facts, the
// sequence numbers cited, the budget.
const root = mkdtempSync(join(tmpdir(), 'forgeone-e2e-summary-'));
mkdirSync(join(root, 'data'));
mkdirSync(join(root, 'etc'));
writeFileSync(join(root, 'data', 'report.txt'), 'quarterly numbers');
writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0');
const dirs = ['--dir', `${join(root, 'data')}:/data:ro`, '--dir', `${join(root, 'etc')}:/etc:ro`];
const scanner = join(repoRoot, 'tests/src/trust/scanGuest.wat');
const policy = join(repoRoot, 'examples/policies/report-plugin.yaml');

interface Call {
  kind: string;
  seq: number;
  syscall: string;
  action: string;
  reasons: { policy: string; rule?: string }[];
}
const callsOf = (file: string): Call[] =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Call)
    .filter((record) => record.kind === 'call');

interface Summary {
  tokens: number;
  budget: number;
  outcome: { status: string; code?: string; calls: number; refused: number };
  refusals: { syscall: string; action: string; count: number; seqs: number[]; range: [number, number] }[];
  grant: { kind: string; values: string[] }[];
  resources: { kind: string; name: string; seqs: number[] }[];
  cut: { section: string; omitted: number }[];
}
const summarize = (file: string, ...flags: string[]) => {
  const run = forgeone(['trace', 'summarize', file, ...flags], { cwd: root });
  expect(hasStackTrace(run.stderr), run.stderr).toBe(false);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
};

describe('forgeone trace summarize (end to end)', () => {
  it('states a quarantined run: what ran, the refusals with their rules, each citing the calls it rests on', () => {
    const trace = join(root, 'scan.jsonl');
    const run = forgeone(
      ['run', scanner, '--policy', policy, ...dirs, '--trace', trace, '--state', join(root, 's')],
      {
        cwd: root,
      },
    );
    expect(run.code, run.stderr).toBe(3);
    const calls = callsOf(trace);
    const summary = JSON.parse(summarize(trace, '--format', 'json')) as Summary;
    expect(summary.outcome).toMatchObject({
      status: 'trapped',
      code: 'FORGE_CONTAINER_QUARANTINED',
      calls: calls.length,
      refused: calls.filter((c) => c.action !== 'allow').length,
    });
    expect(summary.tokens).toBeLessThanOrEqual(2000);
    // Every refusal group's count and citations are calls of the trace with that syscall and action.
    expect(summary.refusals.length).toBeGreaterThan(0);
    for (const group of summary.refusals) {
      const matching = calls.filter((c) => c.syscall === group.syscall && c.action === group.action);
      expect(group.count).toBeLessThanOrEqual(matching.length);
      for (const seq of [...group.seqs, ...group.range])
        expect(
          matching.map((c) => c.seq),
          `${group.syscall} ${group.action} #${seq}`,
        ).toContain(seq);
    }
    expect(summary.refusals.some((g) => g.action === 'quarantine')).toBe(true);
    // What ran: decided by the policy file, enforced.
    expect(summary.grant.find((g) => g.kind === 'decider')?.values).toEqual(
      expect.arrayContaining([expect.stringMatching(/^policy/), 'mode enforce']),
    );
    const text = summarize(trace);
    expect(text).toMatch(/^# Run summary\n/);
    expect(text).toContain('trapped with FORGE_CONTAINER_QUARANTINED');
    expect(text).toMatch(
      /## Refused calls\n- \d+× wasi\.path_open (deny|quarantine) — .*base\/scanning.* \[#\d+/,
    );
  });

  it('keeps the one refusal of a 300,000-call run under a small budget, with its exact sequence number', () => {
    const guest = join(root, 'long.wat');
    // 300,000 clock reads, one random_get (not allowed) after the 150,000th, then return.
    writeFileSync(
      guest,
      `(module
        (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
        (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start") (local $i i32)
          (loop $l
            (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 64)))
            (if (i32.eq (local.get $i) (i32.const 149999))
              (then (drop (call $random (i32.const 128) (i32.const 8)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 300000))))))`,
    );
    const trace = join(root, 'long.jsonl');
    const run = forgeone(
      ['run', guest, '--allow', 'wasi.clock_time_get', '--trace', trace, '--isolation', 'inline'],
      { cwd: root },
    );
    expect(run.code, run.stderr).toBe(0);
    for (const format of ['json', 'text'] as const) {
      const out = summarize(trace, '--budget', '320', '--format', format);
      if (format === 'text') {
        expect(out).toContain('1× wasi.random_get deny');
        expect(out).toContain('[#150001]');
        expect(out).toMatch(/\((\d+) of 320 tokens, o200k_base\)\n$/);
        continue;
      }
      const summary = JSON.parse(out) as Summary;
      expect(summary.tokens).toBeLessThanOrEqual(320);
      expect(summary.outcome).toMatchObject({ status: 'returned', calls: 300_001, refused: 1 });
      expect(summary.refusals).toEqual([
        expect.objectContaining({ syscall: 'wasi.random_get', action: 'deny', count: 1, seqs: [150_001] }),
      ]);
      // What did not fit is said, not silently dropped.
      expect(summary.cut.length).toBeGreaterThan(0);
    }
  });
});
