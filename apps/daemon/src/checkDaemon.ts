import { accessSync, constants, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ForgeError, MemoryStore, SqliteStore, createLogger, type StoragePort } from '@forgeone/common';
import { createApiServer } from '@forgeone/interface';
import { composeKernel, exposureWarnings, liveTokenCount, type DaemonOptions } from './daemon';

/** What `forgeoned check` found: the daemon would boot with these. */
export interface DaemonCheck {
  readonly mode: string | undefined;
  readonly root: number | null;
  readonly configVersion: number | null;
  readonly policyVersion: number | null;
  readonly tls: 'none' | 'tls' | 'mutual';
  readonly tokens: number;
  /** What the daemon would warn about at start (an exposed listener). */
  readonly warnings: readonly string[];
}

type Backup = { backup(dest: string): Promise<unknown>; close(): void };
const Database = createRequire(import.meta.url)('better-sqlite3') as new (
  path: string,
  options: { readonly: boolean; fileMustExist: boolean },
) => Backup;

/**
 * Everything the daemon does before it listens — the config file, the policy directory and its
 * cases, the boot (trust anchor, self-test), the API server's options, the TLS files — without
 * serving and without changing the data directory: the boot runs on a copy of its store (an
 * online SQLite backup, so a running daemon is not disturbed), which is then deleted. Resolves
 * when the daemon would boot; throws the code it would stop with.
 */
export async function checkDaemon(options: DaemonOptions): Promise<DaemonCheck> {
  const scratch = mkdtempSync(join(tmpdir(), 'forgeoned-check-'));
  const logger = createLogger({ name: 'forgeoned', level: 'silent' });
  try {
    const store = await scratchStore(options.dataDir, scratch);
    const { kernel, context } = await composeKernel(options, store, logger);
    try {
      const app = createApiServer({ kernel, ...(options.tls ? { tls: options.tls } : {}) });
      await app.ready();
      await app.close();
      const tls = options.tls === undefined ? 'none' : options.tls.clientCa === undefined ? 'tls' : 'mutual';
      const tokens = await liveTokenCount(kernel);
      return {
        mode: kernel.boot?.mode,
        root: kernel.boot?.root?.version ?? null,
        configVersion: context?.version ?? null,
        policyVersion: kernel.policies?.version ?? null,
        tls,
        tokens,
        warnings: exposureWarnings(options.host, tls !== 'none', tokens),
      };
    } finally {
      await kernel.shutdown('check');
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A copy of the data directory's store in `scratch` (or memory without one), after checking the directory is usable. */
async function scratchStore(dataDir: string | undefined, scratch: string): Promise<StoragePort> {
  if (dataDir === undefined) return new MemoryStore();
  const dir = resolve(dataDir);
  usableDirectory(dir);
  const db = join(dir, 'forgeone.db');
  const copy = join(scratch, 'forgeone.db');
  if (existsSync(db)) {
    try {
      const source = new Database(db, { readonly: true, fileMustExist: true });
      try {
        await source.backup(copy);
      } finally {
        source.close();
      }
    } catch (error) {
      throw new ForgeError('FORGE_STORAGE_IO', `cannot read the store ${db}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return SqliteStore.open(copy);
}

/** The data directory exists as a writable directory, or could be made (its nearest existing parent is writable). */
function usableDirectory(dir: string): void {
  let at = dir;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  const fail = (why: string) => {
    throw new ForgeError('FORGE_STORAGE_IO', `data directory ${dir}: ${why}`);
  };
  if (!statSync(at).isDirectory()) fail(`${at} is not a directory`);
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
  } catch {
    fail(at === dir ? 'not writable by this user' : `cannot be made: ${at} is not writable by this user`);
  }
}
