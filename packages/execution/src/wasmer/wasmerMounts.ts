import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ForgeError } from '@forgeone/common';
import type { Sandbox } from '@wasmer/sdk/node';

/** A host directory the guest sees at `guestPath`. */
export interface WasmerMount {
  readonly hostDir: string;
  readonly guestPath: string;
  /** Default false. Read-write mounts must lie at or below /workspace. */
  readonly readOnly?: boolean;
}

/** Bounds on what mounts copy in and write back, per run. */
export interface WasmerMountLimits {
  /** Files copied in (and, separately, written back). Default 10,000. */
  readonly maxFiles: number;
  /** Bytes copied in (and, separately, written back). Default 256 MiB. */
  readonly maxBytes: number;
}

export const defaultWasmerMountLimits: WasmerMountLimits = { maxFiles: 10_000, maxBytes: 256 * 1024 * 1024 };

/** What writing a read-write mount back to the host did. */
export interface WasmerWriteBack {
  /** Files created or changed on the host. */
  readonly written: number;
  /** Files deleted on the host (the guest deleted them). */
  readonly deleted: number;
  /** Guest files not written back, each `<guest path>: <why>`. */
  readonly refused: readonly string[];
}

/** One file copied in: its path below the mount and a digest to see whether the guest changed it. */
interface CopiedFile {
  readonly relative: string;
  readonly bytes: Uint8Array;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const NAME = /^[^/\0]{1,255}$/;

function mountError(message: string, cause?: unknown): ForgeError {
  return new ForgeError('FORGE_WASMER_MOUNT', message, cause === undefined ? {} : { cause });
}

export class MountBudget {
  files = 0;
  bytes = 0;
  constructor(
    readonly limits: WasmerMountLimits,
    readonly what: string,
  ) {}
  /** Counts one file; false when it would pass a limit. */
  take(size: number): boolean {
    if (this.files + 1 > this.limits.maxFiles || this.bytes + size > this.limits.maxBytes) return false;
    this.files += 1;
    this.bytes += size;
    return true;
  }
}

/**
 * Reads every regular file below `hostDir`. Symlinks and special files are skipped (never followed),
 * so nothing outside the directory is read.
 */
export async function readHostTree(hostDir: string, budget: MountBudget): Promise<CopiedFile[]> {
  const files: CopiedFile[] = [];
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(join(hostDir, relative))).sort();
    for (const name of names) {
      const rel = relative === '' ? name : `${relative}/${name}`;
      const stat = await lstat(join(hostDir, rel));
      if (stat.isDirectory()) await walk(rel);
      else if (stat.isFile()) {
        if (!budget.take(stat.size)) {
          throw mountError(
            `mount ${hostDir} holds more than ${budget.limits.maxFiles} files or ${budget.limits.maxBytes} bytes; raise mountLimits or mount less`,
          );
        }
        files.push({ relative: rel, bytes: new Uint8Array(await readFile(join(hostDir, rel))) });
      }
    }
  };
  try {
    await walk('');
  } catch (error) {
    if (error instanceof ForgeError) throw error;
    throw mountError(`cannot read mount ${hostDir}: ${(error as Error).message}`, error);
  }
  return files;
}

/** Copies a read-write mount into the sandbox's /workspace tree; returns what it copied. */
export async function copyIntoSandbox(
  sandbox: Sandbox,
  mount: WasmerMount,
  budget: MountBudget,
): Promise<Map<string, string>> {
  const files = await readHostTree(mount.hostDir, budget);
  await sandbox.fs.mkdir(mount.guestPath, { recursive: true });
  const digests = new Map<string, string>();
  for (const file of files) {
    const target = `${mount.guestPath}/${file.relative}`;
    const parent = target.slice(0, target.lastIndexOf('/'));
    if (parent !== mount.guestPath) await sandbox.fs.mkdir(parent, { recursive: true });
    await sandbox.fs.writeFile(target, file.bytes);
    digests.set(file.relative, sha256(file.bytes));
  }
  return digests;
}

/** Opens `path` for writing without following a symlink in its last component. */
async function writeNoFollow(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    await handle.writeFile(bytes);
  } finally {
    await handle.close();
  }
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch {
    return undefined;
  }
}

/**
 * Writes a read-write mount back to the host after the run: files the guest created or changed
 * are written, files it deleted are deleted. Names come from the guest, so each component is
 * checked, and no host symlink is followed (a symlink on the way is refused).
 */
export async function writeBackFromSandbox(
  sandbox: Sandbox,
  mount: WasmerMount,
  copied: ReadonlyMap<string, string>,
  budget: MountBudget,
): Promise<WasmerWriteBack> {
  let written = 0;
  let deleted = 0;
  const refused: string[] = [];
  const seen = new Set<string>();
  const hostDirOk = async (relative: string): Promise<boolean> => {
    const stat = await lstatOrUndefined(join(mount.hostDir, relative));
    if (stat === undefined) {
      await mkdir(join(mount.hostDir, relative));
      return true;
    }
    return stat.isDirectory();
  };
  const walk = async (relative: string): Promise<void> => {
    const guestDir = relative === '' ? mount.guestPath : `${mount.guestPath}/${relative}`;
    for (const entry of await sandbox.fs.readDir(guestDir)) {
      const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
      const guestPath = `${mount.guestPath}/${rel}`;
      if (!NAME.test(entry.name) || entry.name === '.' || entry.name === '..') {
        refused.push(`${guestDir}/${JSON.stringify(entry.name)}: not a plain file name`);
        continue;
      }
      if (entry.kind === 'directory') {
        if (await hostDirOk(rel)) await walk(rel);
        else refused.push(`${guestPath}: the host has a non-directory (or symlink) there`);
        continue;
      }
      seen.add(rel);
      if (!budget.take(entry.size)) {
        refused.push(`${guestPath}: over the write-back limit`);
        continue;
      }
      const bytes = await sandbox.fs.readFile(guestPath);
      if (copied.get(rel) === sha256(bytes)) continue;
      try {
        await writeNoFollow(join(mount.hostDir, rel), bytes);
        written += 1;
      } catch (error) {
        refused.push(`${guestPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    }
  };
  try {
    await walk('');
    for (const rel of copied.keys()) {
      if (seen.has(rel)) continue;
      const path = join(mount.hostDir, rel);
      if ((await lstatOrUndefined(path))?.isFile() === true) {
        await unlink(path);
        deleted += 1;
      }
    }
  } catch (error) {
    throw mountError(
      `cannot write mount ${mount.guestPath} back to ${mount.hostDir}: ${(error as Error).message}`,
      error,
    );
  }
  return { written, deleted, refused };
}
