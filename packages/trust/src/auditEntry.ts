import type { Decision, DecisionAction, EnforcementMode, SyscallArg, SyscallRequest } from '@forgeone/common';

/** One reason as the audit log keeps it. */
export type AuditReason = {
  policy: string;
  rule?: string;
  message: string;
  scores?: { [name: string]: number };
};

/**
 * One enforcement decision as the audit log records it: plain JSON (it crosses threads and is
 * hashed), 64-bit integers as decimal strings, long strings cut at 1,024 characters.
 */
export type AuditEntryInput = {
  /** When the call was made (the request's time, epoch ms). */
  time: number;
  containerId: string;
  subject: string;
  syscall: string;
  args: { [name: string]: string | number | boolean | null };
  mode: EnforcementMode;
  /** What the policy decided (after syscall policies and thresholds, before the mode). */
  action: DecisionAction;
  /** Whether the call ran. */
  executed: boolean;
  reasons: AuditReason[];
  /** Set when the container was quarantined by this call. */
  quarantine?: string;
  /** How an `ask` was answered. */
  approval?: { verdict: 'allow' | 'deny'; waitedMs: number };
  /** The version of the kernel's live policy that decided the call (absent: a policy of the launch's own). */
  policyVersion?: number;
  /** The call's sequence number in its container's trace (1, 2, 3…), when it was traced. */
  traceSeq?: number;
  /** The decision's id (`decisionIdOf(containerId, traceSeq)`): the trace, the audit and the API name it alike. */
  decisionId?: string;
  /** The id of the API request whose invoke or launch made the call. */
  requestId?: string;
};

const MAX_TEXT = 1024;

function auditArg(value: SyscallArg): string | number | boolean | null {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' && value.length > MAX_TEXT) return `${value.slice(0, MAX_TEXT)}…`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

/** Builds the audit entry for one decision. */
export function auditEntryOf(
  request: SyscallRequest,
  decision: Decision,
  facts: Pick<AuditEntryInput, 'mode' | 'action' | 'executed'> &
    Partial<
      Pick<
        AuditEntryInput,
        'quarantine' | 'approval' | 'policyVersion' | 'traceSeq' | 'decisionId' | 'requestId'
      >
    >,
): AuditEntryInput {
  const args: AuditEntryInput['args'] = {};
  for (const [name, value] of Object.entries(request.args)) args[name] = auditArg(value);
  return {
    time: request.time,
    containerId: request.containerId,
    subject: request.identity.subject,
    syscall: request.syscall,
    args,
    mode: facts.mode,
    action: facts.action,
    executed: facts.executed,
    reasons: decision.reasons.map((r) => ({
      policy: r.policy,
      ...(r.rule === undefined ? {} : { rule: r.rule }),
      message: r.message.length > MAX_TEXT ? `${r.message.slice(0, MAX_TEXT)}…` : r.message,
      ...(r.scores === undefined ? {} : { scores: { ...r.scores } }),
    })),
    ...(facts.quarantine === undefined ? {} : { quarantine: facts.quarantine }),
    ...(facts.approval === undefined ? {} : { approval: facts.approval }),
    ...(facts.policyVersion === undefined ? {} : { policyVersion: facts.policyVersion }),
    ...(facts.traceSeq === undefined ? {} : { traceSeq: facts.traceSeq }),
    ...(facts.decisionId === undefined ? {} : { decisionId: facts.decisionId }),
    ...(facts.requestId === undefined ? {} : { requestId: facts.requestId }),
  };
}
