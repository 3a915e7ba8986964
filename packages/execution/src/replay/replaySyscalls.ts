import { ForgeError, type SyscallArg } from '@forgeone/common';
import type { TraceEvent } from '@forgeone/observer';
import {
  GuestExit,
  exitDeniedError,
  type SyscallDefinition,
  type WasmValue,
} from '../gate/syscallDefinition';
import { callsBefore, replayCallOf, type ReplayCall } from './replayCall';

/** Where a replay first departed from its trace. */
export interface ReplayDivergence {
  /** `name`: another syscall was called; `args`: same syscall, other raw arguments; `exhausted`: the
   * guest called on after the last recorded call; `leftover`: recorded calls were never made;
   * `result`: a re-executed call returned something else; `outcome`: the run ended differently. */
  readonly kind: 'name' | 'args' | 'exhausted' | 'leftover' | 'result' | 'outcome';
  /** Sequence number of the recorded call concerned (the next one expected). */
  readonly seq: number;
  readonly expected: string;
  readonly actual: string;
  /** The recorded call concerned (its arguments and result), when there is one. */
  readonly recorded?: ReplayCall;
  /** The last calls replayed before it (at most ten), oldest first. */
  readonly before: readonly ReplayCall[];
}

/**
 * Thrown from inside the call a replay was told to stop after (`stopAfter`), once its result and
 * memory writes are applied: it unwinds the guest so that its memory and globals can be read
 * exactly as they were when that call returned. Not a ForgeError: it is no failure.
 */
export class ReplayStop extends Error {
  override readonly name = 'ReplayStop';
  constructor(readonly seq: number) {
    super(`replay stopped after call #${seq}`);
  }
}

/** Follows a replay through its trace. */
export interface ReplayCursor {
  /** The divergence that stopped the replay, if any. */
  readonly divergence: ReplayDivergence | undefined;
  /** Recorded calls replayed so far. */
  readonly replayed: number;
  /**
   * Set when the trace turned out to be invalid while replaying (FORGE_TRACE_INVALID): a recorded
   * write that does not fit the memory as it is at that call. The replay is refused with it.
   */
  readonly invalid: ForgeError | undefined;
  /** The recorded call the replay stopped after (`stopAfter`), once it was reached. */
  readonly stopped: TraceEvent | undefined;
  /** Called once the guest is done: reports recorded calls never made (`leftover`). */
  finish(): ReplayDivergence | undefined;
}

/** Where a recorded call is in its trace file: the header is line 1, call #n is line n + 1. */
const traceLine = (seq: number) => `trace line ${seq + 1} (call #${seq})`;

/**
 * Refuses, before anything runs, a trace whose memory writes cannot fit a memory of at most
 * `maxBytes` (the module's declared maximum, capped by the host's page limit).
 */
export function checkReplayWrites(events: readonly TraceEvent[], maxBytes: number): void {
  for (const event of events) {
    event.writes?.forEach((write, i) => {
      const end = write.ptr + Buffer.byteLength(write.bytes, 'base64');
      if (end > maxBytes) {
        throw new ForgeError(
          'FORGE_TRACE_INVALID',
          `${traceLine(event.seq)}: writes.${i}: [${write.ptr}, ${end}) lies past the largest memory this module can have (${maxBytes} bytes)`,
          { details: { line: event.seq + 1, seq: event.seq, field: `writes.${i}` } },
        );
      }
    });
  }
}

export interface ReplaySyscallsOptions {
  /**
   * Calls that are run again for real instead of replayed, because they only produce output and do
   * not change the guest (stdout/stderr writes, forge.log). Their result must match the recording.
   * Default: `forge.log`, and `wasi.fd_write` on fds 1 and 2.
   */
  readonly reexecute?: (event: TraceEvent) => boolean;
  /** Stop the guest right after the recorded call of this seq is answered (see ReplayStop). */
  readonly stopAfter?: number;
}

const rawText = (values: readonly (WasmValue | string)[] | undefined): string =>
  values === undefined ? '?' : `(${values.map(String).join(', ')})`;

/** The default: only output calls are re-executed. */
export function reexecuteOutput(event: TraceEvent): boolean {
  if (event.syscall === 'forge.log') return event.executed;
  if (event.syscall === 'wasi.fd_write') {
    const fd = event.params?.[0];
    return event.executed && (fd === 1 || fd === 2);
  }
  return false;
}

/**
 * Replay definitions: one per real definition, same imports and signatures, but each call is
 * matched against the next recorded call (name and raw arguments) and answered from the trace —
 * its result returned and its memory writes re-applied — instead of executing. The first mismatch
 * stops the guest with FORGE_REPLAY_DIVERGED. Output calls run again (see `reexecute`), so a
 * replay reproduces stdout without recording its bytes.
 */
export function replaySyscalls(
  events: readonly TraceEvent[],
  definitions: readonly SyscallDefinition[],
  options: ReplaySyscallsOptions = {},
): { definitions: SyscallDefinition[]; cursor: ReplayCursor } {
  const reexecute = options.reexecute ?? reexecuteOutput;
  let next = 0;
  let divergence: ReplayDivergence | undefined;
  let invalid: ForgeError | undefined;
  let stopped: TraceEvent | undefined;
  const stopAfter = options.stopAfter;
  const diverge = (kind: Omit<ReplayDivergence, 'before'>): never => {
    const found = { ...kind, before: callsBefore(events, next, kind.seq) };
    divergence ??= found;
    throw new ForgeError(
      'FORGE_REPLAY_DIVERGED',
      `replay diverged at call #${found.seq} (${found.kind}): expected ${found.expected}, got ${found.actual}`,
      { details: { seq: found.seq, kind: found.kind } },
    );
  };
  // The recorded call a replayed call answers to, by the gate's decode/execute pair.
  let current: TraceEvent | undefined;
  const stopIfAsked = (event: TraceEvent): void => {
    if (event.seq !== stopAfter) return;
    stopped = event;
    throw new ReplayStop(event.seq);
  };

  const replayed = definitions.map((real): SyscallDefinition => ({
    module: real.module,
    name: real.name,
    syscall: real.syscall,
    params: real.params,
    results: real.results,
    deniedResult: real.deniedResult,
    faultResult: real.faultResult,
    ...(real.exits ? { exits: true } : {}),
    decode(args): Record<string, SyscallArg> {
      // A guest that caught the stop's unwinding (exception handling) gets no further.
      if (stopped !== undefined) throw new ReplayStop(stopped.seq);
      const event = events[next];
      const actual = `${real.syscall}${rawText(args)}`;
      if (event === undefined) {
        return diverge({ kind: 'exhausted', seq: next + 1, expected: 'no more calls', actual });
      }
      if (event.syscall !== real.syscall) {
        return diverge({
          kind: 'name',
          seq: event.seq,
          expected: `${event.syscall}${rawText(event.params)}`,
          actual,
          recorded: replayCallOf(event),
        });
      }
      if (
        event.params !== undefined &&
        (event.params.length !== args.length || event.params.some((p, i) => String(p) !== String(args[i])))
      ) {
        return diverge({
          kind: 'args',
          seq: event.seq,
          expected: `${event.syscall}${rawText(event.params)}`,
          actual,
          recorded: replayCallOf(event),
        });
      }
      next += 1;
      current = event;
      return { ...event.args };
    },
    execute(invocation): WasmValue | undefined {
      const event = current!;
      current = undefined;
      if (reexecute(event)) {
        const result = real.execute(invocation);
        const recorded = event.result === null ? undefined : event.result;
        if (String(result) !== String(recorded)) {
          diverge({
            kind: 'result',
            seq: event.seq,
            expected: String(recorded),
            actual: String(result),
            recorded: replayCallOf(event),
          });
        }
        stopIfAsked(event);
        return result;
      }
      const writes = event.writes ?? [];
      for (const [i, write] of writes.entries()) {
        const bytes = Buffer.from(write.bytes, 'base64');
        const memory = invocation.context.memory;
        // Checked here, not left to the memory: its GuestFault would answer the guest a fault
        // errno, and the replay would report a divergence at the next call instead of this write.
        if (write.ptr + bytes.byteLength > memory.size) {
          invalid = new ForgeError(
            'FORGE_TRACE_INVALID',
            `${traceLine(event.seq)}: writes.${i}: [${write.ptr}, ${write.ptr + bytes.byteLength}) lies past the end of memory (${memory.size} bytes at that call)`,
            { details: { line: event.seq + 1, seq: event.seq, field: `writes.${i}` } },
          );
          throw invalid;
        }
        memory.write(write.ptr, bytes);
      }
      stopIfAsked(event);
      if (event.outcome === 'exit' && event.action !== 'allow' && !event.executed) {
        throw exitDeniedError(event.syscall, Number(event.result), event.reasons[0]?.message);
      }
      if (event.outcome === 'exit') throw new GuestExit(Number(event.result));
      if (event.outcome === 'limit') {
        throw new ForgeError('FORGE_LIMIT_SYSCALL_RATE', `guest stopped at call #${event.seq}, as recorded`);
      }
      if (event.result === null) return undefined;
      return real.results[0] === 'i64' ? BigInt(event.result) : Number(event.result);
    },
  }));

  return {
    definitions: replayed,
    cursor: {
      get divergence() {
        return divergence;
      },
      get replayed() {
        return next;
      },
      get invalid() {
        return invalid;
      },
      get stopped() {
        return stopped;
      },
      finish() {
        const left = events[next];
        if (left !== undefined && divergence === undefined && stopped === undefined) {
          divergence = {
            kind: 'leftover',
            seq: left.seq,
            expected: `${events.length - next} more call(s), next ${left.syscall}${rawText(left.params)}`,
            actual: 'the guest made no more calls',
            recorded: replayCallOf(left),
            before: callsBefore(events, next, left.seq),
          };
        }
        return divergence;
      },
    },
  };
}
