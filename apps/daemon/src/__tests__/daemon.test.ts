import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');

/** Starts the built daemon and resolves with its address once it is listening. */
function start(args: string[]) {
  const child = spawn(process.execPath, [main, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const address = new Promise<string>((done, fail) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) done(match[1]!);
    });
    child.on('exit', (code) => fail(new Error(`daemon exited with ${code}: ${stderr}`)));
  });
  address.catch(() => undefined); // awaited only by tests that expect it to start
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, address, exited, stderr: () => stderr };
}

describe('forgeoned', () => {
  it('serves health with a durable SQLite store and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forgeoned-'));
    const daemon = start(['--data-dir', dataDir]);
    const address = await daemon.address;
    const health = await (await fetch(`${address}/v1/health`)).json();
    expect(health).toMatchObject({ ok: true, store: 'sqlite' });
    const selftest = await fetch(`${address}/v1/selftest`);
    expect(selftest.status).toBe(200);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  });

  it('refuses a bad flag with one coded line', async () => {
    const daemon = start(['--port', 'eighty']);
    expect(await daemon.exited).toBe(2);
    expect(daemon.stderr().trim()).toMatch(/^FORGE_CLI_USAGE: .*port/);
  });
});
