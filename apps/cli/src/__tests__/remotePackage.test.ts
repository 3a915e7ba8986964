import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './support/inProcess';
import { startDaemon, type TestDaemon } from './support/remoteDaemon';

const GUEST = `(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $now (i32.const 8)))))`;

let dir: string;
let daemon: TestDaemon;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'forgeone-remote-pkg-'));
  const local = async (...argv: string[]) => {
    const run = await cli(argv, dir);
    expect(run.code, run.err.join('\n')).toBe(0);
  };
  await local('keygen', '--alg', 'ed25519', '--out', 'ed');
  await local(
    'root',
    'init',
    '--key',
    'ed.pub',
    '--threshold',
    'ed25519=1',
    '--expires',
    '2099-01-01T00:00:00Z',
    '--sign',
    'ed.key',
    '--out',
    'root.json',
  );
  mkdirSync(join(dir, 'clock'));
  writeFileSync(
    join(dir, 'clock', 'forgepkg.json'),
    JSON.stringify({ name: 'clock', version: '1.0.0', entry: 'main.wat', capabilities: ['forge.clock_now'] }),
  );
  writeFileSync(join(dir, 'clock', 'main.wat'), GUEST);
  writeFileSync(join(dir, 'dev.wat'), GUEST);
  await local('pack', 'clock', '--out', 'clock.forgepkg');
  await local('sign', 'clock.forgepkg', '--key', 'ed.key');
  daemon = await startDaemon(['--root', join(dir, 'root.json')]);
});
afterAll(async () => {
  expect(await daemon.stop()).toBe(0);
});

describe('forgeone --remote run on a daemon booted on a trust root', () => {
  it('installs a .forgepkg, runs it, then runs the installed name@version; refuses a development module', async () => {
    const remote = ['--remote', daemon.url, '--token-file', daemon.tokenFiles.operator];
    const first = await cli([...remote, 'run', 'clock.forgepkg', '--allow', 'forge.clock_now'], dir);
    expect(first.err).toEqual([]);
    expect(first.code).toBe(0);
    expect(first.out[1]).toMatch(/^#1 +forge\.clock_now +allow/);
    const listed = await cli(
      ['--remote', daemon.url, '--token-file', daemon.tokenFiles.viewer, 'ps', '--json'],
      dir,
    );
    expect(JSON.parse(listed.out[0]!).containers).toHaveLength(1);

    // Installed once: the same file again, and its name@version, launch what is installed.
    expect((await cli([...remote, 'run', 'clock.forgepkg', '--allow', 'forge.clock_now'], dir)).code).toBe(0);
    const byName = await cli([...remote, 'run', 'clock@1.0.0', '--allow', 'forge.clock_now', '--json'], dir);
    expect(byName.code).toBe(0);
    expect(JSON.parse(byName.out[0]!)).toMatchObject({ ok: true, state: 'stopped', exitCode: 0 });

    const missing = await cli([...remote, 'run', 'clock@2.0.0'], dir);
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual([expect.stringMatching(/^FORGE_API_PACKAGE_NOT_FOUND: .*HTTP 404/)]);
    const dev = await cli([...remote, 'run', 'dev.wat'], dir);
    expect(dev.err).toEqual([expect.stringMatching(/^FORGE_API_DEVELOPMENT_MODULE_REFUSED: .*HTTP 403/)]);
    const root = await cli([...remote, 'run', 'clock@1.0.0', '--root', 'root.json'], dir);
    expect(root.err).toEqual([
      expect.stringMatching(
        /^FORGE_CLI_UNSUPPORTED_OPTION: --root cannot be honoured with --remote: the daemon verifies/,
      ),
    ]);
  });
});
