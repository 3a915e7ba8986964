import type { ExecutionDNA } from '@forgeone/common';

/** How one syscall's share of the calls moved between a baseline profile and the observed one. */
export interface SyscallShift {
  readonly syscall: string;
  /** Share of all calls in the observed profile, in [0, 1]. */
  readonly observed: number;
  /** Share of all calls in the baseline, in [0, 1]. */
  readonly baseline: number;
  /** `|observed - baseline| / 2`: this syscall's part of the total deviation. */
  readonly contribution: number;
}

/** The deviation of an execution DNA from its baseline, and what it is made of. */
export interface DnaComparison {
  /**
   * Total variation distance between the two syscall-frequency distributions:
   * `½ Σ |p(s) − q(s)|`, in [0, 1] (0 = same mix of calls, 1 = nothing in common).
   */
  readonly deviation: number;
  /** Every syscall whose share moved, largest contribution first. */
  readonly shifts: readonly SyscallShift[];
  /** Syscalls the observed profile makes and the baseline never did. */
  readonly newSyscalls: readonly string[];
  readonly deniedRatio: number;
  readonly baselineDeniedRatio: number;
}

/** Compares an observed execution DNA with a baseline; an empty profile deviates by 0. */
export function compareDna(observed: ExecutionDNA, baseline: ExecutionDNA): DnaComparison {
  const names = new Set([...Object.keys(observed.syscallCounts), ...Object.keys(baseline.syscallCounts)]);
  const total = observed.totalCalls;
  const baseTotal = baseline.totalCalls;
  const shifts: SyscallShift[] = [];
  let deviation = 0;
  const newSyscalls: string[] = [];
  if (total > 0 && baseTotal > 0) {
    for (const name of names) {
      const p = (observed.syscallCounts[name] ?? 0) / total;
      const q = (baseline.syscallCounts[name] ?? 0) / baseTotal;
      const contribution = Math.abs(p - q) / 2;
      deviation += contribution;
      if (contribution > 0) shifts.push({ syscall: name, observed: p, baseline: q, contribution });
      if (p > 0 && q === 0) newSyscalls.push(name);
    }
  }
  shifts.sort((a, b) => b.contribution - a.contribution || a.syscall.localeCompare(b.syscall));
  newSyscalls.sort();
  return {
    deviation: Math.min(1, deviation),
    shifts,
    newSyscalls,
    deniedRatio: total > 0 ? observed.deniedCalls / total : 0,
    baselineDeniedRatio: baseTotal > 0 ? baseline.deniedCalls / baseTotal : 0,
  };
}
