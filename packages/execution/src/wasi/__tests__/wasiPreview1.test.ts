import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@forgeone/common';
import { createMemoryFileSystem } from '../../index';
import { WASI_IMPORTS, WAT_HELPERS, catModule, denying, runWat } from './fixtures/harness';

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'forgeone-wasi-'));
  fs.mkdirSync(path.join(scratch, 'data'));
  fs.writeFileSync(path.join(scratch, 'data', 'hello.txt'), 'hello from the host');
  fs.writeFileSync(path.join(scratch, 'secret.txt'), 'TOP SECRET');
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

const hostData = () => ({ guestPath: '/data', kind: 'host' as const, hostPath: path.join(scratch, 'data') });

/** Writes two memory ranges to fd 1 and fd 2. */
const STDIO_MODULE = `(module ${WASI_IMPORTS}
  (memory (export "memory") 1)
  (data (i32.const 100) "to stdout")
  (data (i32.const 200) "to stderr")
  ${WAT_HELPERS}
  (func (export "_start")
    (call $write (i32.const 100) (i32.const 9))
    (i32.store (i32.const 0) (i32.const 200))
    (i32.store (i32.const 4) (i32.const 9))
    (call $check (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

describe('WASI preview1 with real modules', () => {
  it('reads a file from an in-memory preopen and writes it to stdout', async () => {
    const run = await runWat(catModule('hello.txt'), {
      preopens: [{ guestPath: '/data', kind: 'memory', files: { 'hello.txt': 'hello from memory' } }],
    });
    expect(run.outcome).toMatchObject({ status: 'returned', exitCode: 0 });
    expect(run.stdout).toBe('hello from memory');
  });

  it('reads a file from a host preopen, through `..` inside it', async () => {
    fs.mkdirSync(path.join(scratch, 'data', 'sub'));
    const run = await runWat(catModule('sub/../hello.txt'), { preopens: [hostData()] });
    expect(run.outcome.status).toBe('returned');
    expect(run.stdout).toBe('hello from the host');
    const open = run.trace.find((event) => event.syscall === 'wasi.path_open');
    expect(open?.args).toMatchObject({ fd: 3, path: '/data/hello.txt', read: true, write: false });
  });

  it.each([
    ['a parent directory', '../secret.txt'],
    ['an absolute path', '/etc/passwd'],
    ['a symlink to the parent', 'up/secret.txt'],
    ['a symlink to an absolute path', 'abs/etc/passwd'],
    ['a symlink chain', 'chain/secret.txt'],
  ])('refuses to escape the preopen through %s (ENOTCAPABLE)', async (_, guestPath) => {
    fs.symlinkSync('..', path.join(scratch, 'data', 'up'));
    fs.symlinkSync('/', path.join(scratch, 'data', 'abs'));
    fs.symlinkSync('up', path.join(scratch, 'data', 'chain'));
    const run = await runWat(catModule(guestPath, 1), { preopens: [hostData()] });
    expect(run.outcome).toEqual({ status: 'exited', exitCode: 76 });
    expect(run.stdout).not.toContain('SECRET');
  });

  it('follows a symlink inside the preopen, and the trace names the real target', async () => {
    const fileSystem = createMemoryFileSystem({ files: { 'docs/real.txt': 'real' } });
    const root = fileSystem.root();
    root.symlink('docs/real.txt', 'alias');
    const run = await runWat(catModule('alias', 1), {
      preopens: [{ guestPath: '/m', kind: 'fs', fileSystem }],
    });
    expect(run.stdout).toBe('real');
    expect(run.trace.find((event) => event.syscall === 'wasi.path_open')?.args.path).toBe('/m/docs/real.txt');
    // Without symlink_follow, opening a symlink is ELOOP (O_NOFOLLOW semantics).
    const nofollow = await runWat(catModule('alias', 0), {
      preopens: [{ guestPath: '/m', kind: 'fs', fileSystem }],
    });
    expect(nofollow.outcome).toEqual({ status: 'exited', exitCode: 32 });
  });

  it('captures stdout and stderr, feeds live sinks, and cuts output at its cap', async () => {
    const live: string[] = [];
    const run = await runWat(STDIO_MODULE, {
      stdout: { sink: (bytes) => live.push(new TextDecoder().decode(bytes)) },
      stderr: { maxBytes: 4 },
    });
    expect(run.stdout).toBe('to stdout');
    expect(live).toEqual(['to stdout']);
    // The cap takes what fits (a short write); the guest sees success for those 4 bytes.
    expect(run.stderr).toBe('to s');
    expect(run.outcome.status).toBe('returned');
  });

  it('passes args and env', async () => {
    const module = `(module ${WASI_IMPORTS}
      (memory (export "memory") 1)
      ${WAT_HELPERS}
      (func (export "_start")
        (call $check (call $args_sizes_get (i32.const 16) (i32.const 20)))
        (call $check (call $args_get (i32.const 1024) (i32.const 2048)))
        (call $write (i32.const 2048) (i32.load (i32.const 20)))
        (call $check (call $environ_sizes_get (i32.const 16) (i32.const 20)))
        (call $check (call $environ_get (i32.const 1024) (i32.const 4096)))
        (call $write (i32.const 4096) (i32.load (i32.const 20)))))`;
    const run = await runWat(module, {
      args: ['prog', 'a b', 'ünï'],
      env: { HOME: '/home/guest', EMPTY: '' },
    });
    expect(run.stdout).toBe('prog\0a b\0ünï\0HOME=/home/guest\0EMPTY=\0');
  });

  it('reads the injected clocks', async () => {
    const clock = new ManualClock(1_700_000_000_123);
    clock.advance(5);
    const module = `(module ${WASI_IMPORTS}
      (memory (export "memory") 1)
      ${WAT_HELPERS}
      (func (export "_start")
        (call $check (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 512)))
        (call $check (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 520)))
        (call $write (i32.const 512) (i32.const 16))
        (call $proc_exit (call $clock_time_get (i32.const 99) (i64.const 1) (i32.const 512)))))`;
    const run = await runWat(module, { clock });
    const view = new DataView(run.stdoutBytes.buffer);
    expect(view.getBigUint64(0, true)).toBe(1_700_000_000_128n * 1_000_000n);
    expect(view.getBigUint64(8, true)).toBe(5_000_000n);
    // An unknown clock id is EINVAL (28).
    expect(run.outcome).toEqual({ status: 'exited', exitCode: 28 });
  });

  it('fills random_get from the injected source, and from the system by default', async () => {
    const module = `(module ${WASI_IMPORTS}
      (memory (export "memory") 1)
      ${WAT_HELPERS}
      (func (export "_start")
        (call $check (call $random_get (i32.const 1024) (i32.const 1024)))
        (call $write (i32.const 1024) (i32.const 1024))))`;
    const fixed = await runWat(module, { random: (target) => target.fill(0xab) });
    expect(fixed.stdoutBytes).toEqual(new Uint8Array(1024).fill(0xab));
    const real = await runWat(module);
    expect(real.stdoutBytes.some((byte) => byte !== 0)).toBe(true);
    expect(real.stdoutBytes).not.toEqual(fixed.stdoutBytes);
  });

  it('ends the guest with proc_exit and its code', async () => {
    const module = `(module ${WASI_IMPORTS}
      (memory (export "memory") 1)
      (func (export "_start") (call $proc_exit (i32.const 42)) (unreachable)))`;
    const run = await runWat(module);
    expect(run.outcome).toEqual({ status: 'exited', exitCode: 42 });
    expect(run.trace.at(-1)).toMatchObject({
      syscall: 'wasi.proc_exit',
      args: { code: 42 },
      outcome: 'exit',
    });
  });

  it('answers a pointer outside guest memory with EFAULT, not a host exception', async () => {
    const module = `(module ${WASI_IMPORTS}
      (memory (export "memory") 1)
      ${WAT_HELPERS}
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 65530))
        (i32.store (i32.const 4) (i32.const 100))
        (call $proc_exit (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
    const run = await runWat(module);
    expect(run.outcome).toEqual({ status: 'exited', exitCode: 21 });
  });

  it('gives a call the gate refuses ENOTCAPABLE, and the trace says why', async () => {
    const run = await runWat(
      catModule('hello.txt'),
      { preopens: [{ guestPath: '/data', kind: 'memory', files: { 'hello.txt': 'x' } }] },
      denying('wasi.path_open'),
    );
    expect(run.outcome).toEqual({ status: 'exited', exitCode: 76 });
    expect(run.trace.find((event) => event.syscall === 'wasi.path_open')).toMatchObject({
      action: 'deny',
      executed: false,
      args: { path: '/data/hello.txt' },
    });
  });

  it('refuses every write to a read-only preopen with EROFS', async () => {
    const module = `(module ${WASI_IMPORTS}
      (memory (export "memory") 1)
      (data (i32.const 64) "new.txt")
      (func (export "_start")
        (call $proc_exit (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 7)
          (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 16)))))`;
    for (const preopen of [
      { ...hostData(), readOnly: true },
      { guestPath: '/data', kind: 'memory' as const, readOnly: true },
    ]) {
      const run = await runWat(module, { preopens: [preopen] });
      expect(run.outcome).toEqual({ status: 'exited', exitCode: 69 });
    }
    expect(fs.existsSync(path.join(scratch, 'data', 'new.txt'))).toBe(false);
  });
});
