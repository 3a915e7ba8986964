import type { InstanceOptions, Isolation } from '@forgeone/execution';
import type { ApprovalQueue } from '@forgeone/trust';

/** How long an asked call waits for an operator unless the kernel says otherwise, ms. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 30_000;

/**
 * The kernel's approval queue as a worker guest's approver: the guest blocks at its asked call
 * (deadline paused) until an operator answers or the queue's timeout denies it. Inline there is
 * none: a call cannot wait on the kernel's own thread, so the enforcer denies it at once.
 */
export function approverOf(
  deps: { readonly approvals?: ApprovalQueue | undefined; readonly approvalTimeoutMs?: number | undefined },
  isolation: Isolation,
): Pick<InstanceOptions, 'approver' | 'approverTimeoutMs'> {
  const queue = deps.approvals;
  if (queue === undefined || isolation !== 'worker') return {};
  const timeoutMs = deps.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  return {
    approver: (request, decision) => queue.request(request, decision, timeoutMs),
    // The worker waits a little longer than the queue: the queue's timeout answers first.
    approverTimeoutMs: timeoutMs + 1_000,
  };
}
