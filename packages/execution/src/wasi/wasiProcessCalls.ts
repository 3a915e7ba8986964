import type { GuestMemory } from '../gate/guestMemory';
import { GuestExit, type SyscallDefinition, type WasmValue } from '../gate/syscallDefinition';
import { defineWasiCalls } from './wasiCall';
import {
  ClockId,
  Errno,
  EVENT_FD_READWRITE_HANGUP,
  EventType,
  Rights,
  Sizes,
  SUBCLOCK_ABSTIME,
} from './wasiConstants';
import { errnoOf, fail } from './wasiErrno';
import { StructWriter } from './wasiLayout';
import { u32 } from '../gate/internal/wasmValues';
import { describeFd } from './wasiFdCalls';
import type { WasiState } from './wasiState';

const encoder = new TextEncoder();
const RANDOM_CHUNK = 65_536;

/** Writes `strings` as NUL-terminated UTF-8 at `bufPtr` and their addresses at `listPtr`. */
function writeStringList(
  memory: GuestMemory,
  strings: readonly string[],
  listPtr: number,
  bufPtr: number,
): void {
  const encoded = strings.map((text) => encoder.encode(`${text}\0`));
  const total = encoded.reduce((sum, bytes) => sum + bytes.byteLength, 0);
  memory.check(listPtr, strings.length * 4);
  memory.check(bufPtr, total);
  const buffer = new Uint8Array(total);
  const pointers = new StructWriter(strings.length * 4);
  let offset = 0;
  encoded.forEach((bytes, index) => {
    buffer.set(bytes, offset);
    pointers.u32(index * 4, bufPtr + offset);
    offset += bytes.byteLength;
  });
  if (strings.length > 0) memory.write(listPtr, pointers.bytes);
  if (total > 0) memory.write(bufPtr, buffer);
}

function writeSizes(
  memory: GuestMemory,
  strings: readonly string[],
  countPtr: number,
  sizePtr: number,
): void {
  memory.check(countPtr, 4);
  memory.check(sizePtr, 4);
  memory.writeU32(countPtr, strings.length);
  memory.writeU32(
    sizePtr,
    strings.reduce((sum, text) => sum + encoder.encode(text).byteLength + 1, 0),
  );
}

/** The time of `clockId` in nanoseconds, or EINVAL for an unknown clock. */
function timeOf(state: WasiState, clockId: number): bigint {
  switch (clockId) {
    case ClockId.REALTIME:
      return state.realtimeNs();
    case ClockId.MONOTONIC:
      return state.clock.monotonicNs();
    case ClockId.PROCESS_CPUTIME:
    case ClockId.THREAD_CPUTIME:
      // CPU time is not observable per guest here; time since start is an upper bound of it.
      return state.clock.monotonicNs() - state.startNs;
    default:
      return fail(Errno.INVAL, 'unknown clock');
  }
}

interface PendingEvent {
  readonly userdata: bigint;
  readonly error: Errno;
  readonly type: number;
  readonly nbytes: bigint;
  readonly flags: number;
}

/** How ready `fd` is for reading or writing, as a poll event. */
function fdEvent(state: WasiState, userdata: bigint, type: number, fd: number): PendingEvent {
  const event = (error: Errno, nbytes = 0n, flags = 0): PendingEvent => ({
    userdata,
    error,
    type,
    nbytes,
    flags,
  });
  try {
    const entry = state.fd(fd, Rights.POLL_FD_READWRITE);
    const reading = type === EventType.FD_READ;
    if (entry.kind === 'dir') return event(Errno.BADF);
    if (entry.kind === 'stdio') {
      if (reading !== (entry.stream === 0)) return event(Errno.BADF);
      if (!reading) return event(Errno.SUCCESS);
      const left = BigInt(state.stdin.byteLength - state.stdinOffset);
      return event(Errno.SUCCESS, left, left === 0n ? EVENT_FD_READWRITE_HANGUP : 0);
    }
    if (!reading) return event(Errno.SUCCESS);
    const left = entry.file.stat().size - entry.position;
    return event(Errno.SUCCESS, left > 0n ? left : 0n);
  } catch (error) {
    return event(errnoOf(error));
  }
}

/**
 * poll_oneoff: descriptors are always ready here (files, captured stdio, stdin bytes), so the call
 * returns at once when any is subscribed; otherwise it sleeps until the earliest clock, at most
 * `limits.maxSleepMs`.
 */
function pollOneoff(state: WasiState, memory: GuestMemory, args: readonly WasmValue[]): void {
  const inPtr = u32(args[0]);
  const outPtr = u32(args[1]);
  const count = u32(args[2]);
  const neventsPtr = u32(args[3]);
  if (count === 0 || count > state.limits.maxPollSubscriptions) fail(Errno.INVAL);
  memory.check(inPtr, count * Sizes.SUBSCRIPTION);
  memory.check(outPtr, count * Sizes.EVENT);
  memory.check(neventsPtr, 4);
  const ready: PendingEvent[] = [];
  const clocks: { userdata: bigint; clockId: number; deadline: bigint }[] = [];
  for (let i = 0; i < count; i += 1) {
    const at = inPtr + i * Sizes.SUBSCRIPTION;
    const userdata = memory.readU64(at);
    const type = memory.readU8(at + 8);
    if (type === EventType.CLOCK) {
      const clockId = memory.readU32(at + 16);
      const timeout = memory.readU64(at + 24);
      const absolute = (memory.readU8(at + 40) & SUBCLOCK_ABSTIME) !== 0;
      try {
        clocks.push({ userdata, clockId, deadline: absolute ? timeout : timeOf(state, clockId) + timeout });
      } catch (error) {
        ready.push({ userdata, error: errnoOf(error), type, nbytes: 0n, flags: 0 });
      }
    } else if (type === EventType.FD_READ || type === EventType.FD_WRITE) {
      ready.push(fdEvent(state, userdata, type, memory.readU32(at + 16)));
    } else {
      fail(Errno.INVAL, 'unknown subscription type');
    }
  }
  if (ready.length === 0 && clocks.length > 0) {
    let wait = -1n;
    for (const clock of clocks) {
      const left = clock.deadline - timeOf(state, clock.clockId);
      if (wait < 0n || left < wait) wait = left > 0n ? left : 0n;
    }
    const ms = Number((wait + 999_999n) / 1_000_000n);
    if (ms > 0) state.sleep(Math.min(ms, state.limits.maxSleepMs));
  }
  const expired = clocks.filter((clock) => timeOf(state, clock.clockId) >= clock.deadline);
  if (ready.length === 0 && expired.length === 0 && clocks.length > 0) {
    // Slept as long as allowed (or an injected clock did not move): the earliest clock fires.
    expired.push(
      clocks.reduce((a, b) =>
        b.deadline - timeOf(state, b.clockId) < a.deadline - timeOf(state, a.clockId) ? b : a,
      ),
    );
  }
  for (const clock of expired)
    ready.push({
      userdata: clock.userdata,
      error: Errno.SUCCESS,
      type: EventType.CLOCK,
      nbytes: 0n,
      flags: 0,
    });
  const out = new StructWriter(ready.length * Sizes.EVENT);
  ready.forEach((event, index) => {
    const at = index * Sizes.EVENT;
    out
      .u64(at, event.userdata)
      .u16(at + 8, event.error)
      .u8(at + 10, event.type)
      .u64(at + 16, event.nbytes)
      .u16(at + 24, event.flags);
  });
  if (ready.length > 0) memory.write(outPtr, out.bytes);
  memory.writeU32(neventsPtr, ready.length);
}

/** args, environ, clocks, random, poll, proc, sched and the (refused) socket functions. */
export function processCalls(state: WasiState, only?: ReadonlySet<string>): SyscallDefinition[] {
  /** Sockets are not offered: a valid descriptor is never a socket. */
  const notSocket = (args: readonly WasmValue[]): void => {
    state.fds.get(u32(args[0]));
    fail(Errno.NOTSOCK, 'sockets are not offered to guests');
  };
  const fdOnly = (args: readonly WasmValue[]) => describeFd(state, args[0]);
  return defineWasiCalls(only, {
    args_get: () => ({
      params: ['i32', 'i32'],
      run: (args, memory) => writeStringList(memory, state.args, u32(args[0]), u32(args[1])),
    }),
    args_sizes_get: () => ({
      params: ['i32', 'i32'],
      run: (args, memory) => writeSizes(memory, state.args, u32(args[0]), u32(args[1])),
    }),
    environ_get: () => ({
      params: ['i32', 'i32'],
      run: (args, memory) => writeStringList(memory, state.env, u32(args[0]), u32(args[1])),
    }),
    environ_sizes_get: () => ({
      params: ['i32', 'i32'],
      run: (args, memory) => writeSizes(memory, state.env, u32(args[0]), u32(args[1])),
    }),
    clock_res_get: () => ({
      params: ['i32', 'i32'],
      decode: (args) => ({ clockId: u32(args[0]) }),
      run(args, memory) {
        const clockId = u32(args[0]);
        timeOf(state, clockId);
        memory.writeU64(u32(args[1]), clockId === ClockId.REALTIME ? 1_000_000n : 1_000n);
      },
    }),
    clock_time_get: () => ({
      params: ['i32', 'i64', 'i32'],
      decode: (args) => ({ clockId: u32(args[0]) }),
      run(args, memory) {
        memory.check(u32(args[2]), 8);
        memory.writeU64(u32(args[2]), timeOf(state, u32(args[0])));
      },
    }),
    poll_oneoff: () => ({
      blocking: true,
      params: ['i32', 'i32', 'i32', 'i32'],
      decode: (args) => ({ subscriptions: u32(args[2]) }),
      run: (args, memory) => pollOneoff(state, memory, args),
    }),
    proc_exit: () => ({
      params: ['i32'],
      results: [],
      exits: true,
      decode: (args) => ({ code: u32(args[0]) }),
      run(args) {
        throw new GuestExit(u32(args[0]));
      },
    }),
    proc_raise: () => ({
      params: ['i32'],
      decode: (args) => ({ signal: u32(args[0]) }),
      run() {
        fail(Errno.NOTSUP, 'signals are not supported');
      },
    }),
    random_get: () => ({
      params: ['i32', 'i32'],
      decode: (args) => ({ bytes: u32(args[1]) }),
      run(args, memory) {
        const ptr = u32(args[0]);
        const len = u32(args[1]);
        memory.check(ptr, len);
        const chunk = new Uint8Array(Math.min(len, RANDOM_CHUNK));
        for (let offset = 0; offset < len; offset += RANDOM_CHUNK) {
          const part = chunk.subarray(0, Math.min(RANDOM_CHUNK, len - offset));
          state.random(part);
          memory.write(ptr + offset, part);
        }
      },
    }),
    sched_yield: () => ({ params: [], run() {} }),
    sock_accept: () => ({ params: ['i32', 'i32', 'i32'], decode: fdOnly, run: notSocket }),
    sock_recv: () => ({
      params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
      decode: fdOnly,
      run: notSocket,
    }),
    sock_send: () => ({
      params: ['i32', 'i32', 'i32', 'i32', 'i32'],
      decode: fdOnly,
      run: notSocket,
    }),
    sock_shutdown: () => ({ params: ['i32', 'i32'], decode: fdOnly, run: notSocket }),
  });
}
