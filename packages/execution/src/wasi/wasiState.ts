import { systemClock, type Clock, type SyscallArg } from '@forgeone/common';
import { GuestFault, type GuestMemory } from '../gate/guestMemory';
import type { WasmValue } from '../gate/syscallDefinition';
import { Errno } from './wasiConstants';
import { u32 } from '../gate/internal/wasmValues';
import { fail } from './wasiErrno';
import {
  DEFAULT_OUTPUT_MAX_BYTES,
  type WasiLimits,
  type WasiOptions,
  type WasiOutputOptions,
} from './wasiOptions';
import {
  checkPathText,
  joinGuestPath,
  resolvePath,
  type ResolvedPath,
  type ResolveOptions,
} from './vfs/pathResolver';
import type { VfsDirEntry, VfsDirectory, VfsFile } from './vfs/virtualFileSystem';

interface FdCommon {
  rightsBase: bigint;
  rightsInheriting: bigint;
  flags: number;
}
/** stdin (0), stdout (1) or stderr (2), wherever it was renumbered to. */
export interface StdioFd extends FdCommon {
  readonly kind: 'stdio';
  readonly stream: 0 | 1 | 2;
}
export interface FileFd extends FdCommon {
  readonly kind: 'file';
  readonly file: VfsFile;
  readonly guestPath: string;
  position: bigint;
}
export interface DirFd extends FdCommon {
  readonly kind: 'dir';
  readonly dir: VfsDirectory;
  readonly guestPath: string;
  /** Components below the preopen root (for checking symlink targets). */
  readonly depth: number;
  /** Set on preopened directories: the name fd_prestat_dir_name reports. */
  readonly preopenName: string | undefined;
  /** Listing taken by the last fd_readdir from cookie 0, so cookies stay stable across calls. */
  listing: VfsDirEntry[] | undefined;
}
export type FdEntry = StdioFd | FileFd | DirFd;

/** The descriptor table: lowest free number first, bounded. */
export class FdTable {
  readonly #entries = new Map<number, FdEntry>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.#entries.size;
  }

  get(fd: number): FdEntry {
    return this.#entries.get(fd) ?? fail(Errno.BADF);
  }

  has(fd: number): boolean {
    return this.#entries.has(fd);
  }

  /** Fails with EMFILE when the table is full (check before opening anything). */
  reserve(): void {
    if (this.#entries.size >= this.max) fail(Errno.MFILE, 'too many open descriptors');
  }

  insert(entry: FdEntry): number {
    this.reserve();
    let fd = 0;
    while (this.#entries.has(fd)) fd += 1;
    this.#entries.set(fd, entry);
    return fd;
  }

  set(fd: number, entry: FdEntry): void {
    this.#entries.set(fd, entry);
  }

  /** Removes `fd` and returns its entry (the caller closes the handle). */
  take(fd: number): FdEntry {
    const entry = this.get(fd);
    this.#entries.delete(fd);
    return entry;
  }

  entries(): IterableIterator<[number, FdEntry]> {
    return this.#entries.entries();
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** Captured guest output with a byte cap and an optional live sink. */
export class OutputCapture {
  /** What was taken so far, in one buffer that grows by doubling up to the cap (no array per write). */
  #buffer = new Uint8Array(0);
  #size = 0;
  readonly #max: number;
  readonly #sink: ((bytes: Uint8Array) => void) | undefined;

  constructor(options: WasiOutputOptions | undefined) {
    this.#max = options?.maxBytes ?? DEFAULT_OUTPUT_MAX_BYTES;
    this.#sink = options?.sink;
  }

  /** Appends what fits and returns how many bytes were taken; EFBIG when nothing fits. */
  append(bytes: Uint8Array): number {
    if (bytes.byteLength === 0) return 0;
    const room = this.#max - this.#size;
    if (room <= 0) fail(Errno.FBIG, 'output limit reached');
    const taken = bytes.byteLength <= room ? bytes : bytes.subarray(0, room);
    const size = this.#size + taken.byteLength;
    if (size > this.#buffer.byteLength) {
      const grown = new Uint8Array(Math.min(this.#max, Math.max(size, 2 * this.#buffer.byteLength, 256)));
      grown.set(this.#buffer.subarray(0, this.#size));
      this.#buffer = grown;
    }
    this.#buffer.set(taken, this.#size);
    this.#size = size;
    // The sink gets a copy of its own: nothing it does changes what was captured.
    this.#sink?.(taken.slice());
    return taken.byteLength;
  }

  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.#size);
  }
}

const pathDecoder = new TextDecoder('utf-8', { fatal: true });

function defaultSleep(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function defaultRandom(target: Uint8Array): void {
  for (let offset = 0; offset < target.byteLength; offset += 65_536) {
    crypto.getRandomValues(
      target.subarray(offset, Math.min(target.byteLength, offset + 65_536)) as Uint8Array<ArrayBuffer>,
    );
  }
}

/** One guest's WASI world: descriptors, stdio, clocks, randomness and limits. */
export class WasiState {
  readonly fds: FdTable;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly stdin: Uint8Array;
  stdinOffset = 0;
  readonly stdout: OutputCapture;
  readonly stderr: OutputCapture;
  readonly clock: Clock;
  readonly sleep: (ms: number) => void;
  readonly random: (target: Uint8Array) => void;
  readonly startNs: bigint;
  /** The two ways a path is resolved under these limits (made once, not per call). */
  readonly #resolveFollowing: ResolveOptions;
  readonly #resolveNotFollowing: ResolveOptions;

  constructor(
    options: WasiOptions,
    readonly limits: WasiLimits,
  ) {
    this.fds = new FdTable(limits.maxOpenFds);
    const { maxSymlinkHops, maxPathBytes } = limits;
    this.#resolveFollowing = { followFinal: true, maxSymlinkHops, maxPathBytes };
    this.#resolveNotFollowing = { followFinal: false, maxSymlinkHops, maxPathBytes };
    this.args = options.args ?? [];
    this.env = Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`);
    this.stdin =
      typeof options.stdin === 'string'
        ? new TextEncoder().encode(options.stdin)
        : (options.stdin ?? new Uint8Array(0));
    this.stdout = new OutputCapture(options.stdout);
    this.stderr = new OutputCapture(options.stderr);
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? defaultRandom;
    this.startNs = this.clock.monotonicNs();
  }

  /** Wall-clock time in nanoseconds since the epoch. */
  realtimeNs(): bigint {
    return BigInt(Math.floor(this.clock.now() * 1e6));
  }

  /** The descriptor `fd` if it holds every right in `rights`. */
  fd(fd: number, rights: bigint): FdEntry {
    const entry = this.fds.get(fd);
    if ((entry.rightsBase & rights) !== rights)
      fail(Errno.NOTCAPABLE, 'the descriptor lacks a right this call needs');
    return entry;
  }

  /** The directory descriptor `fd` if it holds every right in `rights`. */
  dir(fd: number, rights: bigint): DirFd {
    const entry = this.fds.get(fd);
    if (entry.kind !== 'dir') fail(Errno.NOTDIR);
    if ((entry.rightsBase & rights) !== rights)
      fail(Errno.NOTCAPABLE, 'the directory lacks a right this call needs');
    return entry;
  }

  /** Reads a path argument: bounded before it is read, strict UTF-8. */
  readPath(memory: GuestMemory, ptr: WasmValue | undefined, len: WasmValue | undefined): string {
    const length = u32(len);
    if (length > this.limits.maxPathBytes) fail(Errno.NAMETOOLONG);
    const bytes = memory.view(u32(ptr), length);
    try {
      return pathDecoder.decode(bytes);
    } catch {
      return fail(Errno.ILSEQ, 'path is not valid UTF-8');
    }
  }

  resolve(dir: DirFd, path: string, followFinal: boolean): ResolvedPath {
    return resolvePath(dir.dir, path, followFinal ? this.#resolveFollowing : this.#resolveNotFollowing);
  }

  /** The guest path a resolution names, e.g. `/data/a/b`. */
  guestPathOf(dir: DirFd, resolved: ResolvedPath): string {
    if (resolved.components.length === 0 && resolved.name !== null) {
      // A name right in the directory (the usual open), as joinGuestPath would put it.
      const base = dir.guestPath;
      return base.endsWith('/') ? `${base}${resolved.name}` : `${base}/${resolved.name}`;
    }
    const parts = resolved.name === null ? resolved.components : [...resolved.components, resolved.name];
    return joinGuestPath(dir.guestPath, parts);
  }

  /**
   * What a path argument names, for the policy and the trace: the guest path after `..` and
   * symlinks, resolved now without changing anything. Never throws (except GuestFault).
   */
  describePath(
    memory: GuestMemory,
    fd: WasmValue | undefined,
    ptr: WasmValue | undefined,
    len: WasmValue | undefined,
    follow: (path: string) => boolean,
  ): SyscallArg {
    let path: string;
    try {
      path = this.readPath(memory, ptr, len);
    } catch (error) {
      if (isGuestFault(error)) throw error;
      return null;
    }
    let entry: FdEntry;
    try {
      entry = this.fds.get(u32(fd));
    } catch {
      return path;
    }
    if (entry.kind !== 'dir') return path;
    try {
      const resolved = this.resolve(entry, path, follow(path));
      try {
        return this.guestPathOf(entry, resolved);
      } finally {
        resolved.release();
      }
    } catch {
      return lexicalPath(entry.guestPath, path, this.limits.maxPathBytes);
    }
  }

  /** Closes every handle; the guest is gone. */
  closeAll(): void {
    for (const [, entry] of this.fds.entries()) closeEntry(entry);
    this.fds.clear();
  }
}

/** The guest path `path` names lexically (no symlinks), or `path` itself when it is not confined. */
function lexicalPath(base: string, path: string, maxPathBytes: number): string {
  try {
    checkPathText(path, maxPathBytes);
  } catch {
    return path;
  }
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.pop() === undefined) return path;
    } else {
      parts.push(part);
    }
  }
  return joinGuestPath(base, parts);
}

function isGuestFault(error: unknown): boolean {
  return error instanceof GuestFault;
}

/** Releases the host handle behind a descriptor. */
export function closeEntry(entry: FdEntry): void {
  try {
    if (entry.kind === 'file') entry.file.close();
    else if (entry.kind === 'dir') entry.dir.close();
  } catch {
    // Closing is best effort: the descriptor is gone for the guest either way.
  }
}
