import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WasmerBackend, runWasmerCommand, watToWasm } from '../../index';
import { runWat } from '../../wasi/__tests__/fixtures/harness';

const WASI = (name: string, params: string, result = '(result i32)') =>
  `(import "wasi_snapshot_preview1" "${name}" (func $${name} (param ${params}) ${result}))`;

/** Writes `hello from wasi` to stdout, `oops` to stderr, then exits with 3. */
const HELLO = `(module
  ${WASI('fd_write', 'i32 i32 i32 i32')}
  ${WASI('proc_exit', 'i32', '')}
  (memory (export "memory") 1)
  (data (i32.const 64) "hello from wasi\\n")
  (data (i32.const 96) "oops\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 0) (i32.const 96)) (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 3))))`;

/** Prints argv (NUL-separated), the environment (NUL-separated), then stdin. */
const ECHO = `(module
  ${WASI('fd_write', 'i32 i32 i32 i32')}
  ${WASI('fd_read', 'i32 i32 i32 i32')}
  ${WASI('args_sizes_get', 'i32 i32')}
  ${WASI('args_get', 'i32 i32')}
  ${WASI('environ_sizes_get', 'i32 i32')}
  ${WASI('environ_get', 'i32 i32')}
  (memory (export "memory") 1)
  (func $print (param $p i32) (param $n i32)
    (i32.store (i32.const 0) (local.get $p)) (i32.store (i32.const 4) (local.get $n))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $args_get (i32.const 1024) (i32.const 4096)))
    (call $print (i32.const 4096) (i32.load (i32.const 20)))
    (drop (call $environ_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $environ_get (i32.const 1024) (i32.const 8192)))
    (call $print (i32.const 8192) (i32.load (i32.const 20)))
    (i32.store (i32.const 24) (i32.const 12288)) (i32.store (i32.const 28) (i32.const 1024))
    (drop (call $fd_read (i32.const 0) (i32.const 24) (i32.const 1) (i32.const 32)))
    (call $print (i32.const 12288) (i32.load (i32.const 32)))))`;

/** Copies /data/in.txt to /workspace/out/copy.txt, writes /workspace/out/evil.txt and tries /data/new.txt. */
const FILES = `(module
  ${WASI('fd_write', 'i32 i32 i32 i32')}
  ${WASI('fd_read', 'i32 i32 i32 i32')}
  ${WASI('path_open', 'i32 i32 i32 i32 i32 i64 i64 i32 i32')}
  (memory (export "memory") 1)
  (data (i32.const 200) "data/in.txt")
  (data (i32.const 220) "workspace/out/copy.txt")
  (data (i32.const 250) "workspace/out/evil.txt")
  (data (i32.const 280) "data/new.txt")
  (data (i32.const 300) "written by the guest")
  (func $create (param $p i32) (param $n i32) (result i32)
    (if (result i32) (i32.eqz (call $path_open (i32.const 3) (i32.const 0) (local.get $p) (local.get $n)
          (i32.const 9) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 40)))
      (then (i32.load (i32.const 40))) (else (i32.const -1))))
  (func $write (param $fd i32) (param $p i32) (param $n i32)
    (i32.store (i32.const 0) (local.get $p)) (i32.store (i32.const 4) (local.get $n))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start") (local $fd i32)
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 200) (i32.const 11)
      (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 40)))
    (i32.store (i32.const 8) (i32.const 1024)) (i32.store (i32.const 12) (i32.const 1024))
    (drop (call $fd_read (i32.load (i32.const 40)) (i32.const 8) (i32.const 1) (i32.const 16)))
    (local.set $fd (call $create (i32.const 220) (i32.const 22)))
    (call $write (local.get $fd) (i32.const 1024) (i32.load (i32.const 16)))
    (local.set $fd (call $create (i32.const 250) (i32.const 22)))
    (call $write (local.get $fd) (i32.const 300) (i32.const 20))
    (local.set $fd (call $create (i32.const 280) (i32.const 12)))
    (if (i32.ge_s (local.get $fd) (i32.const 0)) (then (call $write (local.get $fd) (i32.const 300) (i32.const 20))))))`;

const SPIN = `(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))`;
const TRAP = `(module (memory (export "memory") 1) (func (export "_start") unreachable))`;

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

let backend: WasmerBackend;
let dir: string;
beforeAll(() => {
  backend = new WasmerBackend();
  dir = mkdtempSync(join(tmpdir(), 'forgeone-wasmer-'));
});
afterAll(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('wasmer backend', () => {
  it('runs a WASI command and reports it in the same shape as the V8 backend', async () => {
    const module = await watToWasm(HELLO);
    const result = await backend.run({ module, timeoutMs: 20_000 });
    expect(result.backend).toBe('wasmer');
    expect(result.outcome).toEqual({ status: 'exited', exitCode: 3 });
    expect(text(result.stdout)).toBe('hello from wasi\n');
    expect(text(result.stderr)).toBe('oops\n');
    const v8 = await runWat(HELLO, { args: ['main'] }); // the same program on the V8 backend, through the gate
    expect(v8.outcome).toEqual(result.outcome);
    expect(v8.stdoutBytes).toEqual(result.stdout);
    expect(v8.stderr).toBe(text(result.stderr));
  });

  it('runs one-off commands on a client of their own, started and closed for the run', async () => {
    const result = await runWasmerCommand({ module: await watToWasm(HELLO) });
    expect(result.outcome).toEqual({ status: 'exited', exitCode: 3 });
    expect(text(result.stdout)).toBe('hello from wasi\n');
  });

  it('passes args, env and stdin', async () => {
    const result = await backend.run({
      module: await watToWasm(ECHO),
      args: ['one', 'two words'],
      env: { GREETING: 'hi there' },
      stdin: 'from stdin',
    });
    const out = text(result.stdout);
    expect(out).toContain('main\0one\0two words\0');
    expect(out).toContain('GREETING=hi there\0');
    expect(out.endsWith('from stdin')).toBe(true);
  });

  it('mounts host directories: read-only ones stay untouched, read-write ones are written back', async () => {
    const input = join(dir, 'in');
    const output = join(dir, 'out');
    mkdirSync(input);
    mkdirSync(output);
    writeFileSync(join(input, 'in.txt'), 'host data');
    writeFileSync(join(output, 'stale.txt'), 'will survive');
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'must not change');
    symlinkSync(outside, join(output, 'evil.txt')); // the guest writes a file of that name
    const result = await backend.run({
      module: await watToWasm(FILES),
      mounts: [
        { hostDir: input, guestPath: '/data', readOnly: true },
        { hostDir: output, guestPath: '/workspace/out' },
      ],
    });
    expect(result.outcome).toEqual({ status: 'exited', exitCode: 0 });
    expect(readFileSync(join(output, 'copy.txt'), 'utf8')).toBe('host data');
    expect(readFileSync(join(output, 'stale.txt'), 'utf8')).toBe('will survive');
    expect(readFileSync(outside, 'utf8')).toBe('must not change');
    expect(existsSync(join(input, 'new.txt'))).toBe(false);
    expect(result.writeBack['/workspace/out']).toMatchObject({ written: 1, deleted: 0 });
    expect(result.writeBack['/workspace/out']?.refused).toEqual([
      expect.stringContaining('/workspace/out/evil.txt'),
    ]);
  });

  it('stops a guest that spins past its timeout, without blocking the host', async () => {
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 20);
    try {
      const result = await backend.run({ module: await watToWasm(SPIN), timeoutMs: 500 });
      expect(result.outcome).toMatchObject({
        status: 'trapped',
        exitCode: null,
        error: { code: 'FORGE_LIMIT_TIMEOUT', details: { timeoutMs: 500 } },
      });
    } finally {
      clearInterval(ticker);
    }
    expect(ticks).toBeGreaterThan(0); // the event loop ran while the guest spun
    const after = await backend.run({ module: await watToWasm(HELLO) });
    expect(after.outcome).toEqual({ status: 'exited', exitCode: 3 });
  });

  it('reports a trap as a trapped outcome', async () => {
    const result = await backend.run({ module: await watToWasm(TRAP) });
    expect(result.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_WASM_TRAP' } });
    expect(result.outcome.status === 'trapped' && result.outcome.error.message).toContain('unreachable');
  });

  it('refuses bad options before starting anything', async () => {
    const module = await watToWasm(HELLO);
    const cases: [Parameters<WasmerBackend['run']>[0], string][] = [
      [{ module, mounts: [{ hostDir: dir, guestPath: '/data' }] }, 'FORGE_WASMER_CONFIG_INVALID'], // rw outside /workspace
      [
        { module, mounts: [{ hostDir: dir, guestPath: '/workspace/x', readOnly: true }] },
        'FORGE_WASMER_CONFIG_INVALID',
      ],
      [
        { module, mounts: [{ hostDir: dir, guestPath: '/data/../etc', readOnly: true }] },
        'FORGE_WASMER_CONFIG_INVALID',
      ],
      [
        { module, mounts: [{ hostDir: join(dir, 'missing'), guestPath: '/workspace' }] },
        'FORGE_WASMER_CONFIG_INVALID',
      ],
      [
        {
          module,
          mounts: [
            { hostDir: dir, guestPath: '/workspace' },
            { hostDir: dir, guestPath: '/workspace/a' },
          ],
        },
        'FORGE_WASMER_CONFIG_INVALID',
      ],
      [{ module, env: { 'A=B': 'x' } }, 'FORGE_WASMER_CONFIG_INVALID'],
      [{ module, args: ['nul\0'] }, 'FORGE_WASMER_CONFIG_INVALID'],
      [{ module, timeoutMs: 0 }, 'FORGE_WASMER_CONFIG_INVALID'],
      [{ module: new Uint8Array([1, 2, 3]) }, 'FORGE_WASM_INVALID'],
      [{ module: await watToWasm('(module (func (export "main")))') }, 'FORGE_WASM_EXPORT_MISSING'],
    ];
    for (const [options, code] of cases) {
      await expect(
        backend.run(options),
        JSON.stringify(options.mounts ?? options.env ?? ''),
      ).rejects.toMatchObject({
        code,
      });
    }
  });
});
