import type { StoragePort } from '@forgeone/common';
import type { TrustRoot } from '@forgeone/crypto';
import { Scheduler, type PolicyName, type WorkloadResult } from '@forgeone/core';
import type { Kernel } from '../createKernel';
import type { WorkloadSpec } from './contract/workloadRoutes';
import { launchPolicyOf } from './handlers/launchPolicy';
import { installedPackageBytes } from './installedPackages';
import { publicDetail } from './problem';

/** What a workload's run left: the container that ran it. */
interface WorkloadRun {
  readonly containerId: string;
}

/** How the API's scheduler runs. */
export interface ApiWorkloadOptions {
  /** `fifo`, `priority` (default) or `fair-share`. */
  readonly policy?: PolicyName;
  /** Workloads running at once. Default 2. */
  readonly concurrency?: number;
  /** Workloads waiting at once. Default 1,000. */
  readonly maxQueueDepth?: number;
  /** Finished workloads listed (and that `dependsOn` may name). Default 1,000. */
  readonly retainFinished?: number;
}

/**
 * The API's workload queue: core's Scheduler over the kernel's runtime, admitting each run on the
 * kernel's resource budgets, and the ids it was given in order (to list finished ones too).
 */
export class WorkloadQueue {
  readonly scheduler: Scheduler<WorkloadSpec, WorkloadRun>;
  readonly #ids: string[] = [];
  /** How each listed workload was submitted (the scheduler keeps only results of finished ones). */
  readonly #specs = new Map<string, Pick<WorkloadSpec, 'priority' | 'tenant'>>();
  readonly #retain: number;

  constructor(
    kernel: Kernel,
    parts: () => { store: StoragePort; trustRoot: TrustRoot },
    options: ApiWorkloadOptions = {},
  ) {
    this.#retain = options.retainFinished ?? 1000;
    this.scheduler = new Scheduler<WorkloadSpec, WorkloadRun>({
      policy: options.policy ?? 'priority',
      concurrency: options.concurrency ?? 2,
      maxQueueDepth: options.maxQueueDepth ?? 1000,
      retainFinished: this.#retain,
      resources: kernel.runtime.resources,
      clock: kernel.clock,
      executor: async ({ id, payload }, _signal, allocation) => {
        const from = payload.package;
        const run = from ? parts() : undefined;
        const report = await kernel.runtime.runModule({
          // The package is read and verified again when the workload starts: it may have been removed.
          ...(from && run
            ? {
                package: await installedPackageBytes(run.store, from.name, from.version),
                trustRoot: run.trustRoot,
                versionStore: run.store,
              }
            : { source: new Uint8Array(Buffer.from(payload.module ?? '', 'base64')) }),
          ...(payload.format ? { format: payload.format } : {}),
          ...(payload.isolation ? { isolation: payload.isolation } : {}),
          ...(payload.limits ? { limits: definedOnly(payload.limits) } : {}),
          ...(allocation ? { allocation } : {}),
          name: id,
          policy: launchPolicyOf(payload.policy),
        });
        const { outcome } = report;
        const value = { containerId: report.containerId };
        if (outcome.status === 'trapped')
          return {
            exitCode: null,
            reason: `${outcome.error.code}: ${publicDetail(outcome.error.message)}`,
            value,
          };
        return {
          exitCode: outcome.exitCode,
          ...(outcome.exitCode === 0 ? {} : { reason: `exited with ${outcome.exitCode}` }),
          value,
        };
      },
    });
  }

  /** Submits a batch (all or none) and remembers its ids. */
  submit(specs: readonly WorkloadSpec[]): string[] {
    const handles = this.scheduler.submitAll(
      specs.map((spec) => ({
        id: spec.id,
        ...(spec.priority ? { priority: spec.priority } : {}),
        ...(spec.tenant ? { tenant: spec.tenant } : {}),
        ...(spec.dependsOn ? { dependsOn: spec.dependsOn } : {}),
        payload: spec,
      })),
    );
    for (const spec of specs) {
      this.#ids.push(spec.id);
      this.#specs.set(spec.id, {
        ...(spec.priority ? { priority: spec.priority } : {}),
        ...(spec.tenant ? { tenant: spec.tenant } : {}),
      });
    }
    // Bounded: ids of workloads the scheduler no longer remembers are dropped, oldest first.
    while (this.#ids.length > this.#retain + this.scheduler.context().maxQueueDepth)
      this.#specs.delete(this.#ids.shift()!);
    return handles.map((h) => h.id);
  }

  /** Every workload still known: live ones as the scheduler lists them, finished ones with how they ended. */
  list() {
    const live = new Map(this.scheduler.list().map((w) => [w.id, w]));
    const rows = [];
    for (const id of this.#ids) {
      const queued = live.get(id);
      if (queued) {
        const { submittedAt: _at, ...row } = queued;
        rows.push({ ...row, waitingOn: [...row.waitingOn] });
        continue;
      }
      const result: WorkloadResult<WorkloadRun> | undefined = this.scheduler.result(id);
      if (result === undefined) continue;
      rows.push({
        id,
        state: result.state,
        priority: this.#specs.get(id)?.priority ?? 'normal',
        tenant: this.#specs.get(id)?.tenant ?? 'default',
        waitingOn: [],
        startOrder: result.startOrder,
        exitCode: result.exitCode,
        ...(result.reason === undefined ? {} : { reason: publicDetail(result.reason) }),
        ...(result.value ? { containerId: result.value.containerId } : {}),
      });
    }
    return rows;
  }

  close(): Promise<void> {
    return this.scheduler.close('the API server closed');
  }
}

function definedOnly<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
