import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace } from './support/cli';

const hello = 'examples/hello/hello.wat';
const scratch = mkdtempSync(join(tmpdir(), 'forgeone-e2e-'));
const file = (name: string, content: string | Uint8Array) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};

/** One line on stderr, `CODE: message`, no stack; returns the code. */
function expectOneLineError(
  run: { code: number | null; stdout: string; stderr: string },
  code: string,
  exit = 1,
) {
  expect(run.code).toBe(exit);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${code}: \\S`));
  expect(hasStackTrace(run.stderr + run.stdout)).toBe(false);
}

describe('forgeone run (end to end)', () => {
  it('runs the hello example with both calls allowed', () => {
    const run = forgeone(['run', hello, '--allow', 'forge.log,forge.clock_now']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe('Hello from a ForgeOne guest!');
    const seconds = Number(/^unix time: (\d+)$/.exec(lines[1]!)?.[1]);
    expect(Math.abs(seconds - Date.now() / 1000)).toBeLessThan(600);
    expect(run.stdout).toMatch(/trace: 3 call\(s\), 0 denied/);
    expect(run.stdout).toMatch(/forge\.clock_now\s+allow/);
  });

  it('shows the clock call as denied when only forge.log is allowed, and exits 0', () => {
    const run = forgeone(['run', hello, '--allow', 'forge.log']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('the host clock was refused');
    expect(run.stdout).toMatch(
      /#2\s+forge\.clock_now\s+deny\s+-> 1\s+forge\.clock_now is not in the allow-list \(default deny\)/,
    );
    expect(run.stdout).toMatch(/trace: 3 call\(s\), 1 denied/);
  });

  it('denies everything when nothing is allowed', () => {
    const run = forgeone(['run', hello]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('Hello');
    expect(run.stdout).toMatch(/trace: 3 call\(s\), 3 denied/);
  });

  it('accepts --allow more than once', () => {
    const run = forgeone(['run', hello, '--allow', 'forge.log', '--allow', 'forge.clock_now']);
    expect(run.stdout).toMatch(/0 denied/);
  });

  it('prints a JSON report with --json', () => {
    const run = forgeone(['run', hello, '--allow', 'forge.log', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ ok: true, code: 'OK', status: 'returned', exitCode: 0 });
    expect(report.calls.map((c: { action: string }) => c.action)).toEqual(['allow', 'deny', 'allow']);
    expect(report.calls[1].reasons[0].message).toContain('default deny');
  });

  it('runs a binary module too', async () => {
    const { watToWasm } = await import('@forgeone/execution');
    const wasm = await watToWasm(`(module (import "forge" "log" (func $l (param i32 i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 0) "bin") (func (export "_start") (drop (call $l (i32.const 0) (i32.const 3)))))`);
    const run = forgeone(['run', file('bin.wasm', wasm), '--allow', 'forge.log']);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('bin');
  });

  describe('bad input gets one coded line and a non-zero exit', () => {
    it('missing file', () =>
      expectOneLineError(forgeone(['run', join(scratch, 'nope.wat')]), 'FORGE_WASM_NOT_FOUND'));
    it('a directory', () => {
      mkdirSync(join(scratch, 'dir.wasm'), { recursive: true });
      expectOneLineError(forgeone(['run', join(scratch, 'dir.wasm')]), 'FORGE_WASM_NOT_FOUND');
    });
    it('empty file', () =>
      expectOneLineError(forgeone(['run', file('empty.wasm', '')]), 'FORGE_WASM_INVALID'));
    it('malformed .wasm', () =>
      expectOneLineError(forgeone(['run', file('bad.wasm', 'garbage')]), 'FORGE_WASM_INVALID'));
    it('truncated .wasm', () =>
      expectOneLineError(
        forgeone(['run', file('trunc.wasm', Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1))]),
        'FORGE_WASM_INVALID',
      ));
    it('malformed .wat', () =>
      expectOneLineError(
        forgeone(['run', file('bad.wat', '(module (func (i32.const)))')]),
        'FORGE_WAT_INVALID',
      ));
    it('unknown --allow name', () => {
      const run = forgeone(['run', hello, '--allow', 'forge.teleport']);
      expectOneLineError(run, 'FORGE_POLICY_UNKNOWN_SYSCALL');
      expect(run.stderr).toContain("'forge.teleport'");
    });
    it('malformed --allow entry', () =>
      expectOneLineError(forgeone(['run', hello, '--allow', 'rm -rf']), 'FORGE_POLICY_UNKNOWN_SYSCALL'));
    it('unknown option', () => expectOneLineError(forgeone(['run', hello, '--bogus']), 'FORGE_CLI_USAGE', 2));
    it('unknown command', () => expectOneLineError(forgeone(['launch']), 'FORGE_CLI_USAGE', 2));
    it('bad --mode', () =>
      expectOneLineError(forgeone(['run', hello, '--mode', 'yolo']), 'FORGE_CLI_USAGE', 2));
    it('an import the host does not give, named', () => {
      const run = forgeone([
        'run',
        file('imp.wat', '(module (import "env" "open_socket" (func)) (func (export "_start")))'),
      ]);
      expectOneLineError(run, 'FORGE_WASM_IMPORT_UNKNOWN');
      expect(run.stderr).toContain("'env.open_socket'");
    });
    it('a missing export', () =>
      expectOneLineError(forgeone(['run', hello, '--call', 'main']), 'FORGE_WASM_EXPORT_MISSING'));
    it('a guest trap still prints the trace, then the code', () => {
      const run = forgeone(['run', file('trap.wat', '(module (func (export "_start") unreachable))')]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/trapped \(FORGE_WASM_TRAP\)/);
      expect(run.stderr.trim()).toMatch(/^FORGE_WASM_TRAP: guest trapped: unreachable/);
      expect(hasStackTrace(run.stderr)).toBe(false);
    });
    it('JSON errors are JSON', () => {
      const run = forgeone(['run', join(scratch, 'nope.wat'), '--json']);
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, code: 'FORGE_WASM_NOT_FOUND' });
    });
  });
});
