import type { JsonValue } from '@forgeone/common';
import type { KernelAuditEntry } from '@forgeone/trust';
import type { BootContext } from './bootContext';

/** The audit log's record of a boot: when, in which mode, on which root, its revocation status and self-test. */
export function bootAuditEntry(
  context: Omit<BootContext, 'auditSeq'>,
  time: number,
  outcome: 'booted' | 'refused',
): KernelAuditEntry {
  const { revocation, root, selfTest } = context;
  const facts: { [name: string]: JsonValue } = {
    outcome,
    bootedAt: context.bootedAt,
    mode: context.mode,
    root:
      root === null
        ? null
        : { version: root.version, keyIds: [...root.keyIds], expires: root.expires, source: root.source },
    revocation: {
      status: revocation.status,
      source: revocation.source,
      ...('version' in revocation ? { version: revocation.version } : {}),
      ...('revokedKeyIds' in revocation ? { revokedKeyIds: [...revocation.revokedKeyIds] } : {}),
      ...('reason' in revocation ? { reason: revocation.reason } : {}),
    },
    selfTest: { ok: selfTest.ok, failed: selfTest.checks.filter((c) => !c.ok).map((c) => c.name) },
  };
  return { time, kernel: 'boot', facts };
}
