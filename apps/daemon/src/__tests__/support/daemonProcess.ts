import { spawn, spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const main = resolve(dirname(fileURLToPath(import.meta.url)), '../../../dist/main.js');

/** Starts the built daemon and resolves with its address once it is listening. */
export function start(args: string[], options: { uid?: number; gid?: number } = {}) {
  const child = spawn(process.execPath, [main, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const address = new Promise<string>((done, fail) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const match = /listening on (https?:\/\/\S+)/.exec(out);
      if (match) done(match[1]!);
    });
    child.on('exit', (code) => fail(new Error(`daemon exited with ${code}: ${stderr}`)));
  });
  address.catch(() => undefined); // awaited only by tests that expect it to start
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, address, exited, stderr: () => stderr };
}

/** Runs `forgeoned <args>` to completion (a CLI command such as `token create`). */
export function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `forgeoned token create`: the token, read from the last line of its output. */
export function createToken(dataDir: string, role: string, name?: string): string {
  const made = run([
    'token',
    'create',
    '--role',
    role,
    '--data-dir',
    dataDir,
    ...(name ? ['--name', name] : []),
  ]);
  if (made.status !== 0) throw new Error(`token create failed: ${made.stderr}`);
  const lines = made.stdout.trimEnd().split('\n');
  return lines[lines.length - 1]!;
}
