import type { WasmValue } from '../gate/syscallDefinition';
import { Errno, Fstflags } from './wasiConstants';
import { fail } from './wasiErrno';
import { u64 } from './wasiLayout';
import { u32 } from '../gate/internal/wasmValues';
import type { WasiState } from './wasiState';

/**
 * The access and modification times a `*_set_times` call asks for (undefined: leave unchanged).
 * "now" is read from the injected clock, so it replays deterministically.
 */
export function timesOf(
  state: WasiState,
  atim: WasmValue | undefined,
  mtim: WasmValue | undefined,
  fstflags: WasmValue | undefined,
): [bigint | undefined, bigint | undefined] {
  const flags = u32(fstflags);
  if ((flags & ~0xf) !== 0) fail(Errno.INVAL);
  if ((flags & Fstflags.ATIM) !== 0 && (flags & Fstflags.ATIM_NOW) !== 0) fail(Errno.INVAL);
  if ((flags & Fstflags.MTIM) !== 0 && (flags & Fstflags.MTIM_NOW) !== 0) fail(Errno.INVAL);
  const now = (flags & (Fstflags.ATIM_NOW | Fstflags.MTIM_NOW)) !== 0 ? state.realtimeNs() : 0n;
  const pick = (set: number, setNow: number, value: WasmValue | undefined): bigint | undefined => {
    if ((flags & setNow) !== 0) return now;
    return (flags & set) !== 0 ? u64(value) : undefined;
  };
  return [pick(Fstflags.ATIM, Fstflags.ATIM_NOW, atim), pick(Fstflags.MTIM, Fstflags.MTIM_NOW, mtim)];
}
