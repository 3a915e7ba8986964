import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from './support/inProcess';

const dir = mkdtempSync(join(tmpdir(), 'forgeone-cli-trace-'));
const env = { FORGEONE_PASSPHRASE: 'correct horse battery staple' };
// Reads the clock twice and prints: four calls, each recorded.
writeFileSync(
  join(dir, 'clock.wat'),
  `(module
    (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hi\\n")
    (func (export "_start")
      (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 512)))
      (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 520)))
      (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`,
);
// The same program with one more call in the middle: a clock read between the two writes.
writeFileSync(
  join(dir, 'clock2.wat'),
  readFileSync(join(dir, 'clock.wat'), 'utf8').replace(
    `(drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (drop (call $write`,
    `(drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 600)))
      (drop (call $write`,
  ),
);
let lines: string[] = [];

beforeAll(async () => {
  const run = await cli(
    ['run', 'clock.wat', '--allow', 'wasi.*', '--isolation', 'worker', '--trace', 't.jsonl'],
    dir,
  );
  expect(run.code).toBe(0);
  lines = readFileSync(join(dir, 't.jsonl'), 'utf8').trimEnd().split('\n');
  for (const [name, alg] of [
    ['kernel', 'ed25519'],
    ['other', 'ml-dsa-44'],
  ])
    expect((await cli(['keygen', '--alg', alg!, '--out', name!], dir, env)).code).toBe(0);
});

describe('forgeone trace verify | sign', () => {
  it('vouches for the trace `run --trace` wrote: every record chained, the end record there', async () => {
    const run = await cli(['trace', 'verify', 't.jsonl', '--json'], dir);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out[0]!)).toMatchObject({ ok: true, records: 6, calls: 4, signature: null });
    const text = await cli(['trace', 'verify', 't.jsonl'], dir);
    expect(text.out).toEqual([
      expect.stringMatching(/^t\.jsonl: intact, 4 call\(s\) in 6 chained record\(s\), .*not signed$/),
    ]);
  });

  it('signs with a kernel key; the signature then verifies against that key and no other', async () => {
    copyFileSync(join(dir, 't.jsonl'), join(dir, 'signed.jsonl'));
    const sign = await cli(['trace', 'sign', 'signed.jsonl', '--key', 'kernel.key'], dir, env);
    expect(sign).toMatchObject({ code: 0, err: [] });
    expect(sign.out[0]).toMatch(/signed by ed25519 key [0-9a-f]{16}… \(verified\)$/);
    expect((await cli(['trace', 'verify', 'signed.jsonl', '--key', 'kernel.pub'], dir)).code).toBe(0);
    const other = await cli(['trace', 'verify', 'signed.jsonl', '--key', 'other.pub'], dir);
    expect(other).toMatchObject({
      code: 1,
      err: [expect.stringMatching(/^FORGE_TRACE_SIGNATURE: .* not by the given key/)],
    });
    const unsigned = await cli(['trace', 'verify', 't.jsonl', '--key', 'kernel.pub'], dir);
    expect(unsigned).toMatchObject({ code: 1, err: [expect.stringMatching(/^FORGE_TRACE_UNSIGNED: /)] });
    const again = await cli(['trace', 'sign', 'signed.jsonl', '--key', 'kernel.key'], dir, env);
    expect(again).toMatchObject({
      code: 1,
      err: [expect.stringMatching(/^FORGE_TRACE_INVALID: .*already signed/)],
    });
    // A signed trace is still a trace: replay reads it.
    expect((await cli(['replay', 'signed.jsonl', 'clock.wat'], dir)).code).toBe(0);
  });

  it('names the first record an attacker changed, and a file cut short, in one line each', async () => {
    const index = lines.findIndex((line) => line.includes('"wasi.fd_write"'));
    const record = JSON.parse(lines[index]!) as Record<string, unknown>;
    record['result'] = 8;
    writeFileSync(
      join(dir, 'edited.jsonl'),
      `${lines.map((l, i) => (i === index ? JSON.stringify(record) : l)).join('\n')}\n`,
    );
    const edited = await cli(['trace', 'verify', 'edited.jsonl'], dir);
    expect(edited).toMatchObject({
      code: 1,
      out: [],
      err: [
        `FORGE_TRACE_TAMPERED: trace line ${index + 1}: the record does not match its hash: it was changed, or a record before it was removed, added or moved`,
      ],
    });
    writeFileSync(join(dir, 'cut.jsonl'), `${lines.slice(0, -1).join('\n')}\n`);
    const cut = await cli(['trace', 'verify', 'cut.jsonl'], dir);
    expect(cut).toMatchObject({
      code: 1,
      err: [expect.stringMatching(/^FORGE_TRACE_INCOMPLETE: .* no end record after line 5/)],
    });
    const missing = await cli(['trace', 'verify', 'missing.jsonl', '--json'], dir);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out[0]!)).toMatchObject({ ok: false, code: 'FORGE_TRACE_NOT_FOUND' });
    expect((await cli(['trace', 'verify'], dir)).code).toBe(2);
  });
});

describe('forgeone trace diff', () => {
  it('aligns two real runs: the one inserted call is the only difference, with its DNA delta', async () => {
    const run = await cli(
      ['run', 'clock2.wat', '--allow', 'wasi.*', '--isolation', 'inline', '--trace', 't2.jsonl'],
      dir,
    );
    expect(run.code).toBe(0);
    const diff = await cli(['trace', 'diff', 't.jsonl', 't2.jsonl'], dir);
    expect(diff.code).toBe(0);
    expect(diff.out[0]).toBe(
      't.jsonl (4 calls) -> t2.jsonl (5 calls): 4 same, 1 inserted, 0 deleted, 0 changed (0 with another decision)',
    );
    expect(diff.out).toContain('+ b#4  wasi.clock_time_get {"clockId":0} allow -> 0');
    expect(diff.out).toContain('dna: wasi.clock_time_get 2 -> 3');
    expect(diff.out[1]).toMatch(/^modules differ: a [0-9a-f]{16}…, b [0-9a-f]{16}…$/);
    const json = await cli(['trace', 'diff', 't.jsonl', 't2.jsonl', '--json'], dir);
    expect(JSON.parse(json.out[0]!)).toMatchObject({
      ok: true,
      same: 4,
      inserted: 1,
      entries: [{ kind: 'inserted', b: { seq: 4 } }],
    });
    const same = await cli(['trace', 'diff', 't.jsonl', 't.jsonl'], dir);
    expect(same.out).toEqual([
      't.jsonl (4 calls) -> t.jsonl (4 calls): 4 same, 0 inserted, 0 deleted, 0 changed (0 with another decision)',
    ]);
  });

  it('refuses a bad trace or flag with one line', async () => {
    writeFileSync(join(dir, 'junk.jsonl'), 'not a trace\n');
    const junk = await cli(['trace', 'diff', 't.jsonl', 'junk.jsonl'], dir);
    expect(junk).toMatchObject({
      code: 1,
      err: [expect.stringMatching(/^FORGE_TRACE_INVALID: trace line 1: not JSON$/)],
    });
    expect((await cli(['trace', 'diff', 't.jsonl', 't.jsonl', '--limit', '-1'], dir)).code).toBe(2);
    expect((await cli(['trace', 'diff', 't.jsonl'], dir)).code).toBe(2);
  });
});

describe('forgeone trace summarize', () => {
  it('summarises a real run within its budget, citing the calls, as text and as JSON', async () => {
    const text = await cli(['trace', 'summarize', 't.jsonl'], dir);
    expect(text.code).toBe(0);
    expect(text.out[0]).toBe('# Run summary');
    expect(text.out).toContain('- It returned with code 0 after 4 calls, 0 refused [#1–#4].');
    expect(text.out).toContain('- wasi.fd_write ×2 (6 bytes) [#3–#4]');
    expect(text.out.at(-1)).toMatch(/^\(\d+ of 2,000 tokens, o200k_base\)$/);
    const json = await cli(['trace', 'summarize', 't.jsonl', '--format', 'json', '--budget', '300'], dir);
    const summary = JSON.parse(json.out[0]!) as {
      budget: number;
      tokens: number;
      outcome: { calls: number };
    };
    expect(summary).toMatchObject({ budget: 300, outcome: { calls: 4 } });
    expect(summary.tokens).toBeLessThanOrEqual(300);
  });

  it('keeps a secret named by --secret-env out of the summary', async () => {
    const secret = 'stdout';
    const run = await cli(['trace', 'summarize', 't.jsonl', '--secret-env', 'APP_TOKEN'], dir, {
      APP_TOKEN: secret,
    });
    expect(run.out.join('\n')).not.toContain(secret);
    expect(run.out).toContain('- file `<[redacted]>` — wasi.fd_write ×2 [#3, #4]');
  });

  it('refuses a budget out of bounds or a bad trace with one line', async () => {
    writeFileSync(join(dir, 'junk.jsonl'), 'not a trace\n');
    expect(await cli(['trace', 'summarize', 't.jsonl', '--budget', '0'], dir)).toMatchObject({
      code: 2,
      err: [expect.stringMatching(/^FORGE_CLI_USAGE: --budget /)],
    });
    expect((await cli(['trace', 'summarize', 't.jsonl', '--budget', '99999999999'], dir)).code).toBe(2);
    expect((await cli(['trace', 'summarize', 't.jsonl', '--format', 'yaml'], dir)).code).toBe(2);
    expect(await cli(['trace', 'summarize', 'junk.jsonl'], dir)).toMatchObject({
      code: 1,
      err: [expect.stringMatching(/^FORGE_TRACE_INVALID: trace line 1: /)],
    });
  });
});
