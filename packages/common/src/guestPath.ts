/** A segment of a guest path as the sandbox resolves it: any name without `/` or NUL. */
export const GUEST_PATH_SEGMENT = /^[^/\0]{1,255}$/;
/** The longest guest path accepted anywhere (manifests, policies, requests). */
export const MAX_GUEST_PATH_LENGTH = 4096;

/**
 * True for `/` and absolute paths of plain segments: no `.`, `..`, empty segment or trailing `/`.
 * The one definition of a canonical guest path: manifests, mounts, policies and policy requests
 * are checked with it, so that a path compared as text means what it says. `segment` narrows the
 * names allowed (package manifests use a stricter set).
 */
export function isCanonicalGuestPath(path: string, segment: RegExp = GUEST_PATH_SEGMENT): boolean {
  if (path === '/') return true;
  if (!path.startsWith('/') || path.length > MAX_GUEST_PATH_LENGTH) return false;
  return path
    .slice(1)
    .split('/')
    .every((part) => part !== '.' && part !== '..' && segment.test(part));
}

/** Syscall arguments that carry a guest path (as the sandbox resolved it) for the policy. */
export const guestPathArgs: readonly string[] = ['path', 'targetPath'];
