import { randomUUID } from 'node:crypto';
import { ForgeError, systemClock, type Clock, type Decision, type SyscallRequest } from '@forgeone/common';

/** A call waiting for an operator. */
export interface PendingApproval {
  readonly id: string;
  readonly request: SyscallRequest;
  /** The policy's `ask` decision, with its reasons (what the operator is asked about). */
  readonly decision: Decision;
  readonly requestedAt: number;
  /** When it is denied unless answered. */
  readonly expiresAt: number;
}

/** How an approval ended. */
export interface ApprovalOutcome {
  readonly id: string;
  readonly verdict: 'allow' | 'deny';
  /** The operator who answered, or `timeout` / `closed`. */
  readonly by: string;
  readonly reason: string;
  readonly answeredAt: number;
}

export type ApprovalEvent =
  | { readonly type: 'requested'; readonly approval: PendingApproval }
  | { readonly type: 'settled'; readonly approval: PendingApproval; readonly outcome: ApprovalOutcome };

export interface ApprovalQueueOptions {
  /** Time of requests and answers. Default: the system clock (timeouts use real timers). */
  readonly clock?: Clock;
  /** More pending approvals than this are denied at once. Default 1,000. */
  readonly maxPending?: number;
  /** How many settled outcomes `outcome(id)` remembers. Default 1,000. */
  readonly history?: number;
}

interface Entry {
  readonly approval: PendingApproval;
  readonly resolve: (verdict: 'allow' | 'deny') => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * The operator's side of `ask` (main thread): each asked call waits here until an operator
 * answers or its timeout denies it. The enforcer's synchronous approver hook is connected to
 * `request` by the execution layer (under worker isolation the guest thread blocks meanwhile).
 */
export class ApprovalQueue {
  readonly #clock: Clock;
  readonly #maxPending: number;
  readonly #historySize: number;
  readonly #pending = new Map<string, Entry>();
  readonly #history = new Map<string, ApprovalOutcome>();
  readonly #listeners = new Set<(event: ApprovalEvent) => void>();

  constructor(options: ApprovalQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxPending = options.maxPending ?? 1000;
    this.#historySize = options.history ?? 1000;
  }

  /** Queues a call for approval; resolves with the verdict (`deny` on timeout). Never rejects. */
  request(request: SyscallRequest, decision: Decision, timeoutMs: number): Promise<'allow' | 'deny'> {
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        `approval timeout must be a number of ms >= 0, got ${timeoutMs}`,
      );
    }
    const now = this.#clock.now();
    const approval: PendingApproval = {
      id: randomUUID(),
      request,
      decision,
      requestedAt: now,
      expiresAt: now + timeoutMs,
    };
    if (this.#pending.size >= this.#maxPending) {
      this.#remember({
        id: approval.id,
        verdict: 'deny',
        by: 'queue',
        reason: `${this.#maxPending} approvals are already pending; denied without asking`,
        answeredAt: now,
      });
      return Promise.resolve('deny');
    }
    return new Promise((resolve) => {
      const timer = setTimeout(
        () =>
          this.#settle(approval.id, 'deny', 'timeout', `no operator answered within ${timeoutMs} ms; denied`),
        timeoutMs,
      );
      this.#pending.set(approval.id, { approval, resolve, timer });
      this.#emit({ type: 'requested', approval });
    });
  }

  /** Approvals waiting for an answer, oldest first. */
  pending(): PendingApproval[] {
    return [...this.#pending.values()].map((e) => e.approval);
  }

  /**
   * Answers a pending approval. Throws FORGE_APPROVAL_SETTLED when it was answered already (a
   * recent one), FORGE_APPROVAL_UNKNOWN when no approval has that id.
   */
  answer(id: string, verdict: 'allow' | 'deny', operator = 'operator', note?: string): ApprovalOutcome {
    if (verdict !== 'allow' && verdict !== 'deny') {
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        `an approval is answered with allow or deny, not ${String(verdict)}`,
      );
    }
    const outcome = this.#settle(
      id,
      verdict,
      operator,
      `${verdict === 'allow' ? 'approved' : 'refused'} by ${operator}${note ? `: ${note}` : ''}`,
    );
    if (!outcome) {
      const settled = this.#history.get(id);
      throw settled
        ? new ForgeError(
            'FORGE_APPROVAL_SETTLED',
            `approval ${id} was already settled (${settled.verdict} by ${settled.by})`,
            { details: { id, verdict: settled.verdict, by: settled.by } },
          )
        : new ForgeError(
            'FORGE_APPROVAL_UNKNOWN',
            `no pending approval has id ${id}; list the pending ones`,
            {
              details: { id },
            },
          );
    }
    return outcome;
  }

  /** How a settled approval ended (recent ones only). */
  outcome(id: string): ApprovalOutcome | undefined {
    return this.#history.get(id);
  }

  /** Subscribes to requests and settlements; returns an unsubscribe function. */
  onChange(listener: (event: ApprovalEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Denies everything still pending (at shutdown). */
  close(reason = 'the approval queue was closed'): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, 'deny', 'closed', reason);
  }

  #settle(id: string, verdict: 'allow' | 'deny', by: string, reason: string): ApprovalOutcome | undefined {
    const entry = this.#pending.get(id);
    if (!entry) return undefined;
    this.#pending.delete(id);
    clearTimeout(entry.timer);
    const outcome: ApprovalOutcome = { id, verdict, by, reason, answeredAt: this.#clock.now() };
    this.#remember(outcome);
    entry.resolve(verdict);
    this.#emit({ type: 'settled', approval: entry.approval, outcome });
    return outcome;
  }

  #remember(outcome: ApprovalOutcome): void {
    if (this.#history.size >= this.#historySize) {
      const oldest = this.#history.keys().next().value;
      if (oldest !== undefined) this.#history.delete(oldest);
    }
    this.#history.set(outcome.id, outcome);
  }

  #emit(event: ApprovalEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A failing listener must not leave an approval unsettled or stop the others.
      }
    }
  }
}
