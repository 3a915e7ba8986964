import { u32 } from '../gate/internal/wasmValues';
import { ForgeErrno } from './forgeErrno';
import { badTextErrno, forgeCall, readGuestText } from './forgeBuffers';
import type { SyscallDefinition } from '../gate/syscallDefinition';

/** Names of the secret syscalls. */
export const forgeSecretSyscallNames = ['forge.secret_read'] as const;

/** Secret names as the config package's secret store takes them (a letter, then `A-Za-z0-9._-`, at most 64). */
export const SECRET_NAME_BYTES = 64;

/** The secret values one launch was given, by name (resolved by the host before the guest starts). */
export type GuestSecrets = ReadonlyMap<string, Uint8Array>;

/**
 * `forge.secret_read(name_ptr, name_len, val_ptr, val_cap, len_out)`: copies secret `name`'s value
 * to val_ptr and its length to len_out. Policies see `{ name }` (null when malformed); a package
 * is granted a name by `secret:read:<name>`. A name the launch was not given answers NOT_FOUND.
 *
 * The value is written into guest memory unrecorded: a trace keeps the call, the name, the capacity
 * and the length, never the bytes (so a replay of the call leaves the guest's buffer as it was).
 */
export function forgeSecretSyscalls(secrets: GuestSecrets | undefined): SyscallDefinition[] {
  return [
    forgeCall(
      'secret_read',
      ['i32', 'i32', 'i32', 'i32', 'i32'],
      (args, memory) => ({
        name: readGuestText(memory, u32(args[0]), u32(args[1]), SECRET_NAME_BYTES),
        cap: u32(args[3]),
      }),
      ({ args, decoded, context }) => {
        const name = decoded.name;
        if (typeof name !== 'string') return badTextErrno(u32(args[1]), SECRET_NAME_BYTES);
        const { memory } = context;
        const [, , valPtr, valCap, lenOut] = args.map(u32) as [number, number, number, number, number];
        // Both output ranges first, so that a bad pointer leaves guest memory untouched.
        memory.view(valPtr, valCap);
        memory.view(lenOut, 4);
        const value = secrets?.get(name);
        if (value === undefined) return ForgeErrno.NOT_FOUND;
        memory.writeU32(lenOut, value.byteLength);
        if (value.byteLength > valCap) return ForgeErrno.TOO_SMALL;
        memory.writeUnrecorded(valPtr, value);
        return ForgeErrno.OK;
      },
    ),
  ];
}
