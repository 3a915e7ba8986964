import type { TraceEvent } from '@forgeone/observer';

/** One WASI descriptor as the recorded calls left it (JSON-safe: 64-bit values as decimal strings). */
export interface ReplayFd {
  readonly fd: number;
  /** `stdio`: 0-2 as the guest starts with them; `preopen`: a directory the host gave it. */
  readonly kind: 'stdio' | 'preopen' | 'file' | 'dir';
  /** The guest path: a preopen's name, or the path a `path_open` opened; null when not recorded. */
  readonly path: string | null;
  /** Seq of the call that opened it (`path_open`, or the first `fd_prestat_get` of a preopen). */
  readonly openedAt: number | null;
  /** Rights the guest asked for at `path_open` (hex; the host grants at most its directory's). */
  readonly rightsBase: string | null;
  readonly rightsInheriting: string | null;
  /** fdflags (APPEND 1, DSYNC 2, NONBLOCK 4, RSYNC 8, SYNC 16), last set by `path_open` or `fd_fdstat_set_flags`. */
  readonly fdflags: number | null;
  /** Byte offset of a file, from the reads, writes and seeks recorded; null when the trace does not say. */
  readonly offset: string | null;
}

interface FdState {
  kind: ReplayFd['kind'];
  path: string | null;
  openedAt: number | null;
  rightsBase: bigint | null;
  rightsInheriting: bigint | null;
  fdflags: number | null;
  offset: bigint | null;
}

const OFLAGS_DIRECTORY = 2;
const FDFLAGS_APPEND = 1;

const num = (value: number | bigint | string | undefined): number => Number(value ?? Number.NaN);
const big = (value: number | bigint | string | undefined): bigint => BigInt(value ?? 0);

/** The bytes a call's recorded writes put at [ptr, ptr + length), if one write covers them. */
function written(event: TraceEvent, ptr: number, length: number): Buffer | undefined {
  for (const write of event.writes ?? []) {
    const bytes = Buffer.from(write.bytes, 'base64');
    if (write.ptr <= ptr && ptr + length <= write.ptr + bytes.byteLength) {
      return bytes.subarray(ptr - write.ptr, ptr - write.ptr + length);
    }
  }
  return undefined;
}

/**
 * The WASI descriptor table as the recorded calls up to `seq` built it. A replay opens nothing (it
 * answers every call from the trace), so the live WASI state of a replaying guest holds only its
 * stdio: the table is rebuilt from the calls instead — `fd_prestat_*` for preopens, `path_open`,
 * `fd_close`, `fd_renumber`, and the offsets `fd_read`, `fd_write`, `fd_seek` and `fd_tell`
 * reported. Only successful, executed calls count.
 */
export function replayFdTable(events: readonly TraceEvent[], seq: number): ReplayFd[] {
  const fds = new Map<number, FdState>();
  const stdio = (path: string): FdState => ({
    kind: 'stdio',
    path,
    openedAt: null,
    rightsBase: null,
    rightsInheriting: null,
    fdflags: null,
    offset: null,
  });
  fds.set(0, stdio('<stdin>'));
  fds.set(1, stdio('<stdout>'));
  fds.set(2, stdio('<stderr>'));
  for (const event of events) {
    if (event.seq > seq) break;
    if (!event.executed || Number(event.result) !== 0) continue;
    const p = event.params ?? [];
    const fd = num(p[0]);
    const entry = fds.get(fd);
    switch (event.syscall) {
      case 'wasi.fd_prestat_get': {
        // The gate records the preopen's name as the call's `path`; fd_prestat_dir_name's bytes say it too.
        const path = event.args['path'];
        if (entry === undefined) {
          fds.set(fd, {
            kind: 'preopen',
            path: typeof path === 'string' ? path : null,
            openedAt: event.seq,
            rightsBase: null,
            rightsInheriting: null,
            fdflags: null,
            offset: null,
          });
        }
        break;
      }
      case 'wasi.fd_prestat_dir_name': {
        const name = written(event, num(p[1]), num(p[2]));
        if (entry !== undefined && name !== undefined) entry.path = name.toString('utf8');
        break;
      }
      case 'wasi.path_open': {
        const opened = written(event, num(p[8]), 4);
        if (opened === undefined) break;
        const path = event.args['path'];
        const fdflags = num(p[7]);
        fds.set(opened.readUInt32LE(0), {
          kind: (num(p[4]) & OFLAGS_DIRECTORY) !== 0 ? 'dir' : 'file',
          path: typeof path === 'string' ? path : null,
          openedAt: event.seq,
          rightsBase: big(p[5]),
          rightsInheriting: big(p[6]),
          fdflags,
          // Appending, the offset is the file's end: the trace does not know it.
          offset: (fdflags & FDFLAGS_APPEND) !== 0 ? null : 0n,
        });
        break;
      }
      case 'wasi.fd_close':
        fds.delete(fd);
        break;
      case 'wasi.fd_renumber':
        if (entry !== undefined) {
          fds.delete(fd);
          fds.set(num(p[1]), entry);
        }
        break;
      case 'wasi.fd_fdstat_set_flags':
        if (entry !== undefined) {
          entry.fdflags = num(p[1]);
          if ((entry.fdflags & FDFLAGS_APPEND) !== 0) entry.offset = null;
        }
        break;
      case 'wasi.fd_read':
      case 'wasi.fd_write': {
        if (entry === undefined || entry.offset === null) break;
        const count = written(event, num(p[3]), 4);
        entry.offset = count === undefined ? null : entry.offset + BigInt(count.readUInt32LE(0));
        break;
      }
      case 'wasi.fd_seek':
      case 'wasi.fd_tell': {
        if (entry === undefined || entry.kind === 'stdio') break;
        const at = written(event, num(event.syscall === 'wasi.fd_seek' ? p[3] : p[1]), 8);
        entry.offset = at === undefined ? null : at.readBigUInt64LE(0);
        break;
      }
    }
  }
  const hex = (value: bigint | null) => (value === null ? null : `0x${value.toString(16)}`);
  return [...fds.entries()]
    .sort(([a], [b]) => a - b)
    .map(([fd, s]) => ({
      fd,
      kind: s.kind,
      path: s.path,
      openedAt: s.openedAt,
      rightsBase: hex(s.rightsBase),
      rightsInheriting: hex(s.rightsInheriting),
      fdflags: s.fdflags,
      offset: s.offset === null ? null : s.offset.toString(),
    }));
}
