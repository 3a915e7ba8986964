import { z } from 'zod';

/**
 * The behaviour profile of a workload ("execution DNA"): how often it makes each syscall, in which
 * order, and how often it was refused. The gate updates it on every call; anomaly detection compares
 * it with a baseline.
 */
export const ExecutionDnaSchema = z
  .object({
    containerId: z.string(),
    /** Calls per syscall name. */
    syscallCounts: z.record(z.string(), z.number().int().nonnegative()),
    /** Calls per ordered pair `a>b` of consecutive syscalls (a first-order Markov profile). */
    transitions: z.record(z.string(), z.number().int().nonnegative()),
    totalCalls: z.number().int().nonnegative(),
    deniedCalls: z.number().int().nonnegative(),
    lastSyscall: z.string().nullable(),
    firstSeen: z.number().nullable(),
    lastSeen: z.number().nullable(),
  })
  .strict();
export type ExecutionDNA = z.output<typeof ExecutionDnaSchema>;

/** An empty profile for a new container. */
export function emptyExecutionDna(containerId: string): ExecutionDNA {
  return {
    containerId,
    syscallCounts: {},
    transitions: {},
    totalCalls: 0,
    deniedCalls: 0,
    lastSyscall: null,
    firstSeen: null,
    lastSeen: null,
  };
}
