import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './support/inProcess';

const dir = mkdtempSync(join(tmpdir(), 'forgeone-cli-run-'));
writeFileSync(
  join(dir, 'add.wat'),
  '(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))',
);
writeFileSync(join(dir, 'pkg.forgepkg'), 'not really a package');

describe('forgeone run (in process)', () => {
  it('calls an export inline with typed arguments', async () => {
    const run = await cli(
      ['run', 'add.wat', '--isolation', 'inline', '--call', 'add', '--args', '40', '2'],
      dir,
    );
    expect(run.code).toBe(0);
    expect(run.out).toContain('=> i32 42');
  });

  it('refuses bad limit values as usage errors', async () => {
    for (const flags of [
      ['--timeout', '0'],
      ['--memory-pages', 'lots'],
      ['--isolation', 'thread'],
      ['--backend', 'spidermonkey'],
      ['--syscall-rate', '1e6'],
      ['--syscall-rate', '-1'],
      ['--syscall-burst', '1.5'],
      ['--syscall-burst', '10', '--syscall-rate', '0'],
      ['--max-open-fds', '3'],
      ['--fuel', '0x10'],
      ['--max-module-bytes', '7'],
      ['--max-imports', '100001'],
      ['--max-table-elements', 'many'],
    ]) {
      const run = await cli(['run', 'add.wat', ...flags], dir);
      expect(run.code).toBe(2);
      expect(run.err[0]).toMatch(/^FORGE_CLI_USAGE: /);
    }
  });

  it('runs a .forgepkg only with --root', async () => {
    const run = await cli(['run', 'pkg.forgepkg'], dir);
    expect(run.code).toBe(2);
    expect(run.err).toEqual([
      expect.stringMatching(/^FORGE_CLI_USAGE: a \.forgepkg runs only after it verifies: give --root/),
    ]);
  });

  it('lists replay in the help', async () => {
    const help = await cli(['--help'], dir);
    expect(help.out.join('\n')).toMatch(/replay \[options\] <trace\.jsonl> <module>/);
  });

  it('reports a missing trace with FORGE_TRACE_NOT_FOUND', async () => {
    const run = await cli(['replay', 'nope.jsonl', 'add.wat'], dir);
    expect(run.code).toBe(1);
    expect(run.err[0]).toMatch(/^FORGE_TRACE_NOT_FOUND: .*nope\.jsonl: no such trace file$/);
  });
});
