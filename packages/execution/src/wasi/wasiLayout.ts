import type { GuestMemory } from '../gate/guestMemory';
import type { WasmValue } from '../gate/syscallDefinition';
import { Errno, Sizes, type Filetype } from './wasiConstants';
import { fail } from './wasiErrno';
import { u32 } from '../gate/internal/wasmValues';
import type { VfsStat } from './vfs/virtualFileSystem';

/** One guest buffer of an iovec array. */
export interface GuestBuffer {
  readonly ptr: number;
  readonly len: number;
}

/** Reads and bounds-checks `count` iovecs at `ptr` (EINVAL past `maxIovecs`, GuestFault when out of memory). */
export function readIovecs(
  memory: GuestMemory,
  ptr: WasmValue | undefined,
  count: WasmValue | undefined,
  maxIovecs: number,
): GuestBuffer[] {
  const n = u32(count);
  if (n > maxIovecs) fail(Errno.INVAL, `more than ${maxIovecs} iovecs`);
  const base = u32(ptr);
  memory.check(base, n * Sizes.IOVEC);
  const buffers: GuestBuffer[] = [];
  for (let i = 0; i < n; i += 1) {
    const buffer = {
      ptr: memory.readU32(base + i * Sizes.IOVEC),
      len: memory.readU32(base + i * Sizes.IOVEC + 4),
    };
    memory.check(buffer.ptr, buffer.len);
    buffers.push(buffer);
  }
  return buffers;
}

/** Total length of `buffers`, capped at `max`. */
export function totalLength(buffers: readonly GuestBuffer[], max: number): number {
  let total = 0;
  for (const buffer of buffers) total += buffer.len;
  return Math.min(total, max);
}

/** Copies the first `max` bytes of the guest buffers into one host array. */
export function gather(memory: GuestMemory, buffers: readonly GuestBuffer[], max: number): Uint8Array {
  const out = new Uint8Array(totalLength(buffers, max));
  let offset = 0;
  for (const buffer of buffers) {
    if (offset >= out.byteLength) break;
    const len = Math.min(buffer.len, out.byteLength - offset);
    out.set(memory.view(buffer.ptr, len), offset);
    offset += len;
  }
  return out;
}

/** Writes `data` across the guest buffers in order (recorded writes). */
export function scatter(memory: GuestMemory, buffers: readonly GuestBuffer[], data: Uint8Array): void {
  scatterAt(memory, buffers, data, 0);
}

/**
 * Copies `data` into the guest buffers as the bytes from `at` on of what they hold together (for
 * reads that arrive in several chunks); whatever does not fit is dropped.
 */
export function scatterAt(
  memory: GuestMemory,
  buffers: readonly GuestBuffer[],
  data: Uint8Array,
  at: number,
): void {
  let start = 0;
  let offset = 0;
  for (const buffer of buffers) {
    if (offset >= data.byteLength) break;
    const end = start + buffer.len;
    if (end > at + offset) {
      const skip = at + offset - start;
      const len = Math.min(buffer.len - skip, data.byteLength - offset);
      if (len > 0) memory.write(buffer.ptr + skip, data.subarray(offset, offset + len));
      offset += len;
    }
    start = end;
  }
}

/** A little-endian struct being filled before one recorded write into the guest. */
export class StructWriter {
  readonly bytes: Uint8Array;
  readonly #view: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.#view = new DataView(this.bytes.buffer);
  }

  u8(offset: number, value: number): this {
    this.#view.setUint8(offset, value);
    return this;
  }

  u16(offset: number, value: number): this {
    this.#view.setUint16(offset, value, true);
    return this;
  }

  u32(offset: number, value: number): this {
    this.#view.setUint32(offset, value >>> 0, true);
    return this;
  }

  u64(offset: number, value: bigint): this {
    this.#view.setBigUint64(offset, BigInt.asUintN(64, value), true);
    return this;
  }
}

/** `filestat`. */
export function encodeFilestat(stat: VfsStat): Uint8Array {
  return new StructWriter(Sizes.FILESTAT)
    .u64(0, stat.dev)
    .u64(8, stat.ino)
    .u8(16, stat.filetype)
    .u64(24, stat.nlink)
    .u64(32, stat.size)
    .u64(40, stat.atim)
    .u64(48, stat.mtim)
    .u64(56, stat.ctim).bytes;
}

/** `fdstat`. */
export function encodeFdstat(
  filetype: Filetype,
  flags: number,
  rightsBase: bigint,
  rightsInheriting: bigint,
): Uint8Array {
  return new StructWriter(Sizes.FDSTAT)
    .u8(0, filetype)
    .u16(2, flags)
    .u64(8, rightsBase)
    .u64(16, rightsInheriting).bytes;
}

/** `dirent` header (the name follows it). */
export function encodeDirent(next: bigint, ino: bigint, nameLength: number, filetype: Filetype): Uint8Array {
  return new StructWriter(Sizes.DIRENT).u64(0, next).u64(8, ino).u32(16, nameLength).u8(20, filetype).bytes;
}

function toBigInt(value: WasmValue | undefined): bigint {
  if (typeof value === 'bigint') return value;
  const number = Number(value ?? 0);
  return Number.isFinite(number) ? BigInt(Math.trunc(number)) : 0n;
}

/** An i64 argument as an unsigned 64-bit value. */
export function u64(value: WasmValue | undefined): bigint {
  return BigInt.asUintN(64, toBigInt(value));
}

/** An i64 argument as a signed 64-bit value. */
export function s64(value: WasmValue | undefined): bigint {
  return BigInt.asIntN(64, toBigInt(value));
}
