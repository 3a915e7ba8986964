/** The priorities a workload can have, most urgent first. */
export const priorities = ['critical', 'high', 'normal', 'low', 'background'] as const;

/** How urgent a workload is; `normal` when a workload does not say. */
export type Priority = (typeof priorities)[number];

/** 0 for `critical` up to 4 for `background`: a lower rank starts first. */
export function priorityRank(priority: Priority): number {
  return RANKS[priority];
}

const RANKS: Readonly<Record<Priority, number>> = {
  critical: 0,
  high: 1,
  normal: 2,
  low: 3,
  background: 4,
};
