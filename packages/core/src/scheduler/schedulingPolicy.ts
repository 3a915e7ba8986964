import type { Workload } from './workload';

/**
 * The order in which ready workloads start. The scheduler adds a workload when its dependencies
 * have succeeded, asks `peek` which one should start next (to check its resources first), then
 * `take`s it. Implement this interface for a `custom` policy; `add`, `remove` and `take` should be
 * O(log n) or better, since the scheduler calls them once per workload.
 */
export interface SchedulingPolicy {
  /** Shown in messages and reports. */
  readonly name: string;
  /** Workloads held. */
  readonly size: number;
  /** Holds a workload that became ready at `now` (ms). */
  add(workload: Workload, now: number): void;
  /** Drops a workload (cancelled); false when it was not held. */
  remove(workload: Workload): boolean;
  /** The workload that should start next, left in place. */
  peek(now: number): Workload | undefined;
  /** Takes out the workload `peek` returns. */
  take(now: number): Workload | undefined;
  /** Told when a workload it gave out has ended (e.g. to account for the time it ran). */
  finished?(workload: Workload, ranMs: number): void;
}

/** The built-in policies by name (`custom` is an object given instead of a name). */
export const policyNames = ['fifo', 'priority', 'fair-share'] as const;
export type PolicyName = (typeof policyNames)[number];
