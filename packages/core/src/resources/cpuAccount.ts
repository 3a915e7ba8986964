import type { Allocation } from './resourceAdmission';

/**
 * The CPU side of an allocation from a `ResourceManager`: each guest call is begun before it
 * runs (and refused when the container's cpuMs budget is used up) and ended when it returns; its
 * wall-clock time is charged to the container. Allocations of other admissions have none.
 */
export interface CpuAccount {
  /**
   * Starts a call: returns the ms it may still take (undefined when the budget is off), or throws
   * FORGE_RESOURCE_EXHAUSTED (budget cpuMs) when nothing is left. A call already begun is ended first.
   */
  beginCall(): number | undefined;
  /** Ends the call in progress, charging its time; does nothing when none is. */
  endCall(): void;
  /** Ms charged so far, a call in progress counted up to now. */
  usedMs(): number;
}

/** The allocation's CPU account, when its admission keeps one. */
export function cpuAccountOf(allocation: Allocation): CpuAccount | undefined {
  const account = allocation as Partial<CpuAccount>;
  return typeof account.beginCall === 'function' && typeof account.endCall === 'function'
    ? (allocation as Allocation & CpuAccount)
    : undefined;
}

/**
 * Begins one guest call on `allocation` and returns the host run option that enforces what is left
 * of its CPU budget (`{ budgetMs }`, or nothing when there is no budget). The call ends when the
 * allocation is released (or at `endCall`).
 */
export function cpuBudgetOption(allocation: Allocation): { budgetMs?: number } {
  const left = cpuAccountOf(allocation)?.beginCall();
  return left === undefined ? {} : { budgetMs: left };
}
