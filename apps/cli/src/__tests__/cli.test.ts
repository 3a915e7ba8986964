import { describe, expect, it } from 'vitest';
import { runCli } from '../cli';
import type { CliIo } from '../cliIo';

function fakeIo(json = false) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    json,
    env: () => undefined,
    cwd: process.cwd(),
  };
  return { io, out, err };
}

describe('runCli', () => {
  it('prints help and exits 0', async () => {
    const { io, out } = fakeIo();
    expect(await runCli(['--help'], io)).toBe(0);
    expect(out.join('\n')).toMatch(/Usage: forgeone/);
    expect(out.join('\n')).toMatch(/run \[options\] <module>/);
  });

  it('prints its version', async () => {
    const { io, out } = fakeIo();
    expect(await runCli(['--version'], io)).toBe(0);
    expect(out).toEqual(['0.1.0']);
  });

  it('turns commander errors into one FORGE_CLI_USAGE line and exit 2', async () => {
    const { io, err, out } = fakeIo();
    expect(await runCli(['frobnicate'], io)).toBe(2);
    expect(err).toEqual([expect.stringMatching(/^FORGE_CLI_USAGE: unknown command 'frobnicate'/)]);
    expect(out).toEqual([]);
  });

  it('reports a missing argument as usage', async () => {
    const { io, err } = fakeIo();
    expect(await runCli(['run'], io)).toBe(2);
    expect(err[0]).toMatch(/^FORGE_CLI_USAGE: missing required argument 'module'/);
  });

  it('prints failures as JSON in --json mode', async () => {
    const { io, out, err } = fakeIo(true);
    expect(await runCli(['run', '/definitely/not/here.wasm', '--json'], io)).toBe(1);
    expect(err).toEqual([]);
    expect(JSON.parse(out[0]!)).toMatchObject({ ok: false, code: 'FORGE_WASM_NOT_FOUND' });
  });
});

describe('command groups', () => {
  it('names the missing subcommand in one usage line', async () => {
    const { io, err, out } = fakeIo();
    expect(await runCli(['policy'], io)).toBe(2);
    expect(err).toEqual([
      expect.stringMatching(/^FORGE_CLI_USAGE: 'policy' needs a subcommand; see forgeone policy --help$/),
    ]);
    expect(out).toEqual([]);
  });
});
