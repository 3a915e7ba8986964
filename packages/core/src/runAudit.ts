import {
  decisionIdOf,
  type ContainerId,
  type EnforcementMode,
  type IdentityContext,
  type SyscallRequest,
} from '@forgeone/common';
import { TraceBatch, type TraceEvent } from '@forgeone/observer';
import { auditEntryOf, livePolicyVersionOf, type AuditLog } from '@forgeone/trust';
import type { RequestMarks } from './requestMarks';

/** Who made a run's calls and under which mode: what every audit entry of the run carries. */
export interface RunAuditFacts {
  readonly containerId: ContainerId;
  readonly identity: IdentityContext;
  readonly mode: EnforcementMode;
  /** Which API request made which calls (a container's launch and invokes). */
  readonly requests?: RequestMarks;
}

/**
 * Appends one run's decisions to the hash-chained audit log: every call the gate recorded, each
 * once and in order. It is fed the run's trace as it is handed over in batches (so a long run does
 * not hold every decision until its end) and, when the run ends however it ends, the report's
 * trace for whatever no batch carried. The gate's hot path is not involved: entries are built from
 * recorded events, and only buffered (`AuditLog.enqueue`); `finish` makes them durable.
 */
export class RunAudit {
  readonly #log: AuditLog;
  readonly #facts: RunAuditFacts;
  /** The highest sequence number enqueued: events come in order, some of them twice. */
  #through = 0;
  /** Batches handed over unbuilt, not enqueued yet (oldest first). */
  #pending: TraceBatch[] = [];
  #scheduled = false;

  constructor(log: AuditLog, facts: RunAuditFacts) {
    this.#log = log;
    this.#facts = facts;
  }

  /**
   * Enqueues the events not yet audited (synchronous; a batched trace callback). A batch handed
   * over unbuilt (TraceBatch) is only noted: its events are built and enqueued once the current
   * turn ends (or at `finish`), off the guest's call path; it is released then.
   */
  add(events: readonly TraceEvent[] | TraceBatch): void {
    if (events instanceof TraceBatch && !events.built) {
      if (events.lastSeq <= this.#through) {
        events.release();
        return;
      }
      this.#pending.push(events);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#drain());
      }
      return;
    }
    this.#drain();
    this.#enqueue(events instanceof TraceBatch ? events.events() : events);
  }

  /** Builds and enqueues the batches noted, oldest first. */
  #drain(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    for (const batch of pending) {
      this.#enqueue(batch.events(this.#through + 1));
      batch.release();
    }
  }

  #enqueue(events: readonly TraceEvent[]): void {
    const { containerId, identity, mode, requests } = this.#facts;
    for (const event of events) {
      if (event.seq <= this.#through) continue;
      this.#through = event.seq;
      const request: SyscallRequest = {
        containerId,
        identity,
        syscall: event.syscall,
        args: event.args,
        time: event.time,
      };
      // Under the kernel's live policy the decision names the version (and mode) that made it.
      const live = livePolicyVersionOf(event.reasons);
      const requestId = requests?.at(event.seq);
      this.#log.enqueue(
        auditEntryOf(
          request,
          { action: event.action, reasons: event.reasons },
          {
            mode: live?.mode ?? mode,
            action: event.action,
            executed: event.executed,
            ...(live && { policyVersion: live.version }),
            traceSeq: event.seq,
            decisionId: decisionIdOf(containerId, event.seq),
            ...(requestId === undefined ? {} : { requestId }),
          },
        ),
      );
    }
    requests?.forgetThrough(this.#through);
  }

  /** Audits what `trace` holds beyond what was added, and resolves once all of it is durable. */
  async finish(trace: readonly TraceEvent[] = []): Promise<void> {
    this.add(trace);
    await this.#log.flush();
  }
}

/** What takes a run's trace batches: its audit, its durable trace. */
interface BatchTaker {
  add(batch: TraceBatch): void;
}

/**
 * The run's `onTraceLazyBatch`: hands each batch to its audit and its durable trace (each gets its
 * own handle and releases it); undefined when there is neither.
 */
export function lazyBatchTaker(
  audit: BatchTaker | undefined,
  sink: BatchTaker | undefined,
): ((batch: TraceBatch) => void) | undefined {
  if (audit === undefined || sink === undefined) {
    const one = audit ?? sink;
    return one && ((batch) => one.add(batch));
  }
  return (batch) => {
    sink.add(batch.share());
    audit.add(batch);
  };
}
