import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@forgeone/common';
import { parseTraceJsonl, traceToJsonl, type RecordedTrace } from '@forgeone/observer';
import { WasmHost, recordedTraceOf, type EnforcerSpec, type ReplayPoint } from '../../index';
import { wat } from '../../__tests__/support/testWat';

const allWasi: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['wasi.*'] } };

/**
 * Finds its preopen (fd 3), opens data.txt in it, reads 5 bytes, then 100 more, prints them, reads
 * the clock into 512 and exits 3. `$steps` (exported as `steps`) counts the calls made so far.
 */
const READER = wat(`(module
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $dirname (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (global $steps (export "steps") (mut i32) (i32.const 0))
  (global $big (export "big") i64 (i64.const -5))
  (data (i32.const 0) "data.txt")
  (func $step (global.set $steps (i32.add (global.get $steps) (i32.const 1))))
  (func (export "_start")
    (drop (call $prestat (i32.const 3) (i32.const 600))) (call $step)
    (drop (call $dirname (i32.const 3) (i32.const 640) (i32.load (i32.const 604)))) (call $step)
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16))) (call $step)
    (i32.store (i32.const 32) (i32.const 256)) (i32.store (i32.const 36) (i32.const 5))
    (drop (call $read (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 40))) (call $step)
    (i32.store (i32.const 32) (i32.const 261)) (i32.store (i32.const 36) (i32.const 100))
    (drop (call $read (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 44))) (call $step)
    (i32.store (i32.const 32) (i32.const 256))
    (i32.store (i32.const 36) (i32.add (i32.load (i32.const 40)) (i32.load (i32.const 44))))
    (drop (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 48))) (call $step)
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 512))) (call $step)
    (call $exit (i32.const 3))))`);

const dir = mkdtempSync(join(tmpdir(), 'forgeone-forensics-'));
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

async function record(): Promise<RecordedTrace> {
  writeFileSync(join(dir, 'data.txt'), 'hello forensic world\n');
  const h = host(new ManualClock(1_700_000_000_000));
  const module = await h.loadModule(READER);
  const run = await h.run(module, {
    enforcer: allWasi,
    wasi: { preopens: [{ guestPath: '/data', kind: 'host', hostPath: dir }] },
  });
  expect(run.outcome).toEqual({ status: 'exited', exitCode: 3 });
  return parseTraceJsonl(traceToJsonl(recordedTraceOf(run, module, { recordedAt: 1 })));
}

async function forensics(trace: RecordedTrace) {
  const h = host(new ManualClock(99));
  return h.forensics(await h.loadModule(READER), trace);
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

function stopped(point: Awaited<ReturnType<Awaited<ReturnType<typeof forensics>>['step']>>): ReplayPoint {
  if (point.kind !== 'stopped') throw new Error(`diverged: ${JSON.stringify(point.divergence)}`);
  return point;
}

describe('ForensicContext', () => {
  it('stops right after a seq: memory, globals and the fd table as they were then', async () => {
    const trace = await record();
    rmSync(join(dir, 'data.txt'));
    const context = await forensics(trace);
    const point = stopped(await context.step(4));
    expect(point.reached).toMatchObject({ seq: 4, syscall: 'wasi.fd_read', result: 0 });
    expect(context.position).toBe(4);
    // The first read's 5 bytes are in memory; the second read has not happened.
    expect(text(point.readMemory(256, 8).bytes)).toBe('hello\0\0\0');
    expect(point.readMemory(256, 5)).toMatchObject({ offset: 256, length: 5 });
    // Stopped inside call #4: the guest's own count after it has not run yet.
    // (The same with the snapshot instrumentation on: the reserved names give indexes, not names.)
    expect(point.globals()).toEqual([
      { index: 0, names: ['steps'], value: 3 },
      { index: 1, names: ['big'], value: -5n },
    ]);
    expect(point.fdTable()).toEqual([
      expect.objectContaining({ fd: 0, kind: 'stdio' }),
      expect.objectContaining({ fd: 1, kind: 'stdio' }),
      expect.objectContaining({ fd: 2, kind: 'stdio' }),
      expect.objectContaining({ fd: 3, kind: 'preopen', path: '/data', openedAt: 1 }),
      {
        fd: 4,
        kind: 'file',
        path: '/data/data.txt',
        openedAt: 3,
        rightsBase: '0x2',
        rightsInheriting: '0x0',
        fdflags: 0,
        offset: '5',
      },
    ]);
    expect(point.stdout).toEqual(new Uint8Array(0));
  });

  it('continues to the next call of a syscall by name, and can go back', async () => {
    const trace = await record();
    const context = await forensics(trace);
    const first = stopped(await context.step('fd_read'));
    expect(first.reached.seq).toBe(4);
    const second = stopped(await context.step('wasi.fd_read'));
    expect(second.reached.seq).toBe(5);
    expect(text(second.readMemory(256, 21).bytes)).toBe('hello forensic world\n');
    expect(second.fdTable().find((f) => f.fd === 4)?.offset).toBe('21');
    const clock = stopped(await context.step('clock_time_get'));
    expect(clock.reached.seq).toBe(7);
    // The recorded clock, not this host's (99 ms).
    const recorded = BigInt(1_700_000_000_000) * 1_000_000n;
    expect(Buffer.from(clock.readMemory(512, 8).bytes).readBigUInt64LE(0)).toBe(recorded);
    expect(text(clock.stdout)).toBe('hello forensic world\n');
    expect(clock.globals()[0]?.value).toBe(6);
    const back = stopped(await context.step(1));
    expect(back.globals()[0]?.value).toBe(0);
    expect(back.fdTable().map((f) => f.fd)).toEqual([0, 1, 2, 3]);
    const exit = stopped(await context.step('proc_exit'));
    expect(exit.reached).toMatchObject({ seq: 8, syscall: 'wasi.proc_exit' });
  });

  it('refuses a seq past the end, a syscall never called, and bad memory regions', async () => {
    const context = await forensics(await record());
    expect(() => context.resolve(9)).toThrow(
      expect.objectContaining({
        code: 'FORGE_REPLAY_RANGE',
        message: '--until 9: the trace has calls #1 to #8',
      }),
    );
    expect(() => context.resolve(0)).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_INPUT' }));
    expect(() => context.resolve('random_get')).toThrow(
      expect.objectContaining({
        code: 'FORGE_REPLAY_RANGE',
        message: '--until random_get: the trace has no call of random_get',
      }),
    );
    const point = stopped(await context.step('proc_exit'));
    expect(() => context.resolve('fd_read')).toThrow(
      expect.objectContaining({
        code: 'FORGE_REPLAY_RANGE',
        message: expect.stringContaining('after call #8'),
      }),
    );
    expect(point.memorySize).toBe(65_536);
    expect(() => point.readMemory(65_530, 7)).toThrow(
      expect.objectContaining({ code: 'FORGE_REPLAY_MEMORY' }),
    );
    expect(() => point.readMemory(0, 1024 * 1024 + 1)).toThrow(
      expect.objectContaining({ code: 'FORGE_REPLAY_MEMORY', message: expect.stringContaining('1048576') }),
    );
    expect(point.readMemory(65_535, 1).length).toBe(1);
  });

  it('refuses a stop inside the start function, where the guest cannot be read yet', async () => {
    const source = wat(`(module
      (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
      (memory (export "memory") 1)
      (global (export "g") (mut i32) (i32.const 1))
      (func $init (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 64))))
      (start $init)
      (func (export "_start") (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 128)))))`);
    const h = host(new ManualClock(5));
    const module = await h.loadModule(source);
    const run = await h.run(module, { enforcer: allWasi });
    const context = h.forensics(module, recordedTraceOf(run, module, { recordedAt: 1 }));
    await expect(context.step(1)).rejects.toMatchObject({
      code: 'FORGE_INSTANCE_STATE',
      message: expect.stringContaining("call #1 is made by the module's start function"),
    });
    expect(context.position).toBe(0);
    const after = stopped(await context.step(2));
    expect(after.memorySize).toBe(65_536);
    expect(after.globals()).toEqual([{ index: 0, names: ['g'], value: 1 }]);
  });

  it('reports a divergence before the stop point with the calls before it', async () => {
    const trace = await record();
    const events = trace.events.map((e) => (e.seq === 6 ? { ...e, params: [2, 32, 1, 48] } : e));
    const context = await forensics({ ...trace, events });
    const result = await context.step(7);
    expect(result.kind).toBe('diverged');
    if (result.kind !== 'diverged') return;
    expect(result.divergence).toMatchObject({
      kind: 'args',
      seq: 6,
      recorded: { seq: 6, syscall: 'wasi.fd_write', params: [2, 32, 1, 48], result: 0 },
    });
    expect(result.divergence.before.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(context.position).toBe(0);
  });
});
