import type { ContainerId, ExecutionDNA } from '@forgeone/common';
import type { TraceEvent } from '@forgeone/observer';
import type { QuarantineInput } from '@forgeone/trust';

/** Most rules kept on a record: the latest quarantine decisions' first. */
const MAX_FIRED_RULES = 32;

/**
 * The rules (`policy/rule`, or the policy alone) behind a guest's quarantine decisions, the latest
 * first: what the record and the operator are shown as the reason's evidence.
 */
export function firedRulesOf(trace: readonly TraceEvent[]): string[] {
  const rules = new Set<string>();
  for (let i = trace.length - 1; i >= 0 && rules.size < MAX_FIRED_RULES; i--) {
    const event = trace[i]!;
    if (event.action !== 'quarantine') continue;
    for (const reason of event.reasons)
      rules.add(reason.rule ? `${reason.policy}/${reason.rule}` : reason.policy);
  }
  return [...rules].slice(0, MAX_FIRED_RULES);
}

/** What the redzone stores of a quarantined guest: who, why, which rules, and its DNA at the time. */
export function quarantineInputOf(
  containerId: ContainerId,
  reason: string,
  guest: { readonly trace: readonly TraceEvent[]; readonly dna: ExecutionDNA },
): QuarantineInput {
  return { containerId, reason, dna: guest.dna, firedRules: firedRulesOf(guest.trace) };
}

/** The policy's reason in a FORGE_CONTAINER_QUARANTINED error (its details, else its message). */
export function quarantineReasonOf(error: { readonly message: string; readonly details?: unknown }): string {
  const details = error.details as { readonly reason?: unknown } | undefined;
  if (typeof details?.reason === 'string' && details.reason.length > 0) return details.reason;
  return error.message.replace(/^container quarantined:\s*/, '') || 'quarantined by policy';
}
