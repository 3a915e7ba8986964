import type { ResourceBudgets } from '@forgeone/config';

/** One budget's live use. */
export interface BudgetUse {
  readonly used: number;
  readonly budget: number;
}

/** What the resource manager holds right now, for `Runtime.usage()` (and the API, the console). */
export interface ResourceUsage {
  /** Live allocations (containers admitted and not yet released). */
  readonly allocations: number;
  /** Pages reserved by live containers (each its whole memoryPages limit) against the budget. */
  readonly memoryPages: BudgetUse;
  /** Live containers holding a worker thread, against the budget. */
  readonly workers: BudgetUse;
  /** Live containers per identity (only identities with one), and the budget each has. */
  readonly containersPerIdentity: {
    readonly budget: number;
    readonly byIdentity: Readonly<Record<string, number>>;
  };
  /**
   * Wall-clock ms each live container's calls have taken (a call in progress counted up to now),
   * by allocation id, and the budget each has (0: off).
   */
  readonly cpuMs: { readonly budget: number; readonly byAllocation: Readonly<Record<string, number>> };
  /** The budgets in force. */
  readonly budgets: ResourceBudgets;
}
