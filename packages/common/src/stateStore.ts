import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ForgeError } from './forgeError';
import { SqliteStore } from './sqliteStore';

/** The database file of a state directory. */
export const STATE_DB_FILE = 'kernel.db';

/**
 * Opens a kernel's state database: `path` itself when it is an existing file or names a new
 * `.sqlite`/`.db` file, else `<path>/kernel.db`, the directory created (mode 0700) if need be.
 * Fails with FORGE_STORAGE_IO when the directory cannot be created.
 */
export async function openStateStore(path: string): Promise<SqliteStore> {
  // An existing file is the database; an existing directory holds kernel.db; a new path is a file
  // when it ends in .sqlite/.db, else a directory.
  const existing = statSync(path, { throwIfNoEntry: false });
  const isFile = existing ? existing.isFile() : /\.(?:sqlite3?|db)$/i.test(path);
  const dir = isFile ? dirname(path) : path;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ForgeError(
      'FORGE_STORAGE_IO',
      `cannot create the state directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? 'error'}; give --state <dir>`,
    );
  }
  return SqliteStore.open(isFile ? path : join(dir, STATE_DB_FILE));
}
