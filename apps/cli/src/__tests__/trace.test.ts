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
