import type { SelfTestReport } from '@forgeone/diagnostics';
import type { BootMode } from './bootMode';
import type { RevocationStatus } from './revocationStatus';
import type { TrustAnchorSummary } from './trustAnchor';

/** One self-test check as a boot keeps it. */
export interface BootSelfTestCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** The self-test result a boot keeps. */
export interface BootSelfTest {
  readonly ok: boolean;
  readonly checks: readonly BootSelfTestCheck[];
}

/**
 * What a boot established, readable for the kernel's lifetime (API, console): a frozen,
 * JSON-serialisable value.
 */
export interface BootContext {
  /** When the boot began, ISO-8601. */
  readonly bootedAt: string;
  readonly mode: BootMode;
  /** The verified trust anchor, or null for a development kernel booted without one. */
  readonly root: TrustAnchorSummary | null;
  readonly revocation: RevocationStatus;
  readonly selfTest: BootSelfTest;
  /** The audit entry that records this boot, or null when the kernel has no audit log. */
  readonly auditSeq: number | null;
}

/** The self-test report as a boot keeps it (durations dropped: they differ on every boot). */
export function bootSelfTestOf(report: SelfTestReport): BootSelfTest {
  return {
    ok: report.ok,
    checks: report.checks.map(({ name, ok, detail }) => ({ name, ok, detail })),
  };
}

/** Freezes a JSON value all the way down. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
