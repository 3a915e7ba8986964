import { ForgeErrno } from './forgeErrno';
import type { GuestMemory } from '../gate/guestMemory';
import type { SyscallDefinition } from '../gate/syscallDefinition';
import type { WasmValType } from '../module/wasmModuleInfo';

/** Limits of one guest's input and output buffers. */
export interface ForgeIoLimits {
  /** Largest input the host hands over. Default 1 MiB. */
  readonly maxInputBytes: number;
  /** Most bytes the guest may write to its output per call. Default 1 MiB. */
  readonly maxOutputBytes: number;
}

export const defaultForgeIoLimits: ForgeIoLimits = {
  maxInputBytes: 1024 * 1024,
  maxOutputBytes: 1024 * 1024,
};

/**
 * The bytes a host passes into a guest call (`forge.input_len` / `forge.input_read`) and the bytes
 * the guest passes back (`forge.output_write`). One per instance; the host sets the input before
 * calling an export and takes the output after it.
 */
export class ForgeIoBuffers {
  readonly limits: ForgeIoLimits;
  #input: Uint8Array = new Uint8Array(0);
  #output: Uint8Array[] = [];
  #outputBytes = 0;

  constructor(limits: Partial<ForgeIoLimits> = {}) {
    this.limits = { ...defaultForgeIoLimits, ...limits };
  }

  /** Sets the input of the next call and clears the output. False (and nothing set) when too large. */
  begin(input: Uint8Array | string = new Uint8Array(0)): boolean {
    const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
    if (bytes.byteLength > this.limits.maxInputBytes) return false;
    this.#input = bytes;
    this.#output = [];
    this.#outputBytes = 0;
    return true;
  }

  get input(): Uint8Array {
    return this.#input;
  }

  /** Appends to the output; false (nothing appended) when that would pass maxOutputBytes. */
  appendOutput(bytes: Uint8Array): boolean {
    if (this.#outputBytes + bytes.byteLength > this.limits.maxOutputBytes) return false;
    this.#output.push(bytes);
    this.#outputBytes += bytes.byteLength;
    return true;
  }

  /** Everything the guest wrote since `begin`, as one array. */
  output(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.#output));
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a short guest string (a key, an event or plugin name) for decoding. A range outside guest
 * memory throws GuestFault (the gate answers FAULT); a string too long, not UTF-8 or containing NUL
 * decodes to null, so the policy sees that it is malformed and the call answers INVALID or TOO_LARGE.
 */
export function readGuestText(
  memory: GuestMemory,
  ptr: number,
  len: number,
  maxBytes: number,
): string | null {
  if (len > maxBytes) return null;
  const view = memory.view(ptr, len);
  if (len === 0) return null;
  let text: string;
  try {
    text = utf8.decode(view);
  } catch {
    return null;
  }
  return text.includes('\0') ? null : text;
}

/** The errno for a guest string that `readGuestText` refused. */
export function badTextErrno(len: number, maxBytes: number): ForgeErrno {
  return len > maxBytes ? ForgeErrno.TOO_LARGE : ForgeErrno.INVALID;
}

/** Decoded arguments of a call that has none worth recording: shared, so the hot path allocates nothing. */
export const NO_ARGS: Record<string, never> = Object.freeze({}) as Record<string, never>;

const FORGE_RESULTS: readonly WasmValType[] = Object.freeze(['i32']);

/**
 * A `forge.*` definition: one i32 errno result (DENIED when refused, FAULT on a bad pointer). Say
 * `pureDecode` when `decode` reads only its raw arguments (see SyscallDefinition.pureDecode).
 * Built as one literal of one shape, without spreads: definitions are built per guest.
 */
export function forgeCall(
  name: string,
  params: readonly WasmValType[],
  decode: SyscallDefinition['decode'],
  execute: SyscallDefinition['execute'],
  options: { readonly pureDecode?: boolean } = {},
): SyscallDefinition {
  return {
    module: 'forge',
    name,
    syscall: `forge.${name}`,
    params,
    results: FORGE_RESULTS,
    decode,
    execute,
    deniedResult: ForgeErrno.DENIED,
    faultResult: ForgeErrno.FAULT,
    pureDecode: options.pureDecode === true,
  };
}
