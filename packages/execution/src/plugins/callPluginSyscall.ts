import type { SyscallArg } from '@forgeone/common';
import { ForgeErrno } from '../forge/forgeErrno';
import { forgeCall, readGuestText } from '../forge/forgeBuffers';
import { u32 } from '../gate/internal/wasmValues';
import type { GuestMemory } from '../gate/guestMemory';
import type { SyscallDefinition, WasmValue } from '../gate/syscallDefinition';
import { EXPORT_NAME_PATTERN, PLUGIN_NAME_PATTERN } from './capability';

/** What the host answers when one plugin calls another. */
export type PluginCallAnswer =
  | { readonly kind: 'returned'; readonly code: number; readonly output: Uint8Array }
  /** No such plugin, or it does not provide that export. */
  | { readonly kind: 'not-found' }
  /** The callee is already on the call stack, or the depth limit is reached. */
  | { readonly kind: 'busy' }
  /** The callee trapped or could not run. */
  | { readonly kind: 'failed' };

export interface CallPluginSyscallOptions {
  /** Runs the callee (its own instance and gate) and answers. */
  readonly call: (target: { plugin: string; export: string }, input: Uint8Array) => PluginCallAnswer;
  /** Largest input passed to a callee. Default 1 MiB. */
  readonly maxInputBytes?: number;
}

const MAX_TARGET_BYTES = 64 + 1 + 64;

/** Decodes `<plugin>/<export>`; both null when malformed, so no capability can match it. */
function decodeTarget(memory: GuestMemory, args: readonly WasmValue[]): Record<string, SyscallArg> {
  const target = readGuestText(memory, u32(args[0]), u32(args[1]), MAX_TARGET_BYTES);
  const slash = target?.indexOf('/') ?? -1;
  const plugin = target?.slice(0, slash) ?? '';
  const name = target?.slice(slash + 1) ?? '';
  const ok = slash > 0 && PLUGIN_NAME_PATTERN.test(plugin) && EXPORT_NAME_PATTERN.test(name);
  return { plugin: ok ? plugin : null, export: ok ? name : null, len: u32(args[3]) };
}

/**
 * `forge.call_plugin(target_ptr, target_len, in_ptr, in_len, out_ptr, out_cap, result_ptr) -> errno`:
 * calls export `<plugin>/<export>` of another plugin with the input bytes. At `result_ptr` it writes
 * 8 bytes: the callee's i32 return code and the u32 length of its output; up to `out_cap` bytes of
 * the output go to `out_ptr` (TOO_SMALL when the output was longer and was cut). Policies see
 * `plugin` and `export`; a plugin needs `plugin:call:<plugin>/<export>` to make the call at all.
 */
/** The syscall name of `forge.call_plugin`, for policies and allow-lists. */
export const forgeCallPluginSyscallName = 'forge.call_plugin';

export function forgeCallPluginSyscall(options: CallPluginSyscallOptions): SyscallDefinition {
  const maxInput = options.maxInputBytes ?? 1024 * 1024;
  return forgeCall(
    'call_plugin',
    ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
    (args, memory) => decodeTarget(memory, args),
    ({ args, decoded, context }) => {
      const { plugin, export: name } = decoded;
      if (typeof plugin !== 'string' || typeof name !== 'string') return ForgeErrno.INVALID;
      const [, , inPtr, inLen, outPtr, outCap, resultPtr] = args.map(u32) as number[] as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      if (inLen > maxInput) return ForgeErrno.TOO_LARGE;
      const { memory } = context;
      // Every range is checked before the callee runs: a bad pointer must not cost a call.
      const input = memory.read(inPtr, inLen);
      memory.view(outPtr, outCap);
      memory.view(resultPtr, 8);
      const answer = options.call({ plugin, export: name }, input);
      switch (answer.kind) {
        case 'not-found':
          return ForgeErrno.NOT_FOUND;
        case 'busy':
          return ForgeErrno.BUSY;
        case 'failed':
          return ForgeErrno.CALL_FAILED;
        case 'returned': {
          const { output } = answer;
          const result = new Uint8Array(8);
          const view = new DataView(result.buffer);
          view.setInt32(0, answer.code | 0, true);
          view.setUint32(4, output.byteLength, true);
          memory.write(resultPtr, result);
          const kept = Math.min(output.byteLength, outCap);
          if (kept > 0) memory.write(outPtr, output.subarray(0, kept));
          return output.byteLength > outCap ? ForgeErrno.TOO_SMALL : ForgeErrno.OK;
        }
      }
    },
  );
}
