import { ForgeError, type SyscallArg } from '@forgeone/common';
import { ForgeErrno } from './forgeErrno';
import { badTextErrno, forgeCall, readGuestText } from './forgeBuffers';
import { u32 } from '../gate/internal/wasmValues';
import { KvRefusal, type KvBackend } from './forgeKvBackend';
import { GuestFault, type GuestMemory } from '../gate/guestMemory';
import type { SyscallDefinition, SyscallInvocation, WasmValue } from '../gate/syscallDefinition';

export interface ForgeKvSyscallOptions {
  /**
   * The container's namespace. Without one the calls still exist (a guest that imports them
   * links), policies see `namespace: null`, and an allowed call answers DENIED: nothing to store in.
   */
  readonly backend: KvBackend | undefined;
  /** Longest key in UTF-8 bytes. Default 256, at most 1,024. */
  readonly maxKeyBytes?: number;
  /** Largest value in bytes. Default 64 KiB, at most 512 KiB (a stored record holds it as base64). */
  readonly maxValueBytes?: number;
  /** Told when the backend throws; the guest gets UNAVAILABLE (or a KvRefusal's errno). */
  readonly onBackendError?: (error: unknown) => void;
}

/** Names of the kv syscalls. */
export const forgeKvSyscallNames = ['forge.kv_get', 'forge.kv_put', 'forge.kv_delete'] as const;

const HARD_MAX_KEY = 1024;
/** The largest value any `forge.kv_put` can store (`maxValueBytes` is at most this). */
export const KV_MAX_VALUE_BYTES = 512 * 1024;

function limit(name: string, value: number | undefined, fallback: number, max: number): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 1 || chosen > max) {
    throw new ForgeError('FORGE_KV_CONFIG_INVALID', `${name} must be an integer from 1 to ${max}`, {
      details: { field: name },
    });
  }
  return chosen;
}

/**
 * `forge.kv_get`, `forge.kv_put` and `forge.kv_delete` on one container's namespace. Keys are UTF-8
 * strings (no NUL), values bytes. Policies see `namespace` and `key` (null when malformed); the
 * quota is the backend's (QUOTA past it). See the package README for the ABI.
 */
export function forgeKvSyscalls(options: ForgeKvSyscallOptions): SyscallDefinition[] {
  const { backend } = options;
  const maxKey = limit('maxKeyBytes', options.maxKeyBytes, 256, HARD_MAX_KEY);
  const maxValue = limit('maxValueBytes', options.maxValueBytes, 64 * 1024, KV_MAX_VALUE_BYTES);
  const namespace = backend?.namespace ?? null;

  const decodeKey = (args: readonly WasmValue[], memory: GuestMemory): Record<string, SyscallArg> => ({
    namespace,
    key: readGuestText(memory, u32(args[0]), u32(args[1]), maxKey),
  });

  /** Runs `body` with the decided key; a malformed key or a failing backend becomes an errno. */
  const withKey =
    (body: (key: string, invocation: SyscallInvocation, kv: KvBackend) => ForgeErrno) =>
    (invocation: SyscallInvocation): ForgeErrno => {
      if (backend === undefined) return ForgeErrno.DENIED;
      const key = invocation.decoded.key;
      if (typeof key !== 'string') return badTextErrno(u32(invocation.args[1]), maxKey);
      try {
        return body(key, invocation, backend);
      } catch (error) {
        if (error instanceof GuestFault) throw error;
        options.onBackendError?.(error);
        return error instanceof KvRefusal ? error.errno : ForgeErrno.UNAVAILABLE;
      }
    };

  return [
    forgeCall(
      'kv_get',
      ['i32', 'i32', 'i32', 'i32', 'i32'],
      // (key_ptr, key_len, val_ptr, val_cap, len_out): copies the value to val_ptr, its length to len_out.
      (args, memory) => ({ ...decodeKey(args, memory), cap: u32(args[3]) }),
      withKey((key, { args, context }, kv) => {
        const { memory } = context;
        const [, , valPtr, valCap, lenOut] = args.map(u32) as [number, number, number, number, number];
        // Check both output ranges first so that a bad pointer leaves guest memory untouched.
        memory.view(valPtr, valCap);
        memory.view(lenOut, 4);
        const value = kv.get(key);
        if (value === undefined) return ForgeErrno.NOT_FOUND;
        memory.writeU32(lenOut, value.byteLength);
        if (value.byteLength > valCap) return ForgeErrno.TOO_SMALL;
        memory.write(valPtr, value);
        return ForgeErrno.OK;
      }),
    ),
    forgeCall(
      'kv_put',
      ['i32', 'i32', 'i32', 'i32'],
      // (key_ptr, key_len, val_ptr, val_len): stores val_len bytes at val_ptr under the key.
      (args, memory) => ({ ...decodeKey(args, memory), len: u32(args[3]) }),
      withKey((key, { args, context }, kv) => {
        const length = u32(args[3]);
        if (length > maxValue) return ForgeErrno.TOO_LARGE;
        const value = context.memory.read(u32(args[2]), length);
        return kv.put(key, value) === 'ok' ? ForgeErrno.OK : ForgeErrno.QUOTA;
      }),
    ),
    forgeCall(
      'kv_delete',
      ['i32', 'i32'],
      // (key_ptr, key_len): removes the key.
      decodeKey,
      withKey((key, _invocation, kv) => (kv.delete(key) ? ForgeErrno.OK : ForgeErrno.NOT_FOUND)),
    ),
  ];
}
