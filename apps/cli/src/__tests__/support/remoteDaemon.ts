import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built daemon of this repository (the CLI's remote tests run against a real one). */
const daemonMain = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../daemon/dist/main.js');

export interface TestDaemon {
  readonly url: string;
  readonly dataDir: string;
  /** A token file (mode 600) of each role. */
  readonly tokenFiles: Readonly<Record<'viewer' | 'operator' | 'admin', string>>;
  stop(): Promise<number | null>;
}

/** `forgeoned token create`: the token, from the last line it prints. */
function createToken(dataDir: string, role: string): string {
  const made = spawnSync(
    process.execPath,
    [daemonMain, 'token', 'create', '--role', role, '--name', role, '--data-dir', dataDir],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  if (made.status !== 0) throw new Error(`token create failed: ${made.stderr}`);
  return made.stdout.trimEnd().split('\n').pop()!;
}

/** Starts forgeoned on a free 127.0.0.1 port with a temporary data directory and a token of each role. */
export async function startDaemon(args: readonly string[] = []): Promise<TestDaemon> {
  if (!existsSync(daemonMain)) throw new Error(`build the daemon first (npx pnpm run build): ${daemonMain}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'forgeone-remote-'));
  const tokenFiles = {} as Record<'viewer' | 'operator' | 'admin', string>;
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    const file = join(dataDir, `${role}.token`);
    writeFileSync(file, `${createToken(dataDir, role)}\n`);
    chmodSync(file, 0o600);
    tokenFiles[role] = file;
  }
  return startOn(dataDir, tokenFiles, args);
}

async function startOn(
  dataDir: string,
  tokenFiles: Record<'viewer' | 'operator' | 'admin', string>,
  args: readonly string[],
): Promise<TestDaemon> {
  const child = spawn(process.execPath, [daemonMain, '--port', '0', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) done(match[1]!);
    });
    child.on('exit', (code) => fail(new Error(`daemon exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    dataDir,
    tokenFiles,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
