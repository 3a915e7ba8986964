import type { ExecutionDNA } from '@forgeone/common';
import type { SyscallShift } from './dnaDeviation';

export const redzoneStates = ['active', 'analyzing', 'remediating', 'released', 'terminated'] as const;
/** Where a quarantined container is: held (active, analyzing, remediating) or done (released, terminated). */
export type RedzoneState = (typeof redzoneStates)[number];
export type RedzoneAction = 'analyze' | 'remediate' | 'release' | 'terminate' | 'expire';

/**
 * Every allowed transition. A container is suspended in the first three states; `released` and
 * `terminated` are final (a released container quarantined again gets a new record). `expire` is
 * the automatic termination after the maximum quarantine time.
 */
export const redzoneTransitions: Readonly<
  Record<RedzoneState, Readonly<Partial<Record<RedzoneAction, RedzoneState>>>>
> = {
  active: {
    analyze: 'analyzing',
    remediate: 'remediating',
    release: 'released',
    terminate: 'terminated',
    expire: 'terminated',
  },
  analyzing: {
    analyze: 'analyzing',
    remediate: 'remediating',
    release: 'released',
    terminate: 'terminated',
    expire: 'terminated',
  },
  remediating: {
    remediate: 'remediating',
    release: 'released',
    terminate: 'terminated',
    expire: 'terminated',
  },
  released: {},
  terminated: {},
};

/** A remediation applied to a quarantined container. */
export type Remediation =
  | { readonly kind: 'revoke-capability'; readonly capability: string }
  | { readonly kind: 'restore-snapshot'; readonly snapshotId: string }
  | { readonly kind: 'terminate' };

/** What the analysis found. */
export interface RedzoneAnalysis {
  readonly analyzedAt: number;
  /** Total variation distance of the DNA from its baseline, in [0, 1] (0 without a baseline). */
  readonly deviation: number;
  /** The syscalls whose share moved most, largest first (at most 10). */
  readonly deviations: readonly SyscallShift[];
  readonly newSyscalls: readonly string[];
  readonly deniedRatio: number;
  readonly baselineDeniedRatio: number;
  readonly firedRules: readonly string[];
  /** What made up the anomaly, largest first: the detector's own breakdown, else the DNA shifts. */
  readonly anomalyContributions: readonly { readonly source: string; readonly value: number }[];
  /** The findings as sentences, for operators. */
  readonly summary: readonly string[];
}

export interface QuarantineHistoryEntry {
  readonly at: number;
  readonly from: RedzoneState | null;
  readonly to: RedzoneState;
  readonly action: RedzoneAction | 'quarantine';
  readonly by?: string;
  readonly note?: string;
}

/** One container's stay in the redzone, as persisted. */
export interface QuarantineRecord {
  readonly containerId: string;
  readonly state: RedzoneState;
  readonly reason: string;
  readonly firedRules: readonly string[];
  readonly dna: ExecutionDNA;
  readonly baseline?: ExecutionDNA;
  readonly anomaly?: { readonly score: number; readonly contributions?: Readonly<Record<string, number>> };
  readonly quarantinedAt: number;
  /** Terminated automatically when still held at this time. */
  readonly deadline: number;
  /** How many times this container has been quarantined (this stay included). */
  readonly count: number;
  readonly analysis?: RedzoneAnalysis;
  readonly remediations: readonly (Remediation & { readonly at: number; readonly by?: string })[];
  readonly revokedCapabilities: readonly string[];
  readonly history: readonly QuarantineHistoryEntry[];
}

export interface QuarantineInput {
  readonly containerId: string;
  readonly reason: string;
  /** The container's execution DNA at the time. */
  readonly dna: ExecutionDNA;
  readonly baseline?: ExecutionDNA;
  /** Rules (`node/rule`) that fired on the way here. */
  readonly firedRules?: readonly string[];
  readonly anomaly?: { readonly score: number; readonly contributions?: Readonly<Record<string, number>> };
}
