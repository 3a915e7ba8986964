import type { SyscallArg } from '@forgeone/common';
import type { GuestMemory } from '../gate/guestMemory';
import type { SyscallDefinition, WasmValue } from '../gate/syscallDefinition';
import { defineWasiCalls } from './wasiCall';
import {
  ADVICE_MAX,
  Errno,
  FDFLAGS_ALL,
  Fdflags,
  Filetype,
  PREOPENTYPE_DIR,
  Rights,
  Sizes,
  Whence,
} from './wasiConstants';
import { fail } from './wasiErrno';
import {
  encodeDirent,
  encodeFdstat,
  encodeFilestat,
  gather,
  readIovecs,
  scatter,
  scatterAt,
  StructWriter,
  totalLength,
  u64,
  s64,
  type GuestBuffer,
} from './wasiLayout';
import { u32 } from '../gate/internal/wasmValues';
import { closeEntry, type FdEntry, type FileFd, type WasiState } from './wasiState';
import { timesOf } from './wasiTimes';
import type { VfsStat } from './vfs/virtualFileSystem';

const encoder = new TextEncoder();
const MAX_OFFSET = (1n << 63n) - 1n;

const stdioNames = ['<stdin>', '<stdout>', '<stderr>'] as const;

/** What a descriptor is, for policy and trace: its guest path or `<stdout>`... */
export function describeFd(state: WasiState, fd: WasmValue | undefined): Record<string, SyscallArg> {
  const number = u32(fd);
  if (!state.fds.has(number)) return { fd: number };
  const entry = state.fds.get(number);
  return { fd: number, path: entry.kind === 'stdio' ? stdioNames[entry.stream] : entry.guestPath };
}

function filetypeOfEntry(entry: FdEntry): Filetype {
  if (entry.kind === 'stdio') return Filetype.CHARACTER_DEVICE;
  return entry.kind === 'file' ? Filetype.REGULAR_FILE : Filetype.DIRECTORY;
}

function statOfEntry(entry: FdEntry): VfsStat {
  if (entry.kind === 'file') return entry.file.stat();
  if (entry.kind === 'dir') return entry.dir.stat();
  return {
    filetype: Filetype.CHARACTER_DEVICE,
    dev: 0n,
    ino: 0n,
    nlink: 1n,
    size: 0n,
    atim: 0n,
    mtim: 0n,
    ctim: 0n,
  };
}

/** A pread/pwrite offset: file offsets are signed 64-bit, so the top half of u64 is EINVAL. */
function offsetOf(value: WasmValue | undefined): bigint {
  const offset = u64(value);
  return offset > MAX_OFFSET ? fail(Errno.INVAL) : offset;
}

function fileOf(entry: FdEntry): FileFd {
  if (entry.kind === 'file') return entry;
  return fail(entry.kind === 'dir' ? Errno.ISDIR : Errno.SPIPE);
}

/** The most one host read asks for; a larger guest read takes several. */
const READ_CHUNK = 65_536;
/** Host reads land here first (calls run one at a time on a thread). */
const readScratch = new Uint8Array(READ_CHUNK);

/** Reads from `entry` into the guest buffers; `position` undefined means the descriptor's offset. */
function readInto(
  state: WasiState,
  memory: GuestMemory,
  entry: FdEntry,
  buffers: GuestBuffer[],
  position: bigint | undefined,
): number {
  const want = totalLength(buffers, state.limits.maxIoBytes);
  if (entry.kind === 'stdio') {
    if (entry.stream !== 0) fail(Errno.BADF);
    if (position !== undefined) fail(Errno.SPIPE);
    const data = state.stdin.subarray(state.stdinOffset, state.stdinOffset + want);
    state.stdinOffset += data.byteLength;
    scatter(memory, buffers, data);
    return data.byteLength;
  }
  const file = fileOf(entry);
  const at = position ?? file.position;
  // Read in chunks through one scratch buffer, straight from there into the guest buffers, so that
  // memory follows what the file gives, never the buffer the guest offers (and no fstat per read).
  let got = 0;
  while (got < want) {
    const n = file.file.read(readScratch.subarray(0, Math.min(READ_CHUNK, want - got)), at + BigInt(got));
    if (n <= 0) break;
    scatterAt(memory, buffers, readScratch.subarray(0, n), got);
    got += n;
  }
  if (position === undefined) file.position = at + BigInt(got);
  return got;
}

/** Writes the guest buffers to `entry`; `position` undefined means the offset (or the end with APPEND). */
function writeFrom(
  state: WasiState,
  memory: GuestMemory,
  entry: FdEntry,
  buffers: GuestBuffer[],
  position: bigint | undefined,
): number {
  const { limits } = state;
  if (entry.kind === 'stdio') {
    if (entry.stream === 0) fail(Errno.BADF);
    if (position !== undefined) fail(Errno.SPIPE);
    const output = entry.stream === 1 ? state.stdout : state.stderr;
    // One buffer (the usual write) goes from a live view: append copies what it keeps.
    if (buffers.length === 1) {
      const only = buffers[0]!;
      return output.append(memory.view(only.ptr, Math.min(only.len, limits.maxIoBytes)));
    }
    return output.append(gather(memory, buffers, limits.maxIoBytes));
  }
  const file = fileOf(entry);
  const append = position === undefined && (file.flags & Fdflags.APPEND) !== 0;
  const at = append ? file.file.stat().size : (position ?? file.position);
  const want = BigInt(totalLength(buffers, limits.maxIoBytes));
  const room = BigInt(limits.maxFileSize) - at;
  if (want > 0n && room <= 0n) fail(Errno.FBIG, 'file size limit reached');
  const bytes = gather(memory, buffers, Number(want < room ? want : room));
  let written = 0;
  while (written < bytes.byteLength) {
    const n = file.file.write(bytes.subarray(written), at + BigInt(written));
    if (n <= 0) break;
    written += n;
  }
  if (position === undefined) file.position = at + BigInt(written);
  return written;
}

/** The `fd_*` functions of wasi_snapshot_preview1. */
export function fdCalls(state: WasiState, only?: ReadonlySet<string>): SyscallDefinition[] {
  const fdOnly = (args: readonly WasmValue[]) => describeFd(state, args[0]);
  const io = (args: readonly WasmValue[], memory: GuestMemory) => {
    const buffers = readIovecs(memory, args[1], args[2], state.limits.maxIovecs);
    const described = describeFd(state, args[0]);
    described.bytes = totalLength(buffers, Number.MAX_SAFE_INTEGER);
    return described;
  };
  return defineWasiCalls(only, {
    fd_advise: () => ({
      params: ['i32', 'i64', 'i64', 'i32'],
      decode: fdOnly,
      run(args) {
        const entry = state.fd(u32(args[0]), Rights.FD_ADVISE);
        fileOf(entry);
        if (u32(args[3]) > ADVICE_MAX) fail(Errno.INVAL);
      },
    }),
    fd_allocate: () => ({
      params: ['i32', 'i64', 'i64'],
      decode: (args) => ({ ...fdOnly(args), size: u64(args[1]) + u64(args[2]) }),
      run(args) {
        const file = fileOf(state.fd(u32(args[0]), Rights.FD_ALLOCATE));
        const end = u64(args[1]) + u64(args[2]);
        if (end > BigInt(state.limits.maxFileSize)) fail(Errno.FBIG);
        if (end > file.file.stat().size) file.file.truncate(end);
      },
    }),
    fd_close: () => ({
      params: ['i32'],
      decode: fdOnly,
      run(args) {
        closeEntry(state.fds.take(u32(args[0])));
      },
    }),
    fd_datasync: () => ({
      params: ['i32'],
      decode: fdOnly,
      run(args) {
        const entry = state.fd(u32(args[0]), Rights.FD_DATASYNC);
        if (entry.kind === 'file') entry.file.sync();
      },
    }),
    fd_fdstat_get: () => ({
      params: ['i32', 'i32'],
      decode: fdOnly,
      run(args, memory) {
        const entry = state.fds.get(u32(args[0]));
        memory.write(
          u32(args[1]),
          encodeFdstat(filetypeOfEntry(entry), entry.flags, entry.rightsBase, entry.rightsInheriting),
        );
      },
    }),
    fd_fdstat_set_flags: () => ({
      params: ['i32', 'i32'],
      decode: (args) => ({ ...fdOnly(args), flags: u32(args[1]) }),
      run(args) {
        const entry = state.fd(u32(args[0]), Rights.FD_FDSTAT_SET_FLAGS);
        const flags = u32(args[1]);
        if ((flags & ~FDFLAGS_ALL) !== 0) fail(Errno.INVAL);
        entry.flags = flags;
      },
    }),
    fd_fdstat_set_rights: () => ({
      params: ['i32', 'i64', 'i64'],
      decode: (args) => ({ ...fdOnly(args), rightsBase: u64(args[1]), rightsInheriting: u64(args[2]) }),
      run(args) {
        const entry = state.fds.get(u32(args[0]));
        const base = u64(args[1]);
        const inheriting = u64(args[2]);
        if ((base & ~entry.rightsBase) !== 0n || (inheriting & ~entry.rightsInheriting) !== 0n) {
          fail(Errno.NOTCAPABLE, 'rights can only be dropped');
        }
        entry.rightsBase = base;
        entry.rightsInheriting = inheriting;
      },
    }),
    fd_filestat_get: () => ({
      params: ['i32', 'i32'],
      decode: fdOnly,
      run(args, memory) {
        const entry = state.fd(u32(args[0]), Rights.FD_FILESTAT_GET);
        memory.check(u32(args[1]), Sizes.FILESTAT);
        memory.write(u32(args[1]), encodeFilestat(statOfEntry(entry)));
      },
    }),
    fd_filestat_set_size: () => ({
      params: ['i32', 'i64'],
      decode: (args) => ({ ...fdOnly(args), size: u64(args[1]) }),
      run(args) {
        const file = fileOf(state.fd(u32(args[0]), Rights.FD_FILESTAT_SET_SIZE));
        const size = u64(args[1]);
        if (size > BigInt(state.limits.maxFileSize)) fail(Errno.FBIG);
        file.file.truncate(size);
      },
    }),
    fd_filestat_set_times: () => ({
      params: ['i32', 'i64', 'i64', 'i32'],
      decode: fdOnly,
      run(args) {
        const entry = state.fd(u32(args[0]), Rights.FD_FILESTAT_SET_TIMES);
        const [atim, mtim] = timesOf(state, args[1], args[2], args[3]);
        if (entry.kind === 'file') entry.file.setTimes(atim, mtim);
        else if (entry.kind === 'dir') entry.dir.setTimes(null, atim, mtim);
        else fail(Errno.BADF);
      },
    }),
    fd_pread: () => ({
      params: ['i32', 'i32', 'i32', 'i64', 'i32'],
      decode: (args, memory) => ({ ...io(args, memory), offset: u64(args[3]) }),
      run(args, memory) {
        const entry = state.fd(u32(args[0]), Rights.FD_READ | Rights.FD_SEEK);
        const buffers = readIovecs(memory, args[1], args[2], state.limits.maxIovecs);
        memory.check(u32(args[4]), 4);
        memory.writeU32(u32(args[4]), readInto(state, memory, entry, buffers, offsetOf(args[3])));
      },
    }),
    fd_prestat_get: () => ({
      params: ['i32', 'i32'],
      decode: fdOnly,
      run(args, memory) {
        const entry = state.fds.get(u32(args[0]));
        if (entry.kind !== 'dir' || entry.preopenName === undefined) fail(Errno.BADF);
        const length = encoder.encode(entry.preopenName).byteLength;
        memory.write(
          u32(args[1]),
          new StructWriter(Sizes.PRESTAT).u8(0, PREOPENTYPE_DIR).u32(4, length).bytes,
        );
      },
    }),
    fd_prestat_dir_name: () => ({
      params: ['i32', 'i32', 'i32'],
      decode: fdOnly,
      run(args, memory) {
        const entry = state.fds.get(u32(args[0]));
        if (entry.kind !== 'dir' || entry.preopenName === undefined) fail(Errno.BADF);
        const name = encoder.encode(entry.preopenName);
        if (u32(args[2]) < name.byteLength) fail(Errno.NAMETOOLONG);
        memory.write(u32(args[1]), name);
      },
    }),
    fd_pwrite: () => ({
      params: ['i32', 'i32', 'i32', 'i64', 'i32'],
      decode: (args, memory) => ({ ...io(args, memory), offset: u64(args[3]) }),
      run(args, memory) {
        const entry = state.fd(u32(args[0]), Rights.FD_WRITE | Rights.FD_SEEK);
        const buffers = readIovecs(memory, args[1], args[2], state.limits.maxIovecs);
        memory.check(u32(args[4]), 4);
        memory.writeU32(u32(args[4]), writeFrom(state, memory, entry, buffers, offsetOf(args[3])));
      },
    }),
    fd_read: () => ({
      params: ['i32', 'i32', 'i32', 'i32'],
      decode: io,
      run(args, memory) {
        const entry = state.fd(u32(args[0]), Rights.FD_READ);
        const buffers = readIovecs(memory, args[1], args[2], state.limits.maxIovecs);
        memory.check(u32(args[3]), 4);
        memory.writeU32(u32(args[3]), readInto(state, memory, entry, buffers, undefined));
      },
    }),
    fd_readdir: () => ({
      params: ['i32', 'i32', 'i32', 'i64', 'i32'],
      decode: (args) => ({ ...fdOnly(args), cookie: u64(args[3]) }),
      run(args, memory) {
        const entry = state.fd(u32(args[0]), Rights.FD_READDIR);
        if (entry.kind !== 'dir') fail(Errno.NOTDIR);
        const bufPtr = u32(args[1]);
        const bufLen = u32(args[2]);
        const cookie = u64(args[3]);
        memory.check(bufPtr, bufLen);
        memory.check(u32(args[4]), 4);
        if (cookie === 0n || entry.listing === undefined)
          entry.listing = entry.dir.entries(state.limits.maxDirEntries);
        const self = entry.dir.stat();
        // `..` reports this directory's own inode: the real parent may lie outside the sandbox.
        const all = [
          { name: '.', ino: self.ino, filetype: Filetype.DIRECTORY },
          { name: '..', ino: self.ino, filetype: Filetype.DIRECTORY },
          ...entry.listing,
        ];
        const chunks: Uint8Array[] = [];
        let used = 0;
        for (let index = cookie; index < BigInt(all.length) && used < bufLen; index += 1n) {
          const item = all[Number(index)]!;
          const name = encoder.encode(item.name);
          const header = encodeDirent(index + 1n, item.ino, name.byteLength, item.filetype);
          for (const part of [header, name]) {
            const take = Math.min(part.byteLength, bufLen - used);
            chunks.push(part.subarray(0, take));
            used += take;
          }
        }
        const out = new Uint8Array(used);
        let offset = 0;
        for (const chunk of chunks) {
          out.set(chunk, offset);
          offset += chunk.byteLength;
        }
        if (used > 0) memory.write(bufPtr, out);
        memory.writeU32(u32(args[4]), used);
      },
    }),
    fd_renumber: () => ({
      params: ['i32', 'i32'],
      decode: (args) => ({ ...fdOnly(args), to: u32(args[1]) }),
      run(args) {
        const from = u32(args[0]);
        const to = u32(args[1]);
        state.fds.get(from);
        state.fds.get(to);
        if (from === to) return;
        closeEntry(state.fds.take(to));
        state.fds.set(to, state.fds.take(from));
      },
    }),
    fd_seek: () => ({
      params: ['i32', 'i64', 'i32', 'i32'],
      decode: (args) => ({ ...fdOnly(args), offset: s64(args[1]), whence: u32(args[2]) }),
      run(args, memory) {
        const offset = s64(args[1]);
        const whence = u32(args[2]);
        const right = offset === 0n && whence === Whence.CUR ? Rights.FD_TELL : Rights.FD_SEEK;
        const file = fileOf(state.fd(u32(args[0]), right));
        memory.check(u32(args[3]), 8);
        let base: bigint;
        if (whence === Whence.SET) base = 0n;
        else if (whence === Whence.CUR) base = file.position;
        else if (whence === Whence.END) base = file.file.stat().size;
        else return fail(Errno.INVAL);
        const next = base + offset;
        if (next < 0n || next > MAX_OFFSET) fail(Errno.INVAL);
        file.position = next;
        memory.writeU64(u32(args[3]), next);
      },
    }),
    fd_sync: () => ({
      params: ['i32'],
      decode: fdOnly,
      run(args) {
        const entry = state.fd(u32(args[0]), Rights.FD_SYNC);
        if (entry.kind === 'file') entry.file.sync();
      },
    }),
    fd_tell: () => ({
      params: ['i32', 'i32'],
      decode: fdOnly,
      run(args, memory) {
        const file = fileOf(state.fd(u32(args[0]), Rights.FD_TELL));
        memory.writeU64(u32(args[1]), file.position);
      },
    }),
    fd_write: () => ({
      params: ['i32', 'i32', 'i32', 'i32'],
      decode: io,
      run(args, memory) {
        const entry = state.fd(u32(args[0]), Rights.FD_WRITE);
        const buffers = readIovecs(memory, args[1], args[2], state.limits.maxIovecs);
        memory.check(u32(args[3]), 4);
        memory.writeU32(u32(args[3]), writeFrom(state, memory, entry, buffers, undefined));
      },
    }),
  });
}
