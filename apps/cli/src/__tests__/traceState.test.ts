import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore, type JsonValue } from '@forgeone/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from './support/inProcess';

const dir = mkdtempSync(join(tmpdir(), 'forgeone-cli-trace-state-'));
const env = { FORGEONE_PASSPHRASE: 'correct horse battery staple' };
// Two clock reads (refused by --allow wasi.fd_write), then two writes.
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
let id = '';

beforeAll(async () => {
  const run = await cli(
    ['run', 'clock.wat', '--allow', 'wasi.fd_write', '--isolation', 'worker', '--state', 'state'],
    dir,
  );
  expect(run.code).toBe(0);
  const line = run.out.find((l) => l.startsWith('--- trace kept in'));
  expect(line).toMatch(
    /container (\S+), 4 call\(s\) acknowledged; forgeone trace query --container \S+ --state /,
  );
  id = /container (\S+),/.exec(line!)![1]!;
  expect((await cli(['keygen', '--alg', 'ed25519', '--out', 'kernel'], dir, env)).code).toBe(0);
});

describe('forgeone run --state keeps the trace; trace list | query | export | summarize read it', () => {
  it('lists the run and queries its calls by syscall, decision and seq range, after the process is gone', async () => {
    const list = await cli(['trace', 'list', '--state', 'state'], dir);
    expect(list.code).toBe(0);
    expect(list.out).toEqual([
      expect.stringMatching(new RegExp(`^${id}  .* 4 call\\(s\\)  acknowledged 4  returned, exit 0$`)),
    ]);

    const denied = await cli(
      ['trace', 'query', '--state', 'state', '--container', id, '--decision', 'deny', '--json'],
      dir,
    );
    expect(denied.code).toBe(0);
    const body = JSON.parse(denied.out[0]!) as { calls: { seq: number; syscall: string }[]; next: unknown };
    expect(body.calls.map((c) => [c.seq, c.syscall])).toEqual([
      [1, 'wasi.clock_time_get'],
      [2, 'wasi.clock_time_get'],
    ]);
    expect(body.next).toBeNull();

    const range = await cli(
      [
        'trace',
        'query',
        '--state',
        'state',
        '--container',
        id,
        '--syscall',
        'wasi.fd_write',
        '--from-seq',
        '4',
        '--to-seq',
        '9',
      ],
      dir,
    );
    expect(range.out).toEqual([
      expect.stringMatching(/^#4 {2}\S+ {2}wasi\.fd_write {2}allow {2}-> 0/),
      '--- 1 call(s) ---',
    ]);
    const paged = await cli(['trace', 'query', '--state', 'state', '--container', id, '--limit', '3'], dir);
    const more = /--cursor (\S+) ---$/.exec(paged.out.at(-1)!)![1]!;
    const rest = await cli(['trace', 'query', '--state', 'state', '--container', id, '--cursor', more], dir);
    expect(rest.out).toEqual([expect.stringMatching(/^#4 /), '--- 1 call(s) ---']);
  });

  it('exports a trace file that verifies (signed with --key) and summarises it from the store', async () => {
    const exported = await cli(
      ['trace', 'export', '--state', 'state', '--container', id, '-o', 't.jsonl', '--key', 'kernel.key'],
      dir,
      env,
    );
    expect(exported).toMatchObject({ code: 0, err: [] });
    expect(exported.out[0]).toMatch(
      /^t\.jsonl: 4 call\(s\) of \S+ exported in 7 record\(s\), signed by ed25519/,
    );
    const verify = await cli(['trace', 'verify', 't.jsonl', '--key', 'kernel.pub', '--json'], dir);
    expect(JSON.parse(verify.out[0]!)).toMatchObject({ ok: true, calls: 4, signature: { verified: true } });
    expect((await cli(['replay', 't.jsonl', 'clock.wat'], dir)).code).toBe(0);

    const summary = await cli(
      ['trace', 'summarize', '--container', id, '--state', 'state', '--format', 'json', '--budget', '800'],
      dir,
    );
    expect(summary.code).toBe(0);
    const text = summary.out.join('\n');
    expect(text).toContain('wasi.clock_time_get');
    expect(text).toContain(id);
    // The stored header says what ran, as a file's does: the grant, who decided, the limits.
    const header = JSON.parse(readFileSync(join(dir, 't.jsonl'), 'utf8').split('\n')[0]!) as {
      run?: Record<string, unknown>;
    };
    expect(header.run).toMatchObject({
      capabilities: ['wasi.fd_write'],
      decider: 'allow-list',
      isolation: 'worker',
      limits: expect.objectContaining({ memoryPages: expect.any(Number) }),
    });
    expect((JSON.parse(text) as { grant: { kind: string }[] }).grant.map((g) => g.kind)).toContain(
      'capabilities',
    );
  });

  it('gives one line with a code and a non-zero exit for bad input, and writes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['trace', 'query', '--state', 'state', '--container', 'container_nope'],
        /^FORGE_TRACE_STORE_NOT_FOUND: /,
      ],
      [
        ['trace', 'query', '--state', 'state', '--container', id, '--from-seq', '5', '--to-seq', '2'],
        /^FORGE_TRACE_QUERY_INVALID: /,
      ],
      [
        ['trace', 'query', '--state', 'state', '--container', id, '--decision', 'maybe'],
        /^FORGE_TRACE_QUERY_INVALID: /,
      ],
      [
        ['trace', 'query', '--state', 'state', '--container', id, '--cursor', '../x'],
        /^FORGE_TRACE_QUERY_INVALID: /,
      ],
      [
        ['trace', 'query', '--state', 'state', '--container', id, '--since', 'yesterday'],
        /^FORGE_CLI_USAGE: /,
      ],
      [['trace', 'list', '--state', 'missing'], /^FORGE_TRACE_STORE_NOT_FOUND: no state at /],
      [
        ['trace', 'export', '--state', 'state', '--container', 'container_nope', '-o', 'no.jsonl'],
        /^FORGE_TRACE_STORE_NOT_FOUND: /,
      ],
      [['trace', 'summarize', 't.jsonl', '--container', id, '--state', 'state'], /^FORGE_CLI_USAGE: /],
    ];
    for (const [argv, line] of cases) {
      const result = await cli(argv, dir);
      expect(result.code, argv.join(' ')).not.toBe(0);
      expect(result.err, argv.join(' ')).toEqual([expect.stringMatching(line)]);
    }
    expect(existsSync(join(dir, 'no.jsonl'))).toBe(false);
    writeFileSync(join(dir, 'garbage.db'), 'this is not a database at all '.repeat(200));
    const garbage = await cli(['trace', 'list', '--state', 'garbage.db'], dir);
    expect(garbage).toMatchObject({ code: 1, err: [expect.stringMatching(/^FORGE_STORAGE_CORRUPT: /)] });
  });

  it('reports a kept trace edited outside ForgeOne as FORGE_TRACE_STORE_CORRUPT, and exports nothing', async () => {
    const run = await cli(['run', 'clock.wat', '--allow', 'wasi.fd_write', '--state', 'edited'], dir);
    const edited = /container (\S+),/.exec(run.out.find((l) => l.startsWith('--- trace kept'))!)![1]!;
    // Its one entry replaced by a copy whose denials say "allow" (a call allowed that never ran).
    const store = await SqliteStore.open(join(dir, 'edited', 'kernel.db'));
    const log = `trace/${edited}`;
    const [entry] = await store.readLog(log);
    await store.trimLog(log, (await store.logHead(log)) + 1);
    await store.append(log, [
      JSON.parse(JSON.stringify(entry!.data).replaceAll('"deny"', '"allow"')) as JsonValue,
    ]);
    await store.close();
    const query = await cli(['trace', 'query', '--state', 'edited', '--container', edited], dir);
    expect(query).toMatchObject({
      code: 1,
      err: [
        expect.stringMatching(
          /^FORGE_TRACE_STORE_CORRUPT: trace log trace\/\S+, entry \d+: event \d+: executed: an allowed call executes; /,
        ),
      ],
    });
    const exported = await cli(
      ['trace', 'export', '--state', 'edited', '--container', edited, '-o', 'bad.jsonl'],
      dir,
    );
    expect(exported.code).toBe(1);
    expect(existsSync(join(dir, 'bad.jsonl'))).toBe(false);
  });
});
