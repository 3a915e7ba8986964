import { Errno, type Filetype } from '../wasiConstants';
import { fail } from '../wasiErrno';

/** What `stat` reports, in WASI's units (nanoseconds, bytes). */
export interface VfsStat {
  readonly filetype: Filetype;
  readonly dev: bigint;
  readonly ino: bigint;
  readonly nlink: bigint;
  readonly size: bigint;
  readonly atim: bigint;
  readonly mtim: bigint;
  readonly ctim: bigint;
}

/** One entry of a directory listing (without `.` and `..`). */
export interface VfsDirEntry {
  readonly name: string;
  readonly ino: bigint;
  readonly filetype: Filetype;
}

/** How to open a regular file. The file system never follows a symlink in the last component. */
export interface VfsOpenFileOptions {
  readonly create: boolean;
  readonly exclusive: boolean;
  readonly truncate: boolean;
  readonly read: boolean;
  readonly write: boolean;
}

/** What `openExisting` opened: a regular file, or a directory. */
export type VfsOpened =
  { readonly kind: 'file'; readonly file: VfsFile } | { readonly kind: 'dir'; readonly dir: VfsDirectory };

/**
 * A handle on one directory. Every method takes a single `name` that the caller has already
 * checked with `assertEntryName` (no `/`, no NUL, not `.` or `..`), so a file system only ever
 * looks one step below a directory it holds: path walking, `..` and symlinks are the resolver's
 * job, and nothing here can reach outside the tree the handle came from. Methods throw
 * `WasiErrnoError` (or a host error that `errnoOf` maps) and never follow a final symlink.
 */
export interface VfsDirectory {
  readonly fileSystem: VirtualFileSystem;
  stat(): VfsStat;
  lstat(name: string): VfsStat;
  /** Opens the child directory `name`; ENOTDIR when it is not one, ELOOP when it is a symlink. */
  openDirectory(name: string): VfsDirectory;
  /** A second, independent handle on this same directory. */
  reopen(): VfsDirectory;
  openFile(name: string, options: VfsOpenFileOptions): VfsFile;
  /**
   * Opens the existing `name` in one step (no create, no truncate), never following a final
   * symlink: a regular file for `read` / `write`, or, when `write` is false, a directory. NOENT
   * when there is nothing by that name; any other errno (a symlink, a directory opened for writing,
   * a device, a read-only file system) leaves the caller to find out what is there the long way.
   */
  openExisting(name: string, read: boolean, write: boolean): VfsOpened;
  readlink(name: string): string;
  mkdir(name: string): void;
  rmdir(name: string): void;
  unlink(name: string): void;
  symlink(target: string, name: string): void;
  link(name: string, targetDir: VfsDirectory, targetName: string): void;
  rename(name: string, targetDir: VfsDirectory, targetName: string): void;
  /** Sets times of `name` (or of this directory when null); undefined leaves a time unchanged. */
  setTimes(name: string | null, atim: bigint | undefined, mtim: bigint | undefined): void;
  entries(limit: number): VfsDirEntry[];
  close(): void;
}

/** A handle on one open regular file. Positions are absolute; the descriptor keeps the offset. */
export interface VfsFile {
  stat(): VfsStat;
  /** Reads up to `target.length` bytes at `position`; 0 at or past the end. */
  read(target: Uint8Array, position: bigint): number;
  /** Writes `source` at `position` (zero-filling any gap); returns bytes written. */
  write(source: Uint8Array, position: bigint): number;
  truncate(size: bigint): void;
  setTimes(atim: bigint | undefined, mtim: bigint | undefined): void;
  sync(): void;
  close(): void;
}

/** A tree a preopen exposes: in memory, or a host directory. */
export interface VirtualFileSystem {
  readonly kind: string;
  readonly readOnly: boolean;
  /** A new handle on the root directory. */
  root(): VfsDirectory;
}

/** Throws unless `name` is one plain path component a file system may look up. */
export function assertEntryName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    fail(Errno.INVAL, `not a single path component: ${JSON.stringify(name)}`);
  }
}
