import { availableParallelism } from 'node:os';
import { ForgeError } from '@forgeone/common';
import type { Allocation } from '../resources/resourceAdmission';
import { createPolicy, type PolicyTuning, type SchedulingPolicyChoice } from './createPolicy';
import { checkDependencies } from './dependencyGraph';
import { priorities } from './priority';
import type { SchedulerResources } from './schedulerResources';
import type { SchedulingPolicy } from './schedulingPolicy';
import type {
  ExecutorResult,
  FinalState,
  QueuedWorkloadInfo,
  Workload,
  WorkloadExecutor,
  WorkloadInput,
  WorkloadResult,
  WorkloadState,
} from './workload';

/** Default bound on workloads waiting (blocked on dependencies or queued). */
export const DEFAULT_MAX_QUEUE_DEPTH = 10_000;
/** Default number of finished workloads remembered (for `dependsOn` and `result`). */
export const DEFAULT_RETAIN_FINISHED = 100_000;
const NO_DEPENDENCIES: readonly string[] = Object.freeze([]);
/** How often a scheduler whose next workload does not fit, with none of its own running, asks again. */
const RESOURCE_RETRY_MS = 20;

export interface SchedulerOptions<P, T> extends PolicyTuning {
  /** Runs each workload. */
  readonly executor: WorkloadExecutor<P, T>;
  /** `fifo`, `priority` (default), `fair-share`, or a custom SchedulingPolicy object. */
  readonly policy?: SchedulingPolicyChoice;
  /** Most workloads running at once. Default: the machine's available parallelism. */
  readonly concurrency?: number;
  /**
   * The resource manager: a workload with `resources` starts only when they `fits()` (it waits
   * otherwise, and the ones behind it wait too, so that a large one is not overtaken for good);
   * its allocation is released however it ends.
   */
  readonly resources?: SchedulerResources;
  /** Most workloads waiting at once; a submission past it is refused (FORGE_SCHEDULER_QUEUE_FULL). */
  readonly maxQueueDepth?: number;
  /**
   * Finished workloads remembered, oldest forgotten first: a later `dependsOn` may name any of
   * them; one forgotten counts as never submitted. Keeps a long-lived scheduler's memory bounded.
   */
  readonly retainFinished?: number;
  /** Milliseconds for submission and start times (default `performance.now()`). */
  readonly clock?: { now(): number };
}

/** What a scheduler is doing now (the plan's SchedulerContext): readable by an API or a console. */
export interface SchedulerContext {
  readonly policy: string;
  readonly concurrency: number;
  readonly maxQueueDepth: number;
  readonly blocked: number;
  readonly queued: number;
  readonly running: number;
  readonly started: number;
  readonly finished: Readonly<Record<FinalState, number>>;
  readonly closed: boolean;
}

/** A submitted workload: its id, and its result once it ends (it never rejects). */
export interface WorkloadHandle<T> {
  readonly id: string;
  readonly done: Promise<WorkloadResult<T>>;
}

interface Entry<P, T> {
  readonly workload: Workload<P>;
  state: WorkloadState;
  /** Dependencies not yet succeeded. */
  /** Dependencies not yet succeeded (made only for a workload that has some). */
  waitingOn: Set<string> | undefined;
  dependents: Array<Entry<P, T>> | undefined;
  startOrder: number | null;
  startedAt: number;
  controller: AbortController | undefined;
  allocation: Allocation | undefined;
  cancelReason: string | undefined;
  result: WorkloadResult<T> | undefined;
  readonly done: Promise<WorkloadResult<T>>;
  readonly resolve: (result: WorkloadResult<T>) => void;
}

/**
 * Runs workloads through an executor in an order a policy chooses, within a concurrency bound and
 * the resource manager's budgets, after their dependencies (a DAG) have succeeded. A failed or
 * cancelled workload cancels everything that depends on it, transitively, with the reason. The
 * queue is bounded: submission past it is refused with a backpressure error.
 */
export class Scheduler<P = unknown, T = unknown> {
  readonly #executor: WorkloadExecutor<P, T>;
  readonly #policy: SchedulingPolicy;
  readonly #concurrency: number;
  readonly #maxQueueDepth: number;
  readonly #retainFinished: number;
  readonly #resources: SchedulerResources | undefined;
  readonly #clock: { now(): number };
  /** Every workload not finished, in submission order. */
  readonly #live = new Map<string, Entry<P, T>>();
  /** Finished workloads still remembered, oldest first. */
  readonly #finished = new Map<string, Entry<P, T>>();
  readonly #counts: Record<FinalState, number> = { succeeded: 0, failed: 0, cancelled: 0 };
  readonly #idleWaiters: Array<() => void> = [];
  #waiting = 0;
  #blocked = 0;
  #running = 0;
  #started = 0;
  #seq = 0;
  #pumpQueued = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: SchedulerOptions<P, T>) {
    if (typeof options.executor !== 'function')
      throw new ForgeError('FORGE_INVALID_INPUT', 'a Scheduler needs an executor function', {
        details: { field: 'executor' },
      });
    this.#executor = options.executor;
    this.#policy = createPolicy(options.policy ?? 'priority', options);
    this.#concurrency = positiveInteger('concurrency', options.concurrency ?? availableParallelism());
    this.#maxQueueDepth = positiveInteger('maxQueueDepth', options.maxQueueDepth ?? DEFAULT_MAX_QUEUE_DEPTH);
    this.#retainFinished = positiveInteger(
      'retainFinished',
      options.retainFinished ?? DEFAULT_RETAIN_FINISHED,
    );
    this.#resources = options.resources;
    this.#clock = options.clock ?? performance;
  }

  /** Submits one workload; see `submitAll`. */
  submit(input: WorkloadInput<P>): WorkloadHandle<T> {
    return this.submitAll([input])[0]!;
  }

  /**
   * Submits workloads together (they may depend on each other), all or none: a duplicate name,
   * an unknown dependency, a cycle, a request larger than a budget, or more than the queue's free
   * depth is refused with its code and nothing is submitted. A workload whose dependency already
   * failed is cancelled at once, with the reason.
   */
  submitAll(inputs: readonly WorkloadInput<P>[]): Array<WorkloadHandle<T>> {
    if (this.#closed)
      throw new ForgeError('FORGE_SCHEDULER_CLOSED', 'the scheduler is closed; it takes no more workloads');
    inputs.forEach(checkInput);
    checkDependencies(inputs, (id) => this.#entry(id) !== undefined);
    if (this.#waiting + inputs.length > this.#maxQueueDepth) {
      throw new ForgeError(
        'FORGE_SCHEDULER_QUEUE_FULL',
        `the scheduler queue is full: ${this.#waiting} of ${this.#maxQueueDepth} workloads waiting, ${inputs.length} more submitted; submit again once some have started`,
        { details: { waiting: this.#waiting, maxQueueDepth: this.#maxQueueDepth, submitted: inputs.length } },
      );
    }
    for (const input of inputs) this.#checkFits(input);
    const now = this.#clock.now();
    const added = inputs.map((input) => this.#add(input, now));
    // Dependencies known now: finished ones resolve at once, the others are waited on.
    const cancelled: Array<[Entry<P, T>, Entry<P, T>]> = [];
    for (const entry of added) {
      for (const id of entry.workload.dependsOn) {
        const dep = this.#entry(id)!;
        if (dep.state === 'succeeded') continue;
        (entry.waitingOn ??= new Set()).add(id);
        if (dep.state === 'failed' || dep.state === 'cancelled') cancelled.push([dep, entry]);
        else (dep.dependents ??= []).push(entry);
      }
    }
    for (const [dep, entry] of cancelled) this.#cancelDependents(dep, [entry]);
    for (const entry of added)
      if (entry.state === 'blocked' && !entry.waitingOn?.size) this.#enqueue(entry, now);
    this.#schedulePump();
    return added.map((entry) => ({ id: entry.workload.id, done: entry.done }));
  }

  /**
   * Cancels a workload: one waiting never starts, one running has its signal aborted (it ends
   * `cancelled` once the executor returns). Its dependents are cancelled with it. False when the
   * id is not a workload that is still to finish.
   */
  cancel(id: string, reason = 'cancelled'): boolean {
    const entry = this.#live.get(id);
    if (entry === undefined) return false;
    if (entry.state === 'running') {
      if (entry.cancelReason === undefined) {
        entry.cancelReason = reason;
        entry.controller!.abort(new ForgeError('FORGE_INTERRUPTED', reason));
      }
      return true;
    }
    if (entry.state === 'queued') this.#policy.remove(entry.workload);
    this.#cancelWaiting(entry, reason);
    this.#schedulePump();
    return true;
  }

  /** Workloads not yet finished, in submission order. */
  list(): QueuedWorkloadInfo[] {
    return [...this.#live.values()].map((entry) => ({
      id: entry.workload.id,
      state: entry.state as QueuedWorkloadInfo['state'],
      priority: entry.workload.priority,
      tenant: entry.workload.tenant,
      waitingOn: entry.waitingOn ? [...entry.waitingOn] : [],
      submittedAt: entry.workload.submittedAt,
      startOrder: entry.startOrder,
    }));
  }

  /** How a finished workload ended (undefined while it runs, or once forgotten). */
  result(id: string): WorkloadResult<T> | undefined {
    return this.#finished.get(id)?.result;
  }

  context(): SchedulerContext {
    return {
      policy: this.#policy.name,
      concurrency: this.#concurrency,
      maxQueueDepth: this.#maxQueueDepth,
      blocked: this.#blocked,
      queued: this.#waiting - this.#blocked,
      running: this.#running,
      started: this.#started,
      finished: { ...this.#counts },
      closed: this.#closed,
    };
  }

  /** Resolves once every submitted workload has finished. */
  idle(): Promise<void> {
    if (this.#live.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Refuses new workloads, cancels every one not finished, and resolves once the running ones have ended. */
  async close(reason = 'the scheduler was closed'): Promise<void> {
    this.#closed = true;
    for (const id of [...this.#live.keys()]) this.cancel(id, reason);
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.idle();
  }

  #entry(id: string): Entry<P, T> | undefined {
    return this.#live.get(id) ?? this.#finished.get(id);
  }

  #checkFits(input: WorkloadInput<P>): void {
    const request = input.resources;
    const budget = request && this.#resources?.exceeds?.(request);
    if (budget === undefined || request === undefined) return;
    throw new ForgeError(
      'FORGE_SCHEDULER_NEVER_FITS',
      `workload '${input.id}' asks for more than the ${budget} budget holds in total (${request.memoryPages} memory pages${request.worker ? ', a worker' : ''}), so it could never start`,
      { details: { workload: input.id, budget } },
    );
  }

  #add(input: WorkloadInput<P>, now: number): Entry<P, T> {
    const tenant = input.tenant ?? 'default';
    const workload: Workload<P> = {
      id: input.id,
      priority: input.priority ?? 'normal',
      tenant,
      identity: input.identity ?? tenant,
      // Copied: the caller's array may change after submission; none shares one empty list.
      dependsOn:
        input.dependsOn === undefined || input.dependsOn.length === 0
          ? NO_DEPENDENCIES
          : [...input.dependsOn],
      ...(input.resources ? { resources: input.resources } : {}),
      payload: input.payload,
      submittedAt: now,
      seq: ++this.#seq,
    };
    let resolve!: (result: WorkloadResult<T>) => void;
    const done = new Promise<WorkloadResult<T>>((r) => (resolve = r));
    const entry: Entry<P, T> = {
      workload,
      state: 'blocked',
      waitingOn: undefined,
      dependents: undefined,
      startOrder: null,
      startedAt: 0,
      controller: undefined,
      allocation: undefined,
      cancelReason: undefined,
      result: undefined,
      done,
      resolve,
    };
    this.#live.set(workload.id, entry);
    this.#waiting++;
    this.#blocked++;
    return entry;
  }

  #enqueue(entry: Entry<P, T>, now: number): void {
    entry.state = 'queued';
    this.#blocked--;
    this.#policy.add(entry.workload, now);
  }

  #schedulePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  /** Starts workloads while there is room, in the policy's order. */
  #pump(): void {
    while (this.#running < this.#concurrency && this.#policy.size > 0) {
      const now = this.#clock.now();
      const next = this.#policy.peek(now);
      if (next === undefined) break;
      const entry = this.#live.get(next.id);
      let allocation: Allocation | undefined;
      if (entry !== undefined && entry.state === 'queued' && next.resources && this.#resources) {
        const request = next.resources;
        if (!this.#resources.fits(request)) {
          this.#retryLater();
          break;
        }
        try {
          allocation = this.#resources.allocate(request);
        } catch {
          // Taken by someone else between fits() and allocate(): wait like any other misfit.
          this.#retryLater();
          break;
        }
      }
      const taken = this.#policy.take(now);
      if (taken !== next || entry === undefined || entry.state !== 'queued') {
        // Nothing the policy holds can be trusted to run in order any more: stop cleanly.
        allocation?.release();
        void this.close(
          `FORGE_SCHEDULER_POLICY: the scheduling policy ${this.#policy.name} broke its contract (take() did not return the queued workload peek() named, ${next.id}); the scheduler was closed`,
        );
        return;
      }
      this.#start(entry, now, allocation);
    }
  }

  /** When nothing of ours is running, no completion will wake the queue: ask again shortly. */
  #retryLater(): void {
    if (this.#running > 0 || this.#retry !== undefined || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#pump();
    }, RESOURCE_RETRY_MS);
  }

  #start(entry: Entry<P, T>, now: number, allocation: Allocation | undefined): void {
    entry.state = 'running';
    entry.startOrder = ++this.#started;
    entry.startedAt = now;
    entry.allocation = allocation;
    entry.controller = new AbortController();
    this.#waiting--;
    this.#running++;
    let run: Promise<ExecutorResult<T>>;
    try {
      run = this.#executor(entry.workload, entry.controller.signal, allocation);
    } catch (error) {
      run = Promise.reject(error);
    }
    run.then(
      (result) => this.#ended(entry, result),
      (error: unknown) =>
        this.#ended(entry, {
          exitCode: null,
          reason: error instanceof Error ? error.message : String(error),
        }),
    );
  }

  #ended(entry: Entry<P, T>, result: ExecutorResult<T>): void {
    entry.allocation?.release();
    entry.allocation = undefined;
    this.#running--;
    const now = this.#clock.now();
    const state: FinalState =
      entry.cancelReason !== undefined
        ? 'cancelled'
        : result.exitCode === 0 && result.reason === undefined
          ? 'succeeded'
          : 'failed';
    const reason =
      state === 'cancelled'
        ? entry.cancelReason
        : state === 'failed'
          ? (result.reason ?? `exit code ${result.exitCode}`)
          : undefined;
    this.#finish(entry, {
      id: entry.workload.id,
      state,
      startOrder: entry.startOrder,
      exitCode: result.exitCode,
      waitedMs: entry.startedAt - entry.workload.submittedAt,
      ...(reason === undefined ? {} : { reason }),
      ...(result.value === undefined ? {} : { value: result.value }),
    });
    this.#policy.finished?.(entry.workload, now - entry.startedAt);
    const dependents = entry.dependents ?? [];
    entry.dependents = undefined;
    if (state === 'succeeded') {
      for (const dependent of dependents) {
        if (dependent.state !== 'blocked') continue;
        dependent.waitingOn?.delete(entry.workload.id);
        if (!dependent.waitingOn?.size) this.#enqueue(dependent, now);
      }
    } else {
      this.#cancelDependents(entry, dependents);
    }
    this.#pump();
    this.#notifyIdle();
  }

  /** Cancels a workload that has not started, and everything that depends on it. */
  #cancelWaiting(entry: Entry<P, T>, reason: string): void {
    if (entry.state === 'blocked') this.#blocked--;
    this.#waiting--;
    this.#finishUnstarted(entry, reason);
    const dependents = entry.dependents ?? [];
    entry.dependents = undefined;
    this.#cancelDependents(entry, dependents);
    this.#notifyIdle();
  }

  /**
   * Cancels `dependents` of `failed` (which did not succeed), and theirs, transitively. Each names
   * the dependency it waited on and, when that was itself cancelled for one, the root cause.
   * Iterative: a chain of any length.
   */
  #cancelDependents(failed: Entry<P, T>, dependents: Array<Entry<P, T>>): void {
    const stack: Array<[Entry<P, T>, Entry<P, T>]> = dependents.map((d) => [failed, d]);
    while (stack.length > 0) {
      const [dep, entry] = stack.pop()!;
      if (entry.state !== 'blocked') continue;
      const cause = dep.result?.reason;
      const reason =
        dep.result?.state === 'failed'
          ? `dependency '${dep.workload.id}' failed${cause ? ` (${cause})` : ''}`
          : `dependency '${dep.workload.id}' was cancelled${cause ? ` (${rootCause(cause)})` : ''}`;
      this.#blocked--;
      this.#waiting--;
      this.#finishUnstarted(entry, reason);
      for (const next of entry.dependents ?? []) stack.push([entry, next]);
      entry.dependents = undefined;
    }
    this.#notifyIdle();
  }

  #finishUnstarted(entry: Entry<P, T>, reason: string): void {
    this.#finish(entry, {
      id: entry.workload.id,
      state: 'cancelled',
      startOrder: null,
      exitCode: null,
      waitedMs: this.#clock.now() - entry.workload.submittedAt,
      reason,
    });
  }

  #finish(entry: Entry<P, T>, result: WorkloadResult<T>): void {
    entry.state = result.state;
    entry.result = result;
    entry.controller = undefined;
    this.#counts[result.state]++;
    this.#live.delete(entry.workload.id);
    this.#finished.set(entry.workload.id, entry);
    if (this.#finished.size > this.#retainFinished) {
      const oldest = this.#finished.keys().next().value as string;
      this.#finished.delete(oldest);
    }
    entry.resolve(result);
  }

  #notifyIdle(): void {
    if (this.#live.size > 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

/** `dependency 'a' failed (...)` out of a reason that may itself name a cancelled dependency. */
function rootCause(reason: string): string {
  const inner = /^dependency '.*' was cancelled \((.*)\)$/s.exec(reason);
  return inner ? inner[1]! : reason;
}

function checkInput(input: WorkloadInput<unknown>): void {
  const bad = (field: string, why: string) =>
    new ForgeError('FORGE_INVALID_INPUT', `workload ${JSON.stringify(input?.id)}: ${field} ${why}`, {
      details: { field },
    });
  if (typeof input?.id !== 'string' || input.id === '') throw bad('id', 'must be a non-empty string');
  if (input.priority !== undefined && !(priorities as readonly string[]).includes(input.priority))
    throw bad('priority', `must be one of ${priorities.join(', ')}, got ${JSON.stringify(input.priority)}`);
  if (input.tenant !== undefined && (typeof input.tenant !== 'string' || input.tenant === ''))
    throw bad('tenant', 'must be a non-empty string');
  if (
    input.dependsOn !== undefined &&
    (!Array.isArray(input.dependsOn) || input.dependsOn.some((d) => typeof d !== 'string'))
  )
    throw bad('dependsOn', 'must be a list of workload ids');
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ForgeError('FORGE_INVALID_INPUT', `${field} must be a positive integer, got ${value}`, {
      details: { field },
    });
  }
  return value;
}
