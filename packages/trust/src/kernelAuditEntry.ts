import type { JsonValue } from '@forgeone/common';
import type { AuditEntryInput } from './auditEntry';

/**
 * An audit entry that is not a syscall decision: something the kernel itself did (`boot`, later
 * shutdown or a mode change), with the facts that describe it. It is chained and verified like a
 * decision entry; `kernel` tells the two kinds apart.
 */
export type KernelAuditEntry = {
  /** When it happened (epoch ms). */
  time: number;
  /** What happened, e.g. `boot`. */
  kernel: string;
  facts: { [name: string]: JsonValue };
};

/** Anything the audit log chains: a syscall decision or a kernel event. */
export type AuditEntry = AuditEntryInput | KernelAuditEntry;

/** Whether an audit entry records a kernel event rather than a syscall decision. */
export function isKernelAuditEntry(entry: AuditEntry): entry is KernelAuditEntry {
  return 'kernel' in entry && typeof entry.kernel === 'string';
}
