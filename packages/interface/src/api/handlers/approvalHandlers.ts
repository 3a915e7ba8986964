import type { PendingApproval } from '@forgeone/trust';
import type { approvalRoutes } from '../contract/approvalRoutes';
import type { ApiCall, ApiContext, Handlers } from '../apiContext';

/** Longest argument value shown in a summary, characters. */
const ARG_CHARS = 200;

/** The kernel's approval queue: the calls an `ask` decision holds, and their answers. */
export function approvalHandlers(ctx: ApiContext): Handlers<typeof approvalRoutes> {
  const queue = ctx.kernel.approvals;
  const by = (call: ApiCall) => `api:${call.token?.name ?? 'anonymous'}`;
  const answer = (id: string, verdict: 'allow' | 'deny', call: ApiCall, reason: string | undefined) => {
    const held = queue.pending().find((p) => p.id === id);
    const outcome = queue.answer(id, verdict, by(call), reason);
    // The request's audit record names the call it let through or refused.
    call.caused({
      approvalId: id,
      verdict,
      ...(held === undefined ? {} : { containerId: String(held.request.containerId) }),
    });
    return { ...outcome };
  };
  return {
    listApprovals: async () => ({ approvals: queue.pending().map(summary) }),
    approveApproval: async ({ params, body }, call) => answer(params.id, 'allow', call, body?.reason),
    denyApproval: async ({ params, body }, call) => answer(params.id, 'deny', call, body?.reason),
  };
}

function summary(approval: PendingApproval) {
  const { request, decision } = approval;
  const args: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.args ?? {})) {
    const text = typeof value === 'string' ? value : safeJson(value);
    args[name] = text.length > ARG_CHARS ? `${text.slice(0, ARG_CHARS)}…` : text;
  }
  return {
    id: approval.id,
    containerId: String(request.containerId),
    subject: request.identity.subject,
    syscall: request.syscall,
    args,
    reasons: decision.reasons.map((r) => r.message),
    since: approval.requestedAt,
    expiresAt: approval.expiresAt,
  };
}

function safeJson(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? String(value)
    );
  } catch {
    return String(value);
  }
}
