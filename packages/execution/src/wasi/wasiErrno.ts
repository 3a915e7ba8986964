import { Errno } from './wasiConstants';

/**
 * Thrown inside the WASI implementation and the virtual filesystems to end a call with an errno.
 * It never leaves a WASI function: the call wrapper turns it into the function's return value.
 */
export class WasiErrnoError extends Error {
  override readonly name = 'WasiErrnoError';
  constructor(
    readonly errno: Errno,
    message?: string,
  ) {
    super(message ?? `WASI errno ${errno}`);
  }
}

/** Throws `WasiErrnoError(errno)`; reads well in expressions (`x ?? fail(Errno.BADF)`). */
export function fail(errno: Errno, message?: string): never {
  throw new WasiErrnoError(errno, message);
}

/** Node's `error.code` for a failed system call, mapped to the WASI errno a guest expects. */
const hostCodes: Readonly<Record<string, Errno>> = {
  E2BIG: Errno.TOOBIG,
  EACCES: Errno.ACCES,
  EAGAIN: Errno.AGAIN,
  EBADF: Errno.BADF,
  EBUSY: Errno.BUSY,
  EDQUOT: Errno.DQUOT,
  EEXIST: Errno.EXIST,
  EFAULT: Errno.FAULT,
  EFBIG: Errno.FBIG,
  EILSEQ: Errno.ILSEQ,
  EINTR: Errno.INTR,
  EINVAL: Errno.INVAL,
  EIO: Errno.IO,
  EISDIR: Errno.ISDIR,
  ELOOP: Errno.LOOP,
  EMFILE: Errno.MFILE,
  EMLINK: Errno.MLINK,
  ENAMETOOLONG: Errno.NAMETOOLONG,
  ENFILE: Errno.NFILE,
  ENODEV: Errno.NODEV,
  ENOENT: Errno.NOENT,
  ENOMEM: Errno.NOMEM,
  ENOSPC: Errno.NOSPC,
  ENOSYS: Errno.NOSYS,
  ENOTDIR: Errno.NOTDIR,
  ENOTEMPTY: Errno.NOTEMPTY,
  ENOTSUP: Errno.NOTSUP,
  EOPNOTSUPP: Errno.NOTSUP,
  ENXIO: Errno.NXIO,
  EOVERFLOW: Errno.OVERFLOW,
  EPERM: Errno.PERM,
  EPIPE: Errno.PIPE,
  EROFS: Errno.ROFS,
  ESPIPE: Errno.SPIPE,
  ESTALE: Errno.STALE,
  ETXTBSY: Errno.TXTBSY,
  EXDEV: Errno.XDEV,
};

/** The errno for anything a host call threw; unknown failures become EIO, never an exception. */
export function errnoOf(error: unknown): Errno {
  if (error instanceof WasiErrnoError) return error.errno;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return hostCodes[code] ?? Errno.IO;
  return Errno.IO;
}
