import type { SyscallArg } from '@forgeone/common';
import type { TraceEvent } from '@forgeone/observer';

/** A JSON-safe argument: i64 values and bigints are decimal strings. */
export type ReplayArg = string | number | boolean | null;

/** One recorded call as a forensic report shows it (JSON-safe: bigints as decimal strings). */
export interface ReplayCall {
  readonly seq: number;
  readonly syscall: string;
  /** The decoded arguments the policy saw (paths, fds, sizes). */
  readonly args: Readonly<Record<string, ReplayArg>>;
  /** The raw WebAssembly arguments, when recorded. */
  readonly params?: readonly (number | string)[];
  /** The raw result returned to the guest; null for none. */
  readonly result: number | string | null;
}

/** How many recorded calls a divergence report shows before the divergent one. */
export const DIVERGENCE_CONTEXT_CALLS = 10;

const jsonArg = (value: SyscallArg): ReplayArg => (typeof value === 'bigint' ? value.toString() : value);

/** A recorded call, JSON-safe. */
export function replayCallOf(event: TraceEvent): ReplayCall {
  const args: Record<string, ReplayArg> = {};
  for (const [key, value] of Object.entries(event.args)) args[key] = jsonArg(value);
  return {
    seq: event.seq,
    syscall: event.syscall,
    args,
    ...(event.params ? { params: event.params.map((p) => (typeof p === 'bigint' ? p.toString() : p)) } : {}),
    result: event.result,
  };
}

/** The last `count` of the first `replayed` recorded calls whose seq is below `seq`. */
export function callsBefore(
  events: readonly TraceEvent[],
  replayed: number,
  seq: number,
  count = DIVERGENCE_CONTEXT_CALLS,
): ReplayCall[] {
  let end = Math.min(replayed, events.length);
  while (end > 0 && events[end - 1]!.seq >= seq) end -= 1;
  return events.slice(Math.max(0, end - count), end).map(replayCallOf);
}

/**
 * A call as one line: `#3 wasi.fd_read(fd=4, ...) -> 0`. Arguments can be long guest text (paths):
 * past `maxArgsChars` they are cut, with an ellipsis.
 */
export function replayCallLine(call: ReplayCall, maxArgsChars = 160): string {
  let args = Object.entries(call.args)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? JSON.stringify(value) : String(value)}`)
    .join(', ');
  if (args.length > maxArgsChars) args = `${args.slice(0, maxArgsChars)}…`;
  return `#${call.seq} ${call.syscall}(${args}) -> ${call.result === null ? 'none' : call.result}`;
}
