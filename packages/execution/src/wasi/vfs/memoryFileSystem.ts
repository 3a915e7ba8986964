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

/** Options of an in-memory file system. */
export interface MemoryFileSystemOptions {
  /** Initial files by relative path (`a/b.txt`); parent directories are created. */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  readonly readOnly?: boolean;
  /** Total bytes the file contents may occupy (ENOSPC past it). Default 64 MiB. */
  readonly maxBytes?: number;
  /** Total files, directories and symlinks (ENOSPC past it). Default 65 536. */
  readonly maxNodes?: number;
  /** Wall-clock time in nanoseconds, for timestamps. Default `Date.now()`. */
  readonly now?: () => bigint;
}

const encoder = new TextEncoder();
let nextDev = 1n;

interface NodeBase {
  readonly ino: bigint;
  nlink: bigint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}
interface FileNode extends NodeBase {
  readonly kind: 'file';
  data: Uint8Array;
  size: number;
}
interface DirNode extends NodeBase {
  readonly kind: 'dir';
  readonly entries: Map<string, MemNode>;
  parent: DirNode | null;
  removed: boolean;
}
interface LinkNode extends NodeBase {
  readonly kind: 'symlink';
  readonly target: string;
}
type MemNode = FileNode | DirNode | LinkNode;

const filetypes = {
  file: Filetype.REGULAR_FILE,
  dir: Filetype.DIRECTORY,
  symlink: Filetype.SYMBOLIC_LINK,
} as const;

/** An in-memory tree with inodes, hard links, symlinks and a byte and node budget. */
class MemoryFileSystem implements VirtualFileSystem {
  readonly kind = 'memory';
  readonly readOnly: boolean;
  readonly dev = nextDev++;
  readonly rootNode: DirNode;
  readonly now: () => bigint;
  readonly #maxBytes: number;
  readonly #maxNodes: number;
  #bytes = 0;
  #nodes = 0;
  #nextIno = 1n;

  constructor(options: MemoryFileSystemOptions) {
    this.readOnly = options.readOnly ?? false;
    this.now = options.now ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#maxNodes = options.maxNodes ?? 65_536;
    this.rootNode = this.newDir(null);
    for (const [path, content] of Object.entries(options.files ?? {})) this.#seed(path, content);
  }

  root(): VfsDirectory {
    return new MemoryDirectory(this, this.rootNode);
  }

  #seed(path: string, content: string | Uint8Array): void {
    const parts = path.split('/').filter((part) => part !== '' && part !== '.');
    const fileName = parts.pop();
    if (fileName === undefined || parts.includes('..') || fileName === '..') {
      fail(Errno.INVAL, `memory file path ${JSON.stringify(path)} must name a file below the root`);
    }
    let dir = this.rootNode;
    for (const part of parts) {
      assertEntryName(part);
      const existing = dir.entries.get(part);
      if (existing === undefined) {
        const child = this.newDir(dir);
        dir.entries.set(part, child);
        dir = child;
      } else if (existing.kind === 'dir') {
        dir = existing;
      } else {
        fail(Errno.NOTDIR, `memory file path ${JSON.stringify(path)} crosses a file`);
      }
    }
    assertEntryName(fileName);
    const file = this.newFile();
    const bytes = typeof content === 'string' ? encoder.encode(content) : content;
    this.reserve(bytes.byteLength);
    file.data = bytes.slice();
    file.size = bytes.byteLength;
    dir.entries.set(fileName, file);
  }

  #base(): NodeBase {
    if (this.#nodes >= this.#maxNodes) fail(Errno.NOSPC, 'memory file system node limit reached');
    this.#nodes += 1;
    const now = this.now();
    return { ino: this.#nextIno++, nlink: 1n, atim: now, mtim: now, ctim: now };
  }

  newDir(parent: DirNode | null): DirNode {
    return { ...this.#base(), kind: 'dir', entries: new Map(), parent, removed: false };
  }

  newFile(): FileNode {
    return { ...this.#base(), kind: 'file', data: new Uint8Array(0), size: 0 };
  }

  newLink(target: string): LinkNode {
    return { ...this.#base(), kind: 'symlink', target };
  }

  /** Charges `bytes` against the budget or throws ENOSPC. */
  reserve(bytes: number): void {
    if (this.#bytes + bytes > this.#maxBytes) fail(Errno.NOSPC, 'memory file system byte limit reached');
    this.#bytes += bytes;
  }

  /** Called when a node loses its last link. */
  release(node: MemNode): void {
    this.#nodes -= 1;
    if (node.kind === 'file') this.#bytes -= node.data.byteLength;
  }

  assertWritable(): void {
    if (this.readOnly) fail(Errno.ROFS, 'the file system is read-only');
  }

  stat(node: MemNode): VfsStat {
    let size: bigint;
    let nlink = node.nlink;
    if (node.kind === 'file') size = BigInt(node.size);
    else if (node.kind === 'symlink') size = BigInt(encoder.encode(node.target).byteLength);
    else {
      size = BigInt(node.entries.size);
      let subdirs = 0n;
      for (const child of node.entries.values()) if (child.kind === 'dir') subdirs += 1n;
      nlink = node.removed ? 0n : 2n + subdirs;
    }
    return {
      filetype: filetypes[node.kind],
      dev: this.dev,
      ino: node.ino,
      nlink,
      size,
      atim: node.atim,
      mtim: node.mtim,
      ctim: node.ctim,
    };
  }
}

class MemoryDirectory implements VfsDirectory {
  constructor(
    readonly fileSystem: MemoryFileSystem,
    readonly node: DirNode,
  ) {}

  #get(name: string): MemNode {
    assertEntryName(name);
    return this.node.entries.get(name) ?? fail(Errno.NOENT);
  }

  /** Checks that `name` may be created here and returns the now time. */
  #creatable(name: string): bigint {
    assertEntryName(name);
    this.fileSystem.assertWritable();
    if (this.node.removed) fail(Errno.NOENT, 'the directory was removed');
    if (this.node.entries.has(name)) fail(Errno.EXIST);
    return this.fileSystem.now();
  }

  #touch(now: bigint): void {
    this.node.mtim = now;
    this.node.ctim = now;
  }

  #target(dir: VfsDirectory): MemoryDirectory {
    if (!(dir instanceof MemoryDirectory) || dir.fileSystem !== this.fileSystem) fail(Errno.XDEV);
    return dir;
  }

  stat(): VfsStat {
    return this.fileSystem.stat(this.node);
  }

  lstat(name: string): VfsStat {
    return this.fileSystem.stat(this.#get(name));
  }

  openDirectory(name: string): VfsDirectory {
    const node = this.#get(name);
    if (node.kind === 'symlink') fail(Errno.LOOP);
    if (node.kind !== 'dir') fail(Errno.NOTDIR);
    return new MemoryDirectory(this.fileSystem, node);
  }

  reopen(): VfsDirectory {
    return new MemoryDirectory(this.fileSystem, this.node);
  }

  openFile(name: string, options: VfsOpenFileOptions): VfsFile {
    assertEntryName(name);
    const fs = this.fileSystem;
    if ((options.write || options.truncate) && fs.readOnly) fail(Errno.ROFS);
    let node = this.node.entries.get(name);
    if (node === undefined) {
      if (!options.create) fail(Errno.NOENT);
      const now = this.#creatable(name);
      node = fs.newFile();
      this.node.entries.set(name, node);
      this.#touch(now);
    } else if (options.create && options.exclusive) {
      fail(Errno.EXIST);
    }
    if (node.kind === 'symlink') fail(Errno.LOOP);
    if (node.kind === 'dir') fail(Errno.ISDIR);
    const file = new MemoryFile(fs, node, options.write);
    if (options.truncate) file.truncate(0n);
    return file;
  }

  openExisting(name: string, read: boolean, write: boolean): VfsOpened {
    const node = this.#get(name);
    if (node.kind === 'dir' && !write)
      return { kind: 'dir', dir: new MemoryDirectory(this.fileSystem, node) };
    const options = { create: false, exclusive: false, truncate: false, read, write };
    return { kind: 'file', file: this.openFile(name, options) };
  }

  readlink(name: string): string {
    const node = this.#get(name);
    if (node.kind !== 'symlink') fail(Errno.INVAL);
    return node.target;
  }

  mkdir(name: string): void {
    const now = this.#creatable(name);
    this.node.entries.set(name, this.fileSystem.newDir(this.node));
    this.#touch(now);
  }

  rmdir(name: string): void {
    const node = this.#get(name);
    this.fileSystem.assertWritable();
    if (node.kind !== 'dir') fail(Errno.NOTDIR);
    if (node.entries.size > 0) fail(Errno.NOTEMPTY);
    this.node.entries.delete(name);
    node.removed = true;
    node.parent = null;
    this.fileSystem.release(node);
    this.#touch(this.fileSystem.now());
  }

  unlink(name: string): void {
    const node = this.#get(name);
    this.fileSystem.assertWritable();
    if (node.kind === 'dir') fail(Errno.ISDIR);
    this.node.entries.delete(name);
    this.#unref(node);
    this.#touch(this.fileSystem.now());
  }

  #unref(node: FileNode | LinkNode): void {
    node.nlink -= 1n;
    node.ctim = this.fileSystem.now();
    if (node.nlink === 0n) this.fileSystem.release(node);
  }

  symlink(target: string, name: string): void {
    const now = this.#creatable(name);
    this.node.entries.set(name, this.fileSystem.newLink(target));
    this.#touch(now);
  }

  link(name: string, targetDir: VfsDirectory, targetName: string): void {
    const target = this.#target(targetDir);
    const node = this.#get(name);
    const now = target.#creatable(targetName);
    if (node.kind === 'dir') fail(Errno.PERM, 'hard links to directories are not allowed');
    node.nlink += 1n;
    node.ctim = now;
    target.node.entries.set(targetName, node);
    target.#touch(now);
  }

  rename(name: string, targetDir: VfsDirectory, targetName: string): void {
    const target = this.#target(targetDir);
    const node = this.#get(name);
    assertEntryName(targetName);
    this.fileSystem.assertWritable();
    if (target.node.removed) fail(Errno.NOENT);
    const existing = target.node.entries.get(targetName);
    if (existing === node) return;
    if (node.kind === 'dir') {
      for (let dir: DirNode | null = target.node; dir !== null; dir = dir.parent) {
        if (dir === node) fail(Errno.INVAL, 'cannot move a directory inside itself');
      }
      if (existing !== undefined && existing.kind !== 'dir') fail(Errno.NOTDIR);
      if (existing !== undefined && existing.kind === 'dir' && existing.entries.size > 0)
        fail(Errno.NOTEMPTY);
    } else if (existing?.kind === 'dir') {
      fail(Errno.ISDIR);
    }
    const now = this.fileSystem.now();
    if (existing !== undefined) {
      if (existing.kind === 'dir') {
        existing.removed = true;
        existing.parent = null;
        this.fileSystem.release(existing);
      } else {
        this.#unref(existing);
      }
    }
    this.node.entries.delete(name);
    target.node.entries.set(targetName, node);
    if (node.kind === 'dir') node.parent = target.node;
    node.ctim = now;
    this.#touch(now);
    target.#touch(now);
  }

  setTimes(name: string | null, atim: bigint | undefined, mtim: bigint | undefined): void {
    const node = name === null ? this.node : this.#get(name);
    this.fileSystem.assertWritable();
    setNodeTimes(node, atim, mtim, this.fileSystem.now());
  }

  entries(limit: number): VfsDirEntry[] {
    const list: VfsDirEntry[] = [];
    for (const [name, node] of this.node.entries) {
      if (list.length >= limit) break;
      list.push({ name, ino: node.ino, filetype: filetypes[node.kind] });
    }
    return list;
  }

  close(): void {}
}

function setNodeTimes(node: NodeBase, atim: bigint | undefined, mtim: bigint | undefined, now: bigint): void {
  if (atim !== undefined) node.atim = atim;
  if (mtim !== undefined) node.mtim = mtim;
  node.ctim = now;
}

class MemoryFile implements VfsFile {
  constructor(
    readonly fileSystem: MemoryFileSystem,
    readonly node: FileNode,
    readonly writable: boolean,
  ) {}

  stat(): VfsStat {
    return this.fileSystem.stat(this.node);
  }

  read(target: Uint8Array, position: bigint): number {
    const { node } = this;
    if (position >= BigInt(node.size)) return 0;
    const start = Number(position);
    const count = Math.min(target.byteLength, node.size - start);
    target.set(node.data.subarray(start, start + count));
    return count;
  }

  #ensureCapacity(size: number): void {
    const { node } = this;
    if (size <= node.data.byteLength) return;
    const capacity = Math.max(size, Math.min(node.data.byteLength * 2, size + 16 * 1024 * 1024));
    this.fileSystem.reserve(capacity - node.data.byteLength);
    const data = new Uint8Array(capacity);
    data.set(node.data.subarray(0, node.size));
    node.data = data;
  }

  write(source: Uint8Array, position: bigint): number {
    this.fileSystem.assertWritable();
    const { node } = this;
    const end = position + BigInt(source.byteLength);
    if (end > BigInt(Number.MAX_SAFE_INTEGER)) fail(Errno.FBIG);
    const start = Number(position);
    this.#ensureCapacity(Number(end));
    if (start > node.size) node.data.fill(0, node.size, start);
    node.data.set(source, start);
    node.size = Math.max(node.size, Number(end));
    const now = this.fileSystem.now();
    node.mtim = now;
    node.ctim = now;
    return source.byteLength;
  }

  truncate(size: bigint): void {
    this.fileSystem.assertWritable();
    const { node } = this;
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) fail(Errno.FBIG);
    const next = Number(size);
    if (next > node.size) {
      this.#ensureCapacity(next);
      node.data.fill(0, node.size, next);
    }
    node.size = next;
    const now = this.fileSystem.now();
    node.mtim = now;
    node.ctim = now;
  }

  setTimes(atim: bigint | undefined, mtim: bigint | undefined): void {
    this.fileSystem.assertWritable();
    setNodeTimes(this.node, atim, mtim, this.fileSystem.now());
  }

  sync(): void {}

  close(): void {}
}

/** An in-memory file system: a tree that lives as long as the object and never touches the host. */
export function createMemoryFileSystem(options: MemoryFileSystemOptions = {}): VirtualFileSystem {
  return new MemoryFileSystem(options);
}
