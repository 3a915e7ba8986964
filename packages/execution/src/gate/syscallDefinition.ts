import { ForgeError, type ContainerId, type IdentityContext, type SyscallArg } from '@forgeone/common';
import type { WasmValType } from '../module/wasmModuleInfo';
import type { GuestMemory } from './guestMemory';

/** A raw argument or result as JavaScript sees it: i64 is a bigint, the rest numbers. */
export type WasmValue = number | bigint;

/** What a syscall implementation knows about its caller. */
export interface SyscallContext {
  readonly containerId: ContainerId;
  readonly identity: IdentityContext;
  readonly memory: GuestMemory;
}

/** One call, as handed to an implementation after the gate allowed it. */
export interface SyscallInvocation {
  readonly context: SyscallContext;
  readonly args: readonly WasmValue[];
  /** What `decode` returned for these arguments. */
  readonly decoded: Readonly<Record<string, SyscallArg>>;
}

/**
 * One host function a guest can import, WASI and forge.* alike. The gate wraps every definition the
 * same way (decide, enforce, execute, record, learn); a definition only decodes and executes.
 * All writes into guest memory must go through `context.memory`, so that replay can re-apply them.
 */
export interface SyscallDefinition {
  /** Import module name: `forge` or `wasi_snapshot_preview1`. */
  readonly module: string;
  /** Import field name, e.g. `log` or `fd_write`. */
  readonly name: string;
  /** The name policies and traces use, e.g. `forge.log` or `wasi.fd_write`. */
  readonly syscall: string;
  readonly params: readonly WasmValType[];
  /** At most one result in this ABI. */
  readonly results: readonly WasmValType[];
  /**
   * Decodes raw arguments into named values (paths read from memory, fds, sizes) for policy and
   * trace. Whole buffers are not included. May throw GuestFault.
   */
  decode(args: readonly WasmValue[], memory: GuestMemory): Record<string, SyscallArg>;
  /**
   * True when `decode` reads only its raw arguments, never guest memory. The gate may then decode
   * lazily: a call whose decision is reused is traced with its raw params and decoded when the
   * trace is read, and `execute` gets `decoded` computed on first access.
   */
  readonly pureDecode?: boolean;
  /** Runs the call and returns its raw result (undefined when `results` is empty). May throw GuestFault or GuestExit. */
  execute(invocation: SyscallInvocation): WasmValue | undefined;
  /** What the guest gets when the gate refuses the call (an errno such as EACCES). */
  readonly deniedResult: WasmValue | undefined;
  /** What the guest gets when a pointer is out of bounds (an errno such as EFAULT). */
  readonly faultResult: WasmValue | undefined;
  /** True when the call may wait (sleep, poll): the gate then reads the clock again afterwards. */
  readonly blocking?: boolean;
  /**
   * True for a call that ends the guest (proc_exit; its first param is the exit code). Denied, it
   * still ends the guest — the guest asked to stop, and must not run on past a call that does not
   * return — as a policy violation: trapped with FORGE_EXIT_DENIED, never a success.
   */
  readonly exits?: boolean;
}

/**
 * Thrown by `proc_exit` (and anything else that ends the guest on purpose) to unwind the guest's
 * stack. The gate records it and lets it through; the host turns it into an exit code.
 */
export class GuestExit extends Error {
  override readonly name = 'GuestExit';
  constructor(readonly exitCode: number) {
    super(`guest exited with code ${exitCode}`);
  }
}

/**
 * How a guest that asked to exit (`exitCode`) through a denied call ends: trapped as a policy
 * violation. The same error in both isolations and in a replay of the run.
 */
export function exitDeniedError(syscall: string, exitCode: number, why: string | undefined): ForgeError {
  return new ForgeError(
    'FORGE_EXIT_DENIED',
    `guest stopped: it asked to exit with code ${exitCode} but ${syscall} was denied${why ? ` (${why})` : ''}`,
    { details: { syscall, exitCode } },
  );
}
