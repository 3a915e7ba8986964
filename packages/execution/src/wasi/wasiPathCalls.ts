import type { SyscallArg } from '@forgeone/common';
import { GuestFault, type GuestMemory } from '../gate/guestMemory';
import type { SyscallDefinition, WasmValue } from '../gate/syscallDefinition';
import { defineWasiCalls } from './wasiCall';
import {
  DIRECTORY_RIGHTS,
  Errno,
  FDFLAGS_ALL,
  FILE_RIGHTS,
  Filetype,
  LOOKUP_SYMLINK_FOLLOW,
  Oflags,
  Rights,
  Sizes,
  WRITE_RIGHTS,
} from './wasiConstants';
import { errnoOf, fail } from './wasiErrno';
import { encodeFilestat, u64 } from './wasiLayout';
import { u32 } from '../gate/internal/wasmValues';
import type { DirFd, FdEntry, WasiState } from './wasiState';
import { timesOf } from './wasiTimes';
import { checkPathText, type ResolvedPath } from './vfs/pathResolver';
import type { VfsDirectory, VfsFile, VfsOpened, VfsStat } from './vfs/virtualFileSystem';

const encoder = new TextEncoder();

/** lstat that answers undefined instead of ENOENT. */
function lstatOrUndefined(resolved: ResolvedPath): VfsStat | undefined {
  if (resolved.name === null) return resolved.parent.stat();
  try {
    return resolved.parent.lstat(resolved.name);
  } catch (error) {
    if (errnoOf(error) === Errno.NOENT) return undefined;
    throw error;
  }
}

/** The last component, or `fallback` when the path names the directory itself (`.`). */
function nameOf(resolved: ResolvedPath, fallback: Errno): string {
  return resolved.name ?? fail(fallback);
}

/**
 * The gate decided on `decoded[key]`; refuse to act on anything else (a symlink or directory
 * swapped between the policy decision and the call).
 */
function confirmPath(decoded: Readonly<Record<string, SyscallArg>>, key: string, actual: string): void {
  const seen = decoded[key];
  if (typeof seen === 'string' && seen !== actual) {
    fail(Errno.NOTCAPABLE, `the path changed after the policy decision (${seen} -> ${actual})`);
  }
}

/** Where a path argument sits in a call's arguments and how its last component is looked up. */
interface PathArg {
  /** Name of the decoded argument the gate decided on (`path` or `targetPath`). */
  readonly key: string;
  /** Index of the directory descriptor. */
  readonly fd: number;
  /** Index of the pointer; the length follows it. */
  readonly ptr: number;
  /** Follow a symlink in the last component. */
  readonly follow: (args: readonly WasmValue[]) => boolean;
  /** A trailing `/` also follows it (lookups, not changes: `rmdir("link/")` must not remove the target). */
  readonly slashFollows: boolean;
}

const never = (): boolean => false;
const lookupFollow = (args: readonly WasmValue[]): boolean => (u32(args[1]) & LOOKUP_SYMLINK_FOLLOW) !== 0;

function followsFinal(arg: PathArg, args: readonly WasmValue[], path: string): boolean {
  return arg.follow(args) || (arg.slashFollows && path.endsWith('/'));
}

/** A path that names what it changes: the last component is never followed. */
const changed = (fd: number, ptr: number, key = 'path'): PathArg => ({
  key,
  fd,
  ptr,
  follow: never,
  slashFollows: false,
});
/** A path looked up under `lookupflags` (argument 1). */
const looked = (fd: number, ptr: number): PathArg => ({
  key: 'path',
  fd,
  ptr,
  follow: lookupFollow,
  slashFollows: true,
});

const atPath01 = changed(0, 1);
const lookedPath02 = looked(0, 2);
const linkSource: PathArg = { key: 'path', fd: 0, ptr: 2, follow: lookupFollow, slashFollows: false };
const linkTarget = changed(4, 5, 'targetPath');
const renameTarget = changed(3, 4, 'targetPath');
const symlinkPath = changed(2, 3);

/** The `path_*` functions of wasi_snapshot_preview1. */
export function pathCalls(state: WasiState, only?: ReadonlySet<string>): SyscallDefinition[] {
  const { limits } = state;

  /** Resolves the path argument `arg` against `dir` and runs `use` with the result. */
  const withPath = <T>(
    memory: GuestMemory,
    args: readonly WasmValue[],
    decoded: Readonly<Record<string, SyscallArg>>,
    arg: PathArg,
    dir: DirFd,
    use: (resolved: ResolvedPath) => T,
  ): T => {
    const path = state.readPath(memory, args[arg.ptr], args[arg.ptr + 1]);
    const resolved = state.resolve(dir, path, followsFinal(arg, args, path));
    try {
      confirmPath(decoded, arg.key, state.guestPathOf(dir, resolved));
      return use(resolved);
    } finally {
      resolved.release();
    }
  };

  const describe = (memory: GuestMemory, args: readonly WasmValue[], arg: PathArg): SyscallArg =>
    state.describePath(memory, args[arg.fd], args[arg.ptr], args[arg.ptr + 1], (path) =>
      followsFinal(arg, args, path),
    );

  const onePath =
    (arg: PathArg) =>
    (args: readonly WasmValue[], memory: GuestMemory): Record<string, SyscallArg> => ({
      fd: u32(args[arg.fd]),
      path: describe(memory, args, arg),
    });

  return defineWasiCalls(only, {
    path_create_directory: () => ({
      params: ['i32', 'i32', 'i32'],
      decode: onePath(atPath01),
      run(args, memory, decoded) {
        const dir = state.dir(u32(args[0]), Rights.PATH_CREATE_DIRECTORY);
        withPath(memory, args, decoded, atPath01, dir, (resolved) => {
          resolved.parent.mkdir(nameOf(resolved, Errno.EXIST));
        });
      },
    }),
    path_filestat_get: () => ({
      params: ['i32', 'i32', 'i32', 'i32', 'i32'],
      decode: onePath(lookedPath02),
      run(args, memory, decoded) {
        const dir = state.dir(u32(args[0]), Rights.PATH_FILESTAT_GET);
        memory.check(u32(args[4]), Sizes.FILESTAT);
        const stat = withPath(memory, args, decoded, lookedPath02, dir, (resolved) => {
          const found = lstatOrUndefined(resolved) ?? fail(Errno.NOENT);
          if (resolved.trailingSlash && found.filetype !== Filetype.DIRECTORY) fail(Errno.NOTDIR);
          return found;
        });
        memory.write(u32(args[4]), encodeFilestat(stat));
      },
    }),
    path_filestat_set_times: () => ({
      params: ['i32', 'i32', 'i32', 'i32', 'i64', 'i64', 'i32'],
      decode: onePath(lookedPath02),
      run(args, memory, decoded) {
        const dir = state.dir(u32(args[0]), Rights.PATH_FILESTAT_SET_TIMES);
        const [atim, mtim] = timesOf(state, args[4], args[5], args[6]);
        withPath(memory, args, decoded, lookedPath02, dir, (resolved) => {
          if (
            resolved.trailingSlash &&
            resolved.name !== null &&
            resolved.parent.lstat(resolved.name).filetype !== Filetype.DIRECTORY
          ) {
            fail(Errno.NOTDIR);
          }
          resolved.parent.setTimes(resolved.name, atim, mtim);
        });
      },
    }),
    path_link: () => ({
      params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
      decode: (args, memory) => ({
        fd: u32(args[0]),
        path: describe(memory, args, linkSource),
        targetFd: u32(args[4]),
        targetPath: describe(memory, args, linkTarget),
      }),
      run(args, memory, decoded) {
        const source = state.dir(u32(args[0]), Rights.PATH_LINK_SOURCE);
        const target = state.dir(u32(args[4]), Rights.PATH_LINK_TARGET);
        withPath(memory, args, decoded, linkSource, source, (from) => {
          const fromName = nameOf(from, Errno.PERM);
          const fromStat = from.parent.lstat(fromName);
          if (fromStat.filetype === Filetype.DIRECTORY)
            fail(Errno.PERM, 'hard links to directories are not allowed');
          if (from.trailingSlash) fail(Errno.NOTDIR);
          withPath(memory, args, decoded, linkTarget, target, (to) => {
            const toName = nameOf(to, Errno.EXIST);
            if (to.trailingSlash) fail(lstatOrUndefined(to) === undefined ? Errno.NOENT : Errno.EXIST);
            from.parent.link(fromName, to.parent, toName);
          });
        });
      },
    }),
    path_open: () => ({
      params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i64', 'i64', 'i32', 'i32'],
      decode: (args, memory) => {
        const oflags = u32(args[4]);
        const rights = u64(args[5]);
        return {
          fd: u32(args[0]),
          path: describe(memory, args, lookedPath02),
          oflags,
          fdflags: u32(args[7]),
          read: (rights & (Rights.FD_READ | Rights.FD_READDIR)) !== 0n,
          write: (rights & WRITE_RIGHTS) !== 0n || (oflags & (Oflags.CREAT | Oflags.TRUNC)) !== 0,
        };
      },
      run(args, memory, decoded) {
        const oflags = u32(args[4]);
        const fdflags = u32(args[7]);
        if ((oflags & ~0xf) !== 0 || (fdflags & ~FDFLAGS_ALL) !== 0) fail(Errno.INVAL);
        const create = (oflags & Oflags.CREAT) !== 0;
        const truncate = (oflags & Oflags.TRUNC) !== 0;
        const needed =
          Rights.PATH_OPEN |
          (create ? Rights.PATH_CREATE_FILE : 0n) |
          (truncate ? Rights.PATH_FILESTAT_SET_SIZE : 0n);
        const dir = state.dir(u32(args[0]), needed);
        const fdPtr = u32(args[8]);
        memory.check(fdPtr, 4);
        state.fds.reserve();
        const base = u64(args[5]) & dir.rightsInheriting;
        const inheriting = u64(args[6]) & dir.rightsInheriting;
        const write = (base & WRITE_RIGHTS) !== 0n;
        const read = (base & (Rights.FD_READ | Rights.FD_READDIR)) !== 0n || !write;
        const entry = withPath(memory, args, decoded, lookedPath02, dir, (resolved): FdEntry => {
          const guestPath = state.guestPathOf(dir, resolved);
          const fileEntry = (file: VfsFile): FdEntry => ({
            kind: 'file',
            file,
            guestPath,
            position: 0n,
            flags: fdflags,
            rightsBase: base & FILE_RIGHTS,
            rightsInheriting: inheriting,
          });
          const openFile = (name: string, creating: boolean): FdEntry =>
            fileEntry(
              resolved.parent.openFile(name, {
                create: creating,
                exclusive: creating && (oflags & Oflags.EXCL) !== 0,
                truncate,
                read,
                write: write || truncate,
              }),
            );
          const name = resolved.name;
          const dirEntry = (handle: VfsDirectory): FdEntry => ({
            kind: 'dir',
            dir: handle,
            guestPath,
            depth: dir.depth + resolved.components.length + (name === null ? 0 : 1),
            preopenName: undefined,
            listing: undefined,
            flags: fdflags,
            rightsBase: base & DIRECTORY_RIGHTS,
            rightsInheriting: inheriting,
          });
          if ((oflags & ~Oflags.DIRECTORY) === 0 && name !== null && !resolved.trailingSlash) {
            // The common open of something that exists: one open, no lstat first. Only NOENT and
            // a file under O_DIRECTORY are final here (what the long way answers too); anything
            // else (a symlink, a directory for writing...) is looked at below.
            let opened: VfsOpened | undefined;
            try {
              opened = resolved.parent.openExisting(name, read, write);
            } catch (error) {
              if (errnoOf(error) === Errno.NOENT) throw error;
            }
            if (opened?.kind === 'dir') return dirEntry(opened.dir);
            if (opened !== undefined) {
              if ((oflags & Oflags.DIRECTORY) === 0) return fileEntry(opened.file);
              opened.file.close();
              fail(Errno.NOTDIR);
            }
          }
          const found = lstatOrUndefined(resolved);
          if (found === undefined) {
            if (!create || name === null) fail(Errno.NOENT);
            if ((oflags & Oflags.DIRECTORY) !== 0)
              fail(Errno.INVAL, 'cannot create a directory with path_open');
            if (resolved.trailingSlash) fail(Errno.ISDIR);
            return openFile(name, true);
          }
          if (create && (oflags & Oflags.EXCL) !== 0) fail(Errno.EXIST);
          if (found.filetype === Filetype.SYMBOLIC_LINK)
            fail(Errno.LOOP, 'the path names a symlink and symlink_follow is not set');
          if (found.filetype === Filetype.DIRECTORY) {
            if (truncate || write) fail(Errno.ISDIR);
            return dirEntry(name === null ? resolved.parent.reopen() : resolved.parent.openDirectory(name));
          }
          if ((oflags & Oflags.DIRECTORY) !== 0 || resolved.trailingSlash) fail(Errno.NOTDIR);
          return openFile(nameOf(resolved, Errno.ISDIR), false);
        });
        memory.writeU32(fdPtr, state.fds.insert(entry));
      },
    }),
    path_readlink: () => ({
      params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
      decode: onePath(atPath01),
      run(args, memory, decoded) {
        const dir = state.dir(u32(args[0]), Rights.PATH_READLINK);
        const bufPtr = u32(args[3]);
        const bufLen = u32(args[4]);
        memory.check(bufPtr, bufLen);
        memory.check(u32(args[5]), 4);
        const target = withPath(memory, args, decoded, atPath01, dir, (resolved) =>
          resolved.parent.readlink(nameOf(resolved, Errno.INVAL)),
        );
        const bytes = encoder.encode(target).subarray(0, bufLen);
        if (bytes.byteLength > 0) memory.write(bufPtr, bytes);
        memory.writeU32(u32(args[5]), bytes.byteLength);
      },
    }),
    path_remove_directory: () => ({
      params: ['i32', 'i32', 'i32'],
      decode: onePath(atPath01),
      run(args, memory, decoded) {
        const dir = state.dir(u32(args[0]), Rights.PATH_REMOVE_DIRECTORY);
        withPath(memory, args, decoded, atPath01, dir, (resolved) => {
          resolved.parent.rmdir(nameOf(resolved, Errno.INVAL));
        });
      },
    }),
    path_rename: () => ({
      params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
      decode: (args, memory) => ({
        fd: u32(args[0]),
        path: describe(memory, args, atPath01),
        targetFd: u32(args[3]),
        targetPath: describe(memory, args, renameTarget),
      }),
      run(args, memory, decoded) {
        const source = state.dir(u32(args[0]), Rights.PATH_RENAME_SOURCE);
        const target = state.dir(u32(args[3]), Rights.PATH_RENAME_TARGET);
        withPath(memory, args, decoded, atPath01, source, (from) => {
          const fromName = nameOf(from, Errno.BUSY);
          const isDir = from.parent.lstat(fromName).filetype === Filetype.DIRECTORY;
          withPath(memory, args, decoded, renameTarget, target, (to) => {
            const toName = nameOf(to, Errno.BUSY);
            if (!isDir && (from.trailingSlash || to.trailingSlash)) fail(Errno.NOTDIR);
            from.parent.rename(fromName, to.parent, toName);
          });
        });
      },
    }),
    path_symlink: () => ({
      params: ['i32', 'i32', 'i32', 'i32', 'i32'],
      decode: (args, memory) => {
        let target: SyscallArg;
        try {
          target = state.readPath(memory, args[0], args[1]);
        } catch (error) {
          if (error instanceof GuestFault) throw error;
          target = null;
        }
        return { fd: u32(args[2]), path: describe(memory, args, symlinkPath), target };
      },
      run(args, memory, decoded) {
        const dir = state.dir(u32(args[2]), Rights.PATH_SYMLINK);
        const target = state.readPath(memory, args[0], args[1]);
        checkPathText(target, limits.maxPathBytes);
        withPath(memory, args, decoded, symlinkPath, dir, (resolved) => {
          const name = nameOf(resolved, Errno.EXIST);
          let depth = dir.depth + resolved.components.length;
          for (const part of target.split('/')) {
            if (part === '..') depth -= 1;
            else if (part !== '' && part !== '.') depth += 1;
            if (depth < 0) fail(Errno.NOTCAPABLE, 'the symlink would point outside the preopened directory');
          }
          if (resolved.trailingSlash) {
            const found = lstatOrUndefined(resolved);
            if (found === undefined) fail(Errno.NOENT);
            fail(found.filetype === Filetype.DIRECTORY ? Errno.EXIST : Errno.NOTDIR);
          }
          resolved.parent.symlink(target, name);
        });
      },
    }),
    path_unlink_file: () => ({
      params: ['i32', 'i32', 'i32'],
      decode: onePath(atPath01),
      run(args, memory, decoded) {
        const dir = state.dir(u32(args[0]), Rights.PATH_UNLINK_FILE);
        withPath(memory, args, decoded, atPath01, dir, (resolved) => {
          const name = nameOf(resolved, Errno.ISDIR);
          if (resolved.trailingSlash) {
            fail(resolved.parent.lstat(name).filetype === Filetype.DIRECTORY ? Errno.ISDIR : Errno.NOTDIR);
          }
          resolved.parent.unlink(name);
        });
      },
    }),
  });
}
