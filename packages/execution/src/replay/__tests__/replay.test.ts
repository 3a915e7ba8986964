import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@forgeone/common';
import { parseTraceJsonl, traceToJsonl, type RecordedTrace } from '@forgeone/observer';
import { WasmHost, recordedTraceOf, type EnforcerSpec } from '../../index';

const wat = (text: string) => new TextEncoder().encode(text);
const allWasi: EnforcerSpec = {
  mode: 'enforce',
  policy: { kind: 'allow-list', allow: ['wasi.*', 'forge.*'] },
};

/** Reads data.txt from the first preopen, prints it, then prints the realtime clock (8 raw bytes); exits 7. */
const READER = wat(`(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "data.txt")
  (func (export "_start")
    (if (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16))
      (then (call $exit (i32.const 2))))
    (i32.store (i32.const 32) (i32.const 256)) (i32.store (i32.const 36) (i32.const 100))
    (drop (call $read (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 40)))
    (i32.store (i32.const 36) (i32.load (i32.const 40)))
    (drop (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 44)))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 512)))
    (i32.store (i32.const 32) (i32.const 512)) (i32.store (i32.const 36) (i32.const 8))
    (drop (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 44)))
    (call $exit (i32.const 7))))`);

const dir = mkdtempSync(join(tmpdir(), 'forgeone-replay-'));
const hosts: WasmHost[] = [];
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
  rmSync(dir, { recursive: true, force: true });
});
function host(clock: ManualClock) {
  const h = new WasmHost({ development: true, isolation: 'inline', clock });
  hosts.push(h);
  return h;
}

async function record(): Promise<{ trace: RecordedTrace; stdout: string }> {
  writeFileSync(join(dir, 'data.txt'), 'recorded contents\n');
  const h = host(new ManualClock(1_700_000_000_000));
  const module = await h.loadModule(READER);
  const run = await h.run(module, {
    enforcer: allWasi,
    wasi: { preopens: [{ guestPath: '/data', kind: 'host', hostPath: dir }] },
  });
  expect(run.outcome).toEqual({ status: 'exited', exitCode: 7 });
  const trace = recordedTraceOf(run, module, { recordedAt: 1 });
  // Through the file format and back, as `--trace` and `forgeone replay` do.
  return {
    trace: parseTraceJsonl(traceToJsonl(trace)),
    stdout: Buffer.from(run.instance.stdout()).toString('latin1'),
  };
}

describe('record and replay', () => {
  it('replays a WASI program with its file deleted and another clock, with identical output', async () => {
    const { trace, stdout } = await record();
    expect(stdout.startsWith('recorded contents\n')).toBe(true);
    expect(trace.events.map((e) => e.syscall)).toEqual([
      'wasi.path_open',
      'wasi.fd_read',
      'wasi.fd_write',
      'wasi.clock_time_get',
      'wasi.fd_write',
      'wasi.proc_exit',
    ]);
    rmSync(join(dir, 'data.txt'));
    const h = host(new ManualClock(42));
    const replay = await h.replay(await h.loadModule(READER), trace);
    expect(replay.divergence).toBeUndefined();
    expect(replay.replayed).toBe(6);
    expect(replay.outcome).toEqual({ status: 'exited', exitCode: 7 });
    expect(Buffer.from(replay.instance.stdout()).toString('latin1')).toBe(stdout);
  });

  it('reports an argument mismatch at the call where it happens', async () => {
    const { trace } = await record();
    const events = trace.events.map((e) => (e.seq === 2 ? { ...e, params: [4, 32, 1, 41] } : e));
    const h = host(new ManualClock(1));
    const replay = await h.replay(await h.loadModule(READER), { ...trace, events });
    expect(replay.divergence).toMatchObject({ kind: 'args', seq: 2 });
    expect(replay.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_REPLAY_DIVERGED' } });
  });

  it('reports the recorded call and the calls before a divergence', async () => {
    const { trace } = await record();
    const events = trace.events.map((e) => (e.seq === 5 ? { ...e, params: [2, 32, 1, 44] } : e));
    const h = host(new ManualClock(1));
    const replay = await h.replay(await h.loadModule(READER), { ...trace, events });
    expect(replay.divergence).toMatchObject({
      kind: 'args',
      seq: 5,
      expected: 'wasi.fd_write(2, 32, 1, 44)',
      actual: 'wasi.fd_write(1, 32, 1, 44)',
      recorded: { seq: 5, syscall: 'wasi.fd_write', params: [2, 32, 1, 44], result: 0 },
    });
    expect(replay.divergence?.before.map((c) => [c.seq, c.syscall])).toEqual([
      [1, 'wasi.path_open'],
      [2, 'wasi.fd_read'],
      [3, 'wasi.fd_write'],
      [4, 'wasi.clock_time_get'],
    ]);
    expect(replay.divergence?.before[0]).toMatchObject({ args: { path: '/data/data.txt' }, result: 0 });
    // A different ending: the calls before it are all of them.
    const ended = await h.replay(await h.loadModule(READER), {
      ...trace,
      end: { ...trace.end!, exitCode: 8 },
    });
    expect(ended.divergence).toMatchObject({ kind: 'outcome', expected: 'exited 8', actual: 'exited 7' });
    expect(ended.divergence?.before.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reports a trace exhausted and events left over', async () => {
    const { trace } = await record();
    const h = host(new ManualClock(1));
    const module = await h.loadModule(READER);
    const short = await h.replay(module, { ...trace, events: trace.events.slice(0, 3), end: undefined });
    expect(short.divergence).toMatchObject({ kind: 'exhausted', seq: 4 });
    const extra = { ...trace.events.at(-1)!, seq: trace.events.length + 1 };
    const long = await h.replay(module, { ...trace, events: [...trace.events, extra] });
    expect(long.divergence).toMatchObject({ kind: 'leftover', seq: trace.events.length + 1 });
  });

  it('reports another syscall by name, and refuses another module', async () => {
    const { trace } = await record();
    const events = trace.events.map((e) => (e.seq === 4 ? { ...e, syscall: 'wasi.random_get' } : e));
    const h = host(new ManualClock(1));
    const replay = await h.replay(await h.loadModule(READER), { ...trace, events });
    expect(replay.divergence).toMatchObject({ kind: 'name', seq: 4 });
    const other = await h.loadModule(wat('(module (func (export "_start")))'));
    await expect(h.replay(other, trace)).rejects.toMatchObject({ code: 'FORGE_REPLAY_DIVERGED' });
  });

  it('refuses a recorded write past the end of memory as that write, not as a divergence later', async () => {
    const { trace } = await record();
    // Call #2 (fd_read) wrote the file's bytes at 256; moved to the last bytes of the 1-page memory.
    const events = trace.events.map((e) =>
      e.seq === 2
        ? { ...e, writes: [{ ptr: 65_530, bytes: Buffer.from('12345678').toString('base64') }] }
        : e,
    );
    const h = host(new ManualClock(1));
    await expect(h.replay(await h.loadModule(READER), { ...trace, events })).rejects.toMatchObject({
      code: 'FORGE_TRACE_INVALID',
      message: expect.stringMatching(
        /^trace line 3 \(call #2\): writes\.0: \[65530, 65538\) lies past the end of memory \(65536 bytes/,
      ),
    });
  });

  it('refuses, before running, a write no 32-bit memory can hold (it once wrapped to ptr >>> 0)', async () => {
    const { trace } = await record();
    const events = trace.events.map((e) =>
      e.seq === 2 ? { ...e, writes: [{ ptr: 2 ** 32 + 256, bytes: 'AQAAAA==' }] } : e,
    );
    const h = host(new ManualClock(1));
    const stdout: Uint8Array[] = [];
    await expect(
      h.replay(await h.loadModule(READER), { ...trace, events }, { onStdout: (b) => stdout.push(b) }),
    ).rejects.toMatchObject({ code: 'FORGE_TRACE_INVALID', message: expect.stringContaining('call #2') });
    expect(stdout).toEqual([]);
  });
});
