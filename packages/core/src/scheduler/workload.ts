import type { Allocation, ResourceRequest } from '../resources/resourceAdmission';
import type { Priority } from './priority';

/** What a caller submits: a named piece of work and how it is to be scheduled. */
export interface WorkloadInput<P = unknown> {
  /** Unique among the scheduler's workloads; `dependsOn` names others by it. */
  readonly id: string;
  /** Default `normal`. */
  readonly priority?: Priority;
  /** Whose work it is, for `fair-share`. Default `default`. */
  readonly tenant?: string;
  /** Who it runs as. Default: the tenant. */
  readonly identity?: string;
  /** Workloads that must succeed before this one starts. */
  readonly dependsOn?: readonly string[];
  /** What it asks of the resource manager while it runs (checked with `fits()` before it starts). */
  readonly resources?: ResourceRequest;
  /** What the executor needs to run it (for the CLI: the module and its run options). */
  readonly payload: P;
}

/** A submitted workload, as policies and the executor see it. */
export interface Workload<P = unknown> {
  readonly id: string;
  readonly priority: Priority;
  readonly tenant: string;
  readonly identity: string;
  readonly dependsOn: readonly string[];
  readonly resources?: ResourceRequest;
  readonly payload: P;
  /** Milliseconds (the scheduler's clock) when it was submitted. */
  readonly submittedAt: number;
  /** Submission order across the scheduler, from 1. */
  readonly seq: number;
}

/** Where a workload is: waiting on dependencies, queued, running, or one of the final states. */
export type WorkloadState = 'blocked' | 'queued' | 'running' | FinalState;
/** How a workload ended. */
export type FinalState = 'succeeded' | 'failed' | 'cancelled';

/** What an executor reports: exit code 0 is success, anything else a failure (with `reason`). */
export interface ExecutorResult<T = unknown> {
  readonly exitCode: number | null;
  readonly reason?: string;
  readonly value?: T;
}

/**
 * Runs one workload. The scheduler does not know how work runs: the CLI passes one that calls
 * `Runtime.runModule`. `signal` aborts when the workload is cancelled while it runs. `allocation`
 * is what the scheduler's resource manager granted the workload (when it has one and the workload
 * asked for `resources`): hand it to the run (`RunModuleOptions.allocation`) so that the work is
 * counted once; the scheduler releases it when the workload ends. A rejection is a failure whose
 * reason is the error's message.
 */
export type WorkloadExecutor<P = unknown, T = unknown> = (
  workload: Workload<P>,
  signal: AbortSignal,
  allocation: Allocation | undefined,
) => Promise<ExecutorResult<T>>;

/** How one workload ended. */
export interface WorkloadResult<T = unknown> {
  readonly id: string;
  readonly state: FinalState;
  /** 1 for the first workload the scheduler started, and so on; null when it never started. */
  readonly startOrder: number | null;
  readonly exitCode: number | null;
  /** From submission to start (or, for one that never started, to its cancellation). */
  readonly waitedMs: number;
  /** Why it failed or was cancelled. */
  readonly reason?: string;
  /** What the executor returned with it. */
  readonly value?: T;
}

/** One row of `Scheduler.list()`: a workload not yet finished. */
export interface QueuedWorkloadInfo {
  readonly id: string;
  readonly state: 'blocked' | 'queued' | 'running';
  readonly priority: Priority;
  readonly tenant: string;
  /** Dependencies not yet succeeded. */
  readonly waitingOn: readonly string[];
  readonly submittedAt: number;
  readonly startOrder: number | null;
}
