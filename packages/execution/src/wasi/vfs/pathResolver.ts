import { Errno, Filetype } from '../wasiConstants';
import { errnoOf, fail } from '../wasiErrno';
import type { VfsDirectory } from './virtualFileSystem';

/** Limits of one path walk. */
export interface ResolveOptions {
  /** Follow a symlink in the last component (WASI `lookupflags.symlink_follow`, or a trailing `/`). */
  readonly followFinal: boolean;
  readonly maxSymlinkHops: number;
  /** Longest path (and symlink target) in UTF-8 bytes. */
  readonly maxPathBytes: number;
}

/** Where a path led: the directory holding the last component, and that component. */
export interface ResolvedPath {
  /** The directory that holds `name`, or the directory the path names when `name` is null. */
  readonly parent: VfsDirectory;
  /** The last component, or null when the path names `parent` itself (`.`, `a/..`). */
  readonly name: string | null;
  /** The path ended in `/` (or `/.`): what it names must be a directory. */
  readonly trailingSlash: boolean;
  /** Components from the base directory down to `parent`, after `..` and symlinks. */
  readonly components: readonly string[];
  /** Closes the handles the walk opened (never the base). */
  release(): void;
}

const MAX_COMPONENT_BYTES = 255;
const NO_COMPONENTS: readonly string[] = Object.freeze([]);
const noRelease = (): void => undefined;
const encoder = new TextEncoder();

function byteLength(text: string): number {
  return text.length * 3 <= MAX_COMPONENT_BYTES ? text.length : encoder.encode(text).byteLength;
}

/** Checks a guest path (or symlink target) before any lookup; throws the errno a guest expects. */
export function checkPathText(path: string, maxPathBytes: number): void {
  if (path === '') fail(Errno.NOENT, 'empty path');
  // A UTF-16 unit is at most 3 UTF-8 bytes: only a path that might be too long is measured.
  if (
    path.length > maxPathBytes ||
    (path.length * 3 > maxPathBytes && Buffer.byteLength(path, 'utf8') > maxPathBytes)
  )
    fail(Errno.NAMETOOLONG);
  if (path.includes('\0')) fail(Errno.INVAL, 'path contains a NUL byte');
  if (path.startsWith('/'))
    fail(Errno.NOTCAPABLE, 'absolute paths are not allowed: paths are relative to a directory descriptor');
}

/** Components of `path` without empty and `.` parts, last first (ready to pop). */
function pendingOf(path: string): { pending: string[]; trailingSlash: boolean } {
  const raw = path.split('/');
  const last = raw[raw.length - 1];
  const trailingSlash = raw.length > 1 && (last === '' || last === '.');
  const pending = raw.filter((part) => part !== '' && part !== '.').reverse();
  for (const part of pending) if (byteLength(part) > MAX_COMPONENT_BYTES) fail(Errno.NAMETOOLONG);
  return { pending, trailingSlash };
}

/**
 * Walks `path` from `base` one component at a time, inside the tree below `base` only: `..` never
 * goes above `base` (ENOTCAPABLE), absolute paths and absolute symlink targets are refused
 * (ENOTCAPABLE), symlinks are read and expanded here (never by the host) with a hop limit (ELOOP).
 * Every directory on the way is opened without following symlinks, so the result is confined to
 * `base` whatever the guest put in the path or planted in the tree.
 */
export function resolvePath(base: VfsDirectory, path: string, options: ResolveOptions): ResolvedPath {
  checkPathText(path, options.maxPathBytes);
  if (!options.followFinal && path !== '.' && path !== '..' && !path.includes('/')) {
    // One plain component, not followed: the walk below would look nothing up and end here too.
    if (byteLength(path) > MAX_COMPONENT_BYTES) fail(Errno.NAMETOOLONG);
    return { parent: base, name: path, trailingSlash: false, components: NO_COMPONENTS, release: noRelease };
  }
  const walk = pendingOf(path);
  const { pending } = walk;
  let trailingSlash = walk.trailingSlash;
  const stack: VfsDirectory[] = [base];
  const names: string[] = [];
  let hops = 0;
  // Symlink targets can each add many components; bound the whole walk, not only the hops.
  let steps = 0;
  const maxSteps = options.maxPathBytes * 2;
  const release = (): void => {
    for (let i = stack.length - 1; i > 0; i -= 1) stack[i]!.close();
    stack.length = 1;
  };
  const expand = (dir: VfsDirectory, name: string, last: boolean): void => {
    hops += 1;
    if (hops > options.maxSymlinkHops) fail(Errno.LOOP, 'too many levels of symbolic links');
    const target = dir.readlink(name);
    checkPathText(target, options.maxPathBytes);
    const next = pendingOf(target);
    if (last) trailingSlash ||= next.trailingSlash;
    pending.push(...next.pending);
  };
  try {
    while (pending.length > 0) {
      const part = pending.pop()!;
      steps += 1;
      if (steps > maxSteps) fail(Errno.LOOP, 'path walk too long');
      const last = pending.length === 0;
      const top = stack[stack.length - 1]!;
      if (part === '..') {
        if (stack.length === 1) fail(Errno.NOTCAPABLE, 'path leads outside its directory');
        stack.pop()!.close();
        names.pop();
        if (last) break;
        continue;
      }
      if (last) {
        if (options.followFinal) {
          let type: Filetype | undefined;
          try {
            type = top.lstat(part).filetype;
          } catch (error) {
            if (errnoOf(error) !== Errno.NOENT) throw error;
          }
          if (type === Filetype.SYMBOLIC_LINK) {
            expand(top, part, true);
            continue;
          }
        }
        const parent = stack[stack.length - 1]!;
        return { parent, name: part, trailingSlash, components: names.slice(), release };
      }
      const type = top.lstat(part).filetype;
      if (type === Filetype.SYMBOLIC_LINK) {
        expand(top, part, false);
      } else if (type === Filetype.DIRECTORY) {
        stack.push(top.openDirectory(part));
        names.push(part);
      } else {
        fail(Errno.NOTDIR);
      }
    }
    return {
      parent: stack[stack.length - 1]!,
      name: null,
      trailingSlash,
      components: names.slice(),
      release,
    };
  } catch (error) {
    release();
    throw error;
  }
}

/** Joins a descriptor's guest path with components: `/data` + [a, b] is `/data/a/b`. */
export function joinGuestPath(base: string, components: readonly string[]): string {
  if (components.length === 0) return base;
  return base.endsWith('/') ? `${base}${components.join('/')}` : `${base}/${components.join('/')}`;
}
