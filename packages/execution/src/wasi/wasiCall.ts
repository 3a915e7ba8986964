import type { SyscallArg } from '@forgeone/common';
import { GuestFault, type GuestMemory } from '../gate/guestMemory';
import { GuestExit, type SyscallDefinition, type WasmValue } from '../gate/syscallDefinition';
import type { WasmValType } from '../module/wasmModuleInfo';
import { Errno } from './wasiConstants';
import { errnoOf } from './wasiErrno';

export const WASI_MODULE = 'wasi_snapshot_preview1';

/** What the gate returns to the guest for a refused WASI call: the capability is not granted. */
export const WASI_DENIED_ERRNO = Errno.NOTCAPABLE;

/** One WASI function before it becomes a SyscallDefinition. */
export interface WasiCallSpec {
  readonly params: readonly WasmValType[];
  /** True when the call may wait (poll_oneoff): see SyscallDefinition.blocking. */
  readonly blocking?: boolean;
  /** True when the call ends the guest (proc_exit): see SyscallDefinition.exits. */
  readonly exits?: boolean;
  /** Omitted: one i32 errno. `[]` for functions that do not return (proc_exit). */
  readonly results?: readonly WasmValType[];
  /** Policy-relevant arguments: fds, guest paths, sizes, flags; never buffer contents. */
  decode?(args: readonly WasmValue[], memory: GuestMemory): Record<string, SyscallArg>;
  /** Performs the call; returns nothing for success or throws (WasiErrnoError, GuestFault, GuestExit). */
  run(args: readonly WasmValue[], memory: GuestMemory, decoded: Readonly<Record<string, SyscallArg>>): void;
}

/**
 * Wraps a WASI function as a SyscallDefinition. Whatever goes wrong inside becomes an errno: only
 * GuestFault (bad pointer, which the gate turns into EFAULT) and GuestExit leave it as exceptions.
 */
export function defineWasiCall(name: string, spec: WasiCallSpec): SyscallDefinition {
  const results = spec.results ?? (['i32'] as const);
  const returnsErrno = results.length === 1;
  return {
    module: WASI_MODULE,
    name,
    syscall: `wasi.${name}`,
    params: spec.params,
    results,
    decode(args, memory) {
      if (spec.decode === undefined) return {};
      try {
        return spec.decode(args, memory);
      } catch (error) {
        if (error instanceof GuestFault) throw error;
        return { decodeErrno: errnoOf(error) };
      }
    },
    execute({ context, args, decoded }) {
      try {
        spec.run(args, context.memory, decoded);
        return returnsErrno ? Errno.SUCCESS : undefined;
      } catch (error) {
        if (error instanceof GuestFault || error instanceof GuestExit) throw error;
        return returnsErrno ? errnoOf(error) : undefined;
      }
    },
    deniedResult: returnsErrno ? WASI_DENIED_ERRNO : undefined,
    faultResult: returnsErrno ? Errno.FAULT : undefined,
    ...(spec.blocking ? { blocking: true } : {}),
    ...(spec.exits ? { exits: true } : {}),
  };
}

/** A group of WASI functions by import name, each made only when a guest imports it. */
export type WasiCallTable = Readonly<Record<string, () => WasiCallSpec>>;

/**
 * Defines the functions of `table` that `only` names (all of them when it is undefined): a guest
 * gets definitions for the WASI functions it imports, not for all 46.
 */
export function defineWasiCalls(
  only: ReadonlySet<string> | undefined,
  table: WasiCallTable,
): SyscallDefinition[] {
  const definitions: SyscallDefinition[] = [];
  // The table's own names, in order: an import named `constructor` or `__proto__` finds nothing.
  for (const name of Object.keys(table)) {
    if (only === undefined || only.has(name)) definitions.push(defineWasiCall(name, table[name]!()));
  }
  return definitions;
}
