/**
 * The kernel-wide budgets the resource manager (@forgeone/core's `ResourceManager`) admits
 * launches against, named once here, like the container limits.
 */
export interface ResourceBudgets {
  /**
   * Linear memory pages (64 KiB) across every live container. Each launch reserves its whole
   * `memoryPages` limit up front (what its memory may grow to), so a guest that grows never takes
   * pages another launch was promised.
   */
  readonly memoryPages: number;
  /** Containers holding a worker thread (worker isolation) at once. */
  readonly workers: number;
  /** Live containers of one identity (subject) at once. */
  readonly containersPerIdentity: number;
  /**
   * Wall-clock ms a container's guest calls may take together (its start function and every call
   * after it); each call's deadline is cut to what is left. 0: no budget beyond each call's own
   * `timeoutMs`. Measured by the deadline machinery, so it is wall time inside guest calls (a
   * guest blocked in a syscall counts), not CPU time of the thread.
   */
  readonly cpuMs: number;
}

/** The budgets of a kernel that sets none: 1 GiB of guest memory (64 containers at the default 256 pages). */
export const defaultResourceBudgets: ResourceBudgets = Object.freeze({
  memoryPages: 16_384,
  workers: 32,
  containersPerIdentity: 64,
  cpuMs: 0,
});

/** The values each budget may take (inclusive). */
export const resourceBudgetBounds: {
  readonly [K in keyof ResourceBudgets]: { readonly min: number; readonly max: number };
} = Object.freeze({
  memoryPages: Object.freeze({ min: 1, max: 16_777_216 }),
  workers: Object.freeze({ min: 1, max: 4096 }),
  containersPerIdentity: Object.freeze({ min: 1, max: 1_000_000 }),
  cpuMs: Object.freeze({ min: 0, max: 1_000_000_000_000 }),
});
