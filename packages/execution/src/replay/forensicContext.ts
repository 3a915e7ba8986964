import { ForgeError } from '@forgeone/common';
import type { MemoryRegion, RecordedTrace, TraceEvent } from '@forgeone/observer';
import type { GuestMemory } from '../gate/guestMemory';
import { guestGlobals, type GuestGlobal } from './guestGlobals';
import { readMemoryRegion } from './memoryRegion';
import { replayCallOf, type ReplayCall } from './replayCall';
import { replayFdTable, type ReplayFd } from './replayFdTable';
import type { ReplayDivergence } from './replaySyscalls';

/**
 * How the replayed guest ended: the host's RunOutcome, seen structurally (replay sits below
 * isolation in the package's layers).
 */
export interface ReplayOutcome {
  readonly status: 'returned' | 'exited' | 'trapped';
  readonly exitCode: number | null;
  readonly error?: ForgeError;
}

/** Where to stop: a call's seq, or the name of a syscall (its next call after the current point). */
export type ReplayUntil = number | string;

/** What one replay run to a stop point left: the guest unwound right after the call. */
export interface ReplayRunToPoint {
  readonly stopped: TraceEvent | undefined;
  readonly divergence: ReplayDivergence | undefined;
  readonly outcome: ReplayOutcome;
  readonly replayed: number;
  readonly exports: WebAssembly.Exports | undefined;
  /** The global index of a named export (from the module's export section). */
  readonly globalIndex?: (name: string) => number | undefined;
  readonly memory: GuestMemory;
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  readonly logs: readonly string[];
}

/** A replayed guest held right after one recorded call returned: read its memory, globals, fds. */
export interface ReplayPoint {
  readonly kind: 'stopped';
  /** The call the guest is stopped after (its result and memory writes applied). */
  readonly reached: ReplayCall;
  /** Recorded calls replayed to get here. */
  readonly replayed: number;
  /** Guest memory size in bytes (0 without a memory). */
  readonly memorySize: number;
  /** Output the guest produced up to here (output calls are re-run by a replay). */
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  readonly logs: readonly string[];
  /** Copies [offset, offset + length) of guest memory (FORGE_REPLAY_MEMORY outside it or past 1 MiB). */
  readMemory(offset: number, length: number): MemoryRegion;
  /** Every global the guest exports (see `guestGlobals`). */
  globals(): GuestGlobal[];
  /** The WASI descriptor table as the recorded calls up to here built it (see `replayFdTable`). */
  fdTable(): ReplayFd[];
}

/** The replay departed from the trace before it reached the stop point. */
export interface ReplayDiverged {
  readonly kind: 'diverged';
  readonly divergence: ReplayDivergence;
  readonly outcome: ReplayOutcome;
  readonly replayed: number;
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  readonly logs: readonly string[];
}

/**
 * Steps through a recorded run: `step(until)` replays to a call and holds the guest there for
 * reading; a later `step` continues to another point (earlier ones too).
 *
 * Continuing re-runs the replay from the start to the new point rather than keeping the guest
 * suspended inside a host call (a worker blocked on Atomics.wait). A replay reads nothing from
 * the world and answers every call from the trace, so a re-run reaches exactly the same state
 * (memory, globals, output): nothing is lost by not keeping the old one. In exchange the guest
 * stays inline with the replay's own gate — no worker, no second thread holding a guest half-way
 * through a call, nothing left blocked when the reader walks away — and stepping backwards comes
 * free. The cost is re-running the calls before the point, which a replay does at memory speed.
 */
export class ForensicContext {
  readonly #trace: RecordedTrace;
  readonly #runTo: (seq: number) => Promise<ReplayRunToPoint>;
  #position = 0;

  constructor(trace: RecordedTrace, runTo: (seq: number) => Promise<ReplayRunToPoint>) {
    this.#trace = trace;
    this.#runTo = runTo;
  }

  /** Seq of the call the last successful `step` stopped after; 0 before any. */
  get position(): number {
    return this.#position;
  }

  /**
   * The seq `until` names: a number is a seq of the trace; a name (`wasi.fd_write`, or `fd_write`
   * for short) is its next call after the current point. FORGE_REPLAY_RANGE when there is none.
   */
  resolve(until: ReplayUntil): number {
    const events = this.#trace.events;
    const last = events.at(-1)?.seq ?? 0;
    if (typeof until === 'number') {
      if (!Number.isSafeInteger(until) || until < 1) {
        throw new ForgeError('FORGE_INVALID_INPUT', `--until ${until}: a call's seq is a whole number >= 1`, {
          details: { field: 'until' },
        });
      }
      if (!events.some((e) => e.seq === until)) {
        throw new ForgeError(
          'FORGE_REPLAY_RANGE',
          events.length === 0
            ? `--until ${until}: the trace has no calls`
            : `--until ${until}: the trace has calls #${events[0]!.seq} to #${last}`,
          { details: { until, last } },
        );
      }
      return until;
    }
    const matches = (e: TraceEvent) => e.syscall === until || e.syscall.endsWith(`.${until}`);
    const next = events.find((e) => e.seq > this.#position && matches(e));
    if (next === undefined) {
      const anywhere = events.some(matches);
      throw new ForgeError(
        'FORGE_REPLAY_RANGE',
        anywhere
          ? `--until ${until}: no call of ${until} after call #${this.#position} (the trace ends at #${last})`
          : `--until ${until}: the trace has no call of ${until}`,
        { details: { until, position: this.#position } },
      );
    }
    return next.seq;
  }

  /** Replays to the call `until` names and stops right after it, or reports where it diverged first. */
  async step(until: ReplayUntil): Promise<ReplayPoint | ReplayDiverged> {
    const seq = this.resolve(until);
    const run = await this.#runTo(seq);
    const { stopped, memory, exports, stdout, stderr, logs, replayed } = run;
    if (stopped === undefined) {
      const divergence = run.divergence ?? {
        kind: 'outcome',
        seq,
        expected: `a call #${seq}`,
        actual: `${run.outcome.status} before it`,
        before: [],
      };
      return { kind: 'diverged', divergence, outcome: run.outcome, replayed, stdout, stderr, logs };
    }
    if (exports === undefined) {
      // Memory and globals exist only once instantiation finished: a point inside the start
      // function would show an empty guest, which is not what it was.
      throw new ForgeError(
        'FORGE_INSTANCE_STATE',
        `call #${seq} is made by the module's start function, before the guest's memory and globals can be read; stop at a later call`,
        { details: { seq } },
      );
    }
    this.#position = seq;
    const events = this.#trace.events;
    return {
      kind: 'stopped',
      reached: replayCallOf(stopped),
      replayed,
      memorySize: memory.bound ? memory.size : 0,
      stdout,
      stderr,
      logs,
      readMemory: (offset, length) => readMemoryRegion(memory, offset, length),
      globals: () => (exports === undefined ? [] : guestGlobals(exports, run.globalIndex)),
      fdTable: () => replayFdTable(events, seq),
    };
  }
}
