import { ForgeError, type ContainerId } from '@forgeone/common';
import { ForgeErrno } from './forgeErrno';
import { badTextErrno, forgeCall, readGuestText } from './forgeBuffers';
import { u32 } from '../gate/internal/wasmValues';
import { GuestFault } from '../gate/guestMemory';
import type { SyscallDefinition } from '../gate/syscallDefinition';

/** An event a guest emitted with `forge.emit_event`. */
export interface GuestEvent {
  readonly containerId: ContainerId;
  /** Matches EVENT_NAME_PATTERN, e.g. `order.created`. */
  readonly name: string;
  /** A copy of the guest's bytes. */
  readonly payload: Uint8Array;
}

export interface ForgeEventSyscallOptions {
  /** Receives each event, synchronously, while the guest waits; if it throws the guest gets UNAVAILABLE. */
  readonly sink: (event: GuestEvent) => void;
  /** Largest payload in bytes. Default 64 KiB. */
  readonly maxPayloadBytes?: number;
  /** Events accepted from this set of definitions (one run); QUOTA after. Default 10,000. */
  readonly maxEvents?: number;
}

/** Event names: lower case, dot-separated words; what policies and `event:emit:` capabilities name. */
export const EVENT_NAME_PATTERN = /^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)*$/;
const MAX_NAME_BYTES = 64;

/** Names of the event syscalls. */
export const forgeEventSyscallNames = ['forge.emit_event'] as const;

/**
 * `forge.emit_event(name_ptr, name_len, payload_ptr, payload_len) -> errno`: hands a named payload
 * to `sink`. Policies see `name` (null when malformed) and `len`.
 */
export function forgeEventSyscalls(options: ForgeEventSyscallOptions): SyscallDefinition[] {
  const maxPayload = options.maxPayloadBytes ?? 64 * 1024;
  const maxEvents = options.maxEvents ?? 10_000;
  for (const [field, value] of Object.entries({ maxPayloadBytes: maxPayload, maxEvents })) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ForgeError('FORGE_INVALID_INPUT', `forgeEventSyscalls: ${field} must be an integer >= 0`, {
        details: { field },
      });
    }
  }
  let emitted = 0;
  return [
    forgeCall(
      'emit_event',
      ['i32', 'i32', 'i32', 'i32'],
      ([namePtr, nameLen, , len], memory) => {
        const name = readGuestText(memory, u32(namePtr), u32(nameLen), MAX_NAME_BYTES);
        return { name: name !== null && EVENT_NAME_PATTERN.test(name) ? name : null, len: u32(len) };
      },
      ({ args, decoded, context }) => {
        const nameLen = args[1]!;
        const payloadPtr = args[2]!;
        const payloadLen = args[3]!;
        const name = decoded.name;
        if (typeof name !== 'string') return badTextErrno(u32(nameLen), MAX_NAME_BYTES);
        const length = u32(payloadLen);
        if (length > maxPayload) return ForgeErrno.TOO_LARGE;
        const payload = context.memory.read(u32(payloadPtr), length);
        if (emitted >= maxEvents) return ForgeErrno.QUOTA;
        try {
          options.sink({ containerId: context.containerId, name, payload });
        } catch (error) {
          if (error instanceof GuestFault) throw error;
          return ForgeErrno.UNAVAILABLE;
        }
        emitted += 1;
        return ForgeErrno.OK;
      },
    ),
  ];
}
