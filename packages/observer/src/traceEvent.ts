import type { DecisionAction, DecisionReason, SyscallArg } from '@forgeone/common';

/** One host write into guest memory during a call: enough to re-apply it on replay. */
export interface MemoryWrite {
  readonly ptr: number;
  /** The bytes written, base64-encoded (JSON-safe). */
  readonly bytes: string;
}

/** What happened to one guest call: the unit of a trace. */
export interface TraceEvent {
  /** 1, 2, 3... per container, in call order. */
  readonly seq: number;
  readonly syscall: string;
  readonly args: Readonly<Record<string, SyscallArg>>;
  /**
   * The raw WebAssembly arguments (pointers, lengths, fds), i64 as bigint in memory and as a
   * decimal string in a trace file. Replay matches calls on these.
   */
  readonly params?: readonly (number | bigint | string)[];
  readonly action: DecisionAction;
  /** True when the call ran (allowed, or let through by audit/permissive mode). */
  readonly executed: boolean;
  readonly reasons: readonly DecisionReason[];
  /** Raw result returned to the guest (bigints as decimal strings); null for none. */
  readonly result: number | string | null;
  /** Time spent in the host, in nanoseconds; -1 when this call was not sampled. */
  readonly durationNs: number;
  /** Wall-clock time of the call (ms since epoch, from the kernel clock). */
  readonly time: number;
  /** Host writes into guest memory, when write recording is on. */
  readonly writes?: readonly MemoryWrite[];
  /** Set when the call ended the guest (proc_exit), faulted, or hit a limit that stopped the guest. */
  readonly outcome?: 'exit' | 'fault' | 'limit';
}
