import { randomFillSync } from 'node:crypto';
import type { Clock } from '@forgeone/common';
import { NO_ARGS, forgeCall } from './forgeBuffers';
import { ForgeErrno } from './forgeErrno';
import type { SyscallDefinition, WasmValue } from '../gate/syscallDefinition';

export interface ForgeSyscallOptions {
  readonly clock: Clock;
  /** Receives each `forge.log` message. */
  readonly onLog: (message: string) => void;
  /** Fills a buffer with random bytes; injectable for deterministic runs. Default: node:crypto. */
  readonly random?: (target: Uint8Array) => void;
  /** Longest accepted `forge.log` message in bytes. Default 64 KiB. */
  readonly maxLogBytes?: number;
  /** Most bytes one `forge.random_bytes` call returns. Default 64 KiB. */
  readonly maxRandomBytes?: number;
}

/** Names of every forge.* syscall this version provides. */
export const forgeSyscallNames = ['forge.log', 'forge.clock_now', 'forge.random_bytes'] as const;

/**
 * The `forge` import namespace (ABI v1). Every call returns an i32 ForgeErrno; outputs go through
 * guest pointers. See the package README for the ABI and WAT examples.
 */
export function forgeSyscalls(options: ForgeSyscallOptions): SyscallDefinition[] {
  const maxLog = options.maxLogBytes ?? 64 * 1024;
  const maxRandom = options.maxRandomBytes ?? 64 * 1024;
  const random = options.random ?? ((target: Uint8Array) => randomFillSync(target));
  const { clock, onLog } = options;
  // Built per guest: literals of one shape, no spreads (a spread literal costs microseconds here).
  return [
    // (ptr, len): a UTF-8 message.
    forgeCall(
      'log',
      ['i32', 'i32'],
      decodeLen,
      ({ args, context }) => {
        const ptr = args[0]!;
        const len = args[1]!;
        const length = Number(len) >>> 0;
        if (length > maxLog) return ForgeErrno.TOO_LARGE;
        let message: string;
        try {
          message = context.memory.readString(Number(ptr), length);
        } catch {
          // Out of bounds is a fault (the gate maps GuestFault); bad UTF-8 is the guest's input error.
          context.memory.view(Number(ptr), length);
          return ForgeErrno.INVALID;
        }
        onLog(message);
        return ForgeErrno.OK;
      },
      PURE,
    ),
    // (out_ptr): writes the wall-clock time as u64 nanoseconds since the Unix epoch.
    forgeCall(
      'clock_now',
      ['i32'],
      noArgs,
      ({ args, context }) => {
        const out = args[0]!;
        context.memory.writeU64(Number(out), BigInt(Math.round(clock.now())) * 1_000_000n);
        return ForgeErrno.OK;
      },
      PURE,
    ),
    // (ptr, len): fills len bytes at ptr with cryptographically secure randomness.
    forgeCall(
      'random_bytes',
      ['i32', 'i32'],
      decodeLen,
      ({ args, context }) => {
        const ptr = args[0]!;
        const len = args[1]!;
        const length = Number(len) >>> 0;
        if (length > maxRandom) return ForgeErrno.TOO_LARGE;
        context.memory.view(Number(ptr), length); // bounds check before doing work
        const bytes = new Uint8Array(length);
        random(bytes);
        context.memory.write(Number(ptr), bytes);
        return ForgeErrno.OK;
      },
      PURE,
    ),
  ];
}

const decodeLen = ([, len]: readonly WasmValue[]) => ({ len: Number(len) >>> 0 });
const noArgs = () => NO_ARGS;
/** Every call here decodes from its raw arguments alone. */
const PURE = { pureDecode: true } as const;
