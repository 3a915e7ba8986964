import fs from 'node:fs';
import { ForgeError } from '@forgeone/common';
import { Errno, Filetype } from '../wasiConstants';
import { fail } from '../wasiErrno';
import {
  assertEntryName,
  type VfsDirEntry,
  type VfsDirectory,
  type VfsFile,
  type VfsOpened,
  type VfsOpenFileOptions,
  type VfsStat,
  type VirtualFileSystem,
} from './virtualFileSystem';

/** Options of a host-directory file system. */
export interface HostFileSystemOptions {
  readonly readOnly?: boolean;
  /**
   * How lookups are anchored to a held directory: `procfd` (Linux: `/proc/self/fd/<fd>/<name>`,
   * race-free like openat) or `path` (portable: the directory's path, re-checked against the held
   * descriptor before every use). Default: `procfd` where available.
   */
  readonly anchor?: 'procfd' | 'path';
}

const C = fs.constants;
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const MAX_TIME_OVERRIDES = 4096;

/** Linux exposes every open descriptor as a directory-relative lookup root under /proc/self/fd. */
const procFdAvailable = (() => {
  try {
    return process.platform === 'linux' && fs.statSync('/proc/self/fd').isDirectory();
  } catch {
    return false;
  }
})();

function filetypeOf(stats: fs.BigIntStats): Filetype {
  if (stats.isFile()) return Filetype.REGULAR_FILE;
  if (stats.isDirectory()) return Filetype.DIRECTORY;
  if (stats.isSymbolicLink()) return Filetype.SYMBOLIC_LINK;
  if (stats.isCharacterDevice()) return Filetype.CHARACTER_DEVICE;
  if (stats.isBlockDevice()) return Filetype.BLOCK_DEVICE;
  if (stats.isSocket()) return Filetype.SOCKET_STREAM;
  return Filetype.UNKNOWN;
}

const nsToSeconds = (ns: bigint): number => Number(ns) / 1e9;

/**
 * A file system over one host directory. Every lookup is one component below a directory
 * descriptor this object opened itself (on Linux through `/proc/self/fd/<fd>/<name>`, which the
 * kernel resolves like `openat`), symlinks are never followed by the kernel (O_NOFOLLOW, lstat,
 * lutimes), and (with the portable path anchor) every descriptor opened is re-checked to really lie
 * under the root, so a path swapped by another process between check and use cannot lead outside.
 */
class HostFileSystem implements VirtualFileSystem {
  readonly kind = 'host';
  readonly readOnly: boolean;
  readonly rootReal: string;
  readonly procFd: boolean;
  /** Exact nanosecond times the guest set, keyed by dev:ino; the host keeps ~240 ns precision. */
  readonly #timeOverrides = new Map<string, { atim?: [bigint, bigint]; mtim?: [bigint, bigint] }>();

  constructor(hostPath: string, options: HostFileSystemOptions) {
    this.readOnly = options.readOnly ?? false;
    this.procFd = (options.anchor ?? (procFdAvailable ? 'procfd' : 'path')) === 'procfd' && procFdAvailable;
    let real: string;
    try {
      real = fs.realpathSync(hostPath);
      if (!fs.statSync(real).isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw new ForgeError(
        'FORGE_VFS_HOST_DIR_INVALID',
        `cannot preopen host directory ${JSON.stringify(hostPath)}: ${(error as Error).message}; pass an existing directory`,
        { cause: error, details: { hostPath } },
      );
    }
    this.rootReal = real;
  }

  root(): VfsDirectory {
    const fd = fs.openSync(this.rootReal, DIR_FLAGS);
    return new HostDirectory(this, fd, this.rootReal);
  }

  assertWritable(): void {
    if (this.readOnly) fail(Errno.ROFS, 'the file system is read-only');
  }

  /**
   * Closes `fd` and throws unless it refers to something under the root.
   *
   * With the procfd anchor there is nothing to check, so this costs nothing there: every open is
   * `/proc/self/fd/<held>/<name>` with `name` one component (`assertEntryName`: no `/`, not `.`
   * or `..`) and `O_NOFOLLOW`, or `/proc/self/fd/<held>` itself, so what it opens is the held
   * directory or an entry directly in it, never anything else. A held directory that another host
   * process moves out of the preopen stays what the guest holds (cap-std semantics, as for every
   * other call on it: lstat, mkdir, rename, readdir); `..` from it is still refused by the resolver
   * and its new surroundings cannot be named. The path anchor re-checks, since a path can be
   * swapped between check and use.
   */
  verify(fd: number, expectedPath: string): void {
    if (this.procFd) return;
    let inside: boolean;
    try {
      const real = fs.realpathSync(expectedPath);
      const opened = fs.fstatSync(fd, { bigint: true });
      const named = fs.lstatSync(real, { bigint: true });
      inside =
        opened.ino === named.ino &&
        opened.dev === named.dev &&
        (this.rootReal === '/' || real === this.rootReal || real.startsWith(`${this.rootReal}/`));
    } catch {
      inside = false;
    }
    if (!inside) {
      fs.closeSync(fd);
      fail(Errno.NOTCAPABLE, 'the opened object is not inside the preopened directory');
    }
  }

  toStat(stats: fs.BigIntStats): VfsStat {
    let { atimeNs: atim, mtimeNs: mtim } = stats;
    const override = this.#timeOverrides.get(`${stats.dev}:${stats.ino}`);
    if (override?.atim !== undefined && override.atim[1] === atim) atim = override.atim[0];
    if (override?.mtim !== undefined && override.mtim[1] === mtim) mtim = override.mtim[0];
    return {
      filetype: filetypeOf(stats),
      dev: stats.dev,
      ino: stats.ino,
      nlink: stats.nlink,
      size: stats.size,
      atim,
      mtim,
      ctim: stats.ctimeNs,
    };
  }

  /**
   * Sets times through `apply` (utimes in seconds) and remembers the exact nanoseconds asked for,
   * so that a guest reading back what it set sees it exactly.
   */
  setTimes(
    current: () => fs.BigIntStats,
    apply: (atime: number, mtime: number) => void,
    atim: bigint | undefined,
    mtim: bigint | undefined,
  ): void {
    this.assertWritable();
    const before = this.toStat(current());
    const a = atim ?? before.atim;
    const m = mtim ?? before.mtim;
    apply(nsToSeconds(a), nsToSeconds(m));
    const after = current();
    const key = `${after.dev}:${after.ino}`;
    if (this.#timeOverrides.size >= MAX_TIME_OVERRIDES && !this.#timeOverrides.has(key)) {
      const oldest = this.#timeOverrides.keys().next();
      if (oldest.done !== true) this.#timeOverrides.delete(oldest.value);
    }
    this.#timeOverrides.set(key, { atim: [a, after.atimeNs], mtim: [m, after.mtimeNs] });
  }
}

class HostDirectory implements VfsDirectory {
  #closed = false;

  constructor(
    readonly fileSystem: HostFileSystem,
    readonly fd: number,
    readonly hostPath: string,
  ) {}

  /** The host path naming `name` inside this very directory, whatever happened to its path. */
  at(name: string): string {
    assertEntryName(name);
    if (this.#closed) fail(Errno.BADF);
    if (this.fileSystem.procFd) return `/proc/self/fd/${this.fd}/${name}`;
    return `${this.#checkedPath()}/${name}`;
  }

  /** Without /proc there is no *at() in Node: the real path, if it still names the directory we hold. */
  #checkedPath(): string {
    if (this.#closed) fail(Errno.BADF);
    const real = fs.realpathSync(this.hostPath);
    const held = fs.fstatSync(this.fd, { bigint: true });
    const named = fs.statSync(real, { bigint: true });
    const root = this.fileSystem.rootReal;
    const inside = root === '/' || real === root || real.startsWith(`${root}/`);
    if (!inside || held.ino !== named.ino || held.dev !== named.dev) {
      fail(Errno.NOTCAPABLE, 'the directory was moved or replaced on the host');
    }
    return real;
  }

  #openSelf(): number {
    const path = this.#checkedPath();
    const fd = fs.openSync(path, DIR_FLAGS);
    this.fileSystem.verify(fd, path);
    return fd;
  }

  #target(dir: VfsDirectory): HostDirectory {
    if (!(dir instanceof HostDirectory) || dir.fileSystem !== this.fileSystem) fail(Errno.XDEV);
    return dir;
  }

  stat(): VfsStat {
    return this.fileSystem.toStat(fs.fstatSync(this.fd, { bigint: true }));
  }

  lstat(name: string): VfsStat {
    return this.fileSystem.toStat(fs.lstatSync(this.at(name), { bigint: true }));
  }

  openDirectory(name: string): VfsDirectory {
    const path = this.at(name);
    const fd = fs.openSync(path, DIR_FLAGS);
    this.fileSystem.verify(fd, path);
    return new HostDirectory(this.fileSystem, fd, `${this.hostPath}/${name}`);
  }

  reopen(): VfsDirectory {
    if (this.#closed) fail(Errno.BADF);
    let fd: number;
    if (this.fileSystem.procFd) {
      fd = fs.openSync(`/proc/self/fd/${this.fd}`, C.O_RDONLY | C.O_DIRECTORY);
      this.fileSystem.verify(fd, this.hostPath);
    } else {
      fd = this.#openSelf();
    }
    return new HostDirectory(this.fileSystem, fd, this.hostPath);
  }

  openFile(name: string, options: VfsOpenFileOptions): VfsFile {
    const path = this.at(name);
    const fileSystem = this.fileSystem;
    const writing = options.write || options.truncate;
    if (writing) fileSystem.assertWritable();
    const create = options.create && !fileSystem.readOnly;
    let flags = C.O_NOFOLLOW | C.O_NONBLOCK;
    if (writing) flags |= options.read ? C.O_RDWR : C.O_WRONLY;
    else flags |= C.O_RDONLY;
    if (create) flags |= C.O_CREAT | (options.exclusive ? C.O_EXCL : 0);
    if (options.truncate) flags |= C.O_TRUNC;
    let fd: number;
    try {
      fd = fs.openSync(path, flags, 0o666);
    } catch (error) {
      if (options.create && fileSystem.readOnly && (error as { code?: string }).code === 'ENOENT')
        fail(Errno.ROFS);
      throw error;
    }
    fileSystem.verify(fd, path);
    let stats: fs.Stats | undefined;
    try {
      stats = fs.fstatSync(fd);
    } finally {
      if (stats?.isFile() !== true) fs.closeSync(fd);
    }
    if (!stats.isFile())
      fail(stats.isDirectory() ? Errno.ISDIR : Errno.ACCES, 'only regular files can be opened');
    return new HostFile(fileSystem, fd);
  }

  openExisting(name: string, read: boolean, write: boolean): VfsOpened {
    const path = this.at(name);
    const fileSystem = this.fileSystem;
    if (write) fileSystem.assertWritable();
    const access = write ? (read ? C.O_RDWR : C.O_WRONLY) : C.O_RDONLY;
    // One open tells what is there: ENOENT, ELOOP (a symlink), EISDIR (a directory for writing).
    const fd = fs.openSync(path, access | C.O_NOFOLLOW | C.O_NONBLOCK);
    fileSystem.verify(fd, path);
    let kind: 'file' | 'dir' | undefined;
    try {
      const stats = fs.fstatSync(fd);
      if (stats.isFile()) kind = 'file';
      else if (stats.isDirectory() && !write) kind = 'dir';
    } finally {
      if (kind === undefined) fs.closeSync(fd);
    }
    if (kind === 'file') return { kind, file: new HostFile(fileSystem, fd) };
    if (kind === 'dir') return { kind, dir: new HostDirectory(fileSystem, fd, `${this.hostPath}/${name}`) };
    return fail(Errno.ACCES, 'only regular files and directories can be opened');
  }

  readlink(name: string): string {
    return fs.readlinkSync(this.at(name), 'utf8');
  }

  mkdir(name: string): void {
    this.fileSystem.assertWritable();
    fs.mkdirSync(this.at(name), 0o777);
  }

  rmdir(name: string): void {
    this.fileSystem.assertWritable();
    fs.rmdirSync(this.at(name));
  }

  unlink(name: string): void {
    this.fileSystem.assertWritable();
    fs.unlinkSync(this.at(name));
  }

  symlink(target: string, name: string): void {
    this.fileSystem.assertWritable();
    fs.symlinkSync(target, this.at(name));
  }

  link(name: string, targetDir: VfsDirectory, targetName: string): void {
    const target = this.#target(targetDir);
    this.fileSystem.assertWritable();
    fs.linkSync(this.at(name), target.at(targetName));
  }

  rename(name: string, targetDir: VfsDirectory, targetName: string): void {
    const target = this.#target(targetDir);
    this.fileSystem.assertWritable();
    fs.renameSync(this.at(name), target.at(targetName));
  }

  setTimes(name: string | null, atim: bigint | undefined, mtim: bigint | undefined): void {
    if (name === null) {
      this.fileSystem.setTimes(
        () => fs.fstatSync(this.fd, { bigint: true }),
        (a, m) => fs.futimesSync(this.fd, a, m),
        atim,
        mtim,
      );
      return;
    }
    const path = this.at(name);
    this.fileSystem.setTimes(
      () => fs.lstatSync(path, { bigint: true }),
      (a, m) => fs.lutimesSync(path, a, m),
      atim,
      mtim,
    );
  }

  entries(limit: number): VfsDirEntry[] {
    const dir = fs.opendirSync(this.fileSystem.procFd ? `/proc/self/fd/${this.fd}` : this.#checkedPath());
    const list: VfsDirEntry[] = [];
    try {
      for (let entry = dir.readSync(); entry !== null && list.length < limit; entry = dir.readSync()) {
        try {
          const stat = this.lstat(entry.name);
          list.push({ name: entry.name, ino: stat.ino, filetype: stat.filetype });
        } catch {
          // Removed between listing and lstat: it is simply not there any more.
        }
      }
    } finally {
      dir.closeSync();
    }
    return list;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    fs.closeSync(this.fd);
  }
}

class HostFile implements VfsFile {
  #closed = false;

  constructor(
    readonly fileSystem: HostFileSystem,
    readonly fd: number,
  ) {}

  #stats(): fs.BigIntStats {
    if (this.#closed) fail(Errno.BADF);
    return fs.fstatSync(this.fd, { bigint: true });
  }

  stat(): VfsStat {
    return this.fileSystem.toStat(this.#stats());
  }

  read(target: Uint8Array, position: bigint): number {
    if (target.byteLength === 0) return 0;
    return fs.readSync(this.fd, target, 0, target.byteLength, position);
  }

  write(source: Uint8Array, position: bigint): number {
    this.fileSystem.assertWritable();
    if (source.byteLength === 0) return 0;
    if (position + BigInt(source.byteLength) > BigInt(Number.MAX_SAFE_INTEGER)) fail(Errno.FBIG);
    return fs.writeSync(this.fd, source, 0, source.byteLength, Number(position));
  }

  truncate(size: bigint): void {
    this.fileSystem.assertWritable();
    fs.ftruncateSync(this.fd, Number(size));
  }

  setTimes(atim: bigint | undefined, mtim: bigint | undefined): void {
    this.fileSystem.setTimes(
      () => this.#stats(),
      (a, m) => fs.futimesSync(this.fd, a, m),
      atim,
      mtim,
    );
  }

  sync(): void {
    fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    fs.closeSync(this.fd);
  }
}

/**
 * A file system backed by the host directory `hostPath`. Nothing outside it can be named, opened or
 * changed through it; a read-only one refuses every change with EROFS.
 */
export function createHostFileSystem(
  hostPath: string,
  options: HostFileSystemOptions = {},
): VirtualFileSystem {
  return new HostFileSystem(hostPath, options);
}
