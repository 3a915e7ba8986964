import { ForgeErrno } from './forgeErrno';
import { NO_ARGS, forgeCall, type ForgeIoBuffers } from './forgeBuffers';
import { u32 } from '../gate/internal/wasmValues';
import type { SyscallDefinition } from '../gate/syscallDefinition';

/** Names of the buffer syscalls. */
export const forgeBufferSyscallNames = ['forge.input_len', 'forge.input_read', 'forge.output_write'] as const;

/**
 * `forge.input_len`, `forge.input_read` and `forge.output_write` over one guest's buffers: how a
 * host (or another plugin) passes bytes and strings into an export and gets bytes back.
 */
export function forgeBufferSyscalls(buffers: ForgeIoBuffers): SyscallDefinition[] {
  return [
    // (out_ptr): writes the input's length as a little-endian u32.
    forgeCall(
      'input_len',
      ['i32'],
      () => NO_ARGS,
      ({ args, context }) => {
        const out = args[0]!;
        context.memory.writeU32(u32(out), buffers.input.length);
        return ForgeErrno.OK;
      },
      PURE,
    ),
    // (dst_ptr, offset, len): copies input[offset, offset + len) to dst_ptr.
    forgeCall(
      'input_read',
      ['i32', 'i32', 'i32'],
      ([, offset, len]) => ({ offset: u32(offset), len: u32(len) }),
      ({ args, context }) => {
        const dst = args[0]!;
        const offset = args[1]!;
        const len = args[2]!;
        const start = u32(offset);
        const length = u32(len);
        const input = buffers.input;
        if (start + length > input.length) return ForgeErrno.INVALID;
        context.memory.write(u32(dst), input.subarray(start, start + length));
        return ForgeErrno.OK;
      },
      PURE,
    ),
    // (ptr, len): appends len bytes at ptr to the call's output.
    forgeCall(
      'output_write',
      ['i32', 'i32'],
      ([, len]) => ({ len: u32(len) }),
      ({ args, context }) => {
        const ptr = args[0]!;
        const len = args[1]!;
        const length = u32(len);
        if (length > buffers.limits.maxOutputBytes) return ForgeErrno.TOO_LARGE;
        const bytes = context.memory.read(u32(ptr), length);
        return buffers.appendOutput(bytes) ? ForgeErrno.OK : ForgeErrno.TOO_LARGE;
      },
      PURE,
    ),
  ];
}

/** Every buffer call decodes from its raw arguments alone. */
const PURE = { pureDecode: true } as const;
