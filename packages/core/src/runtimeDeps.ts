import type { Clock, EnforcementMode, KernelEventBus, StoragePort } from '@forgeone/common';
import type { Limits } from '@forgeone/config';
import type { Isolation, WorkerPool } from '@forgeone/execution';
import type { ApprovalQueue, AuditLog, LivePolicy } from '@forgeone/trust';
import type { BootContext } from './boot/bootContext';
import type { QuarantineOptions } from './container/containerDeps';
import type { DurableTraceOptions } from './durableTrace';
import type { ResourceAdmission } from './resources/resourceAdmission';

/** What a Runtime is composed of: every collaborator is given, none is global. */
export interface RuntimeDeps {
  readonly clock: Clock;
  readonly events: KernelEventBus;
  readonly limits: Limits;
  readonly mode: EnforcementMode;
  /**
   * The kernel's live policy: what launches (containers and runs) that give no policy, pdp or
   * enforcer of their own run under, following every version swapped in and the live mode.
   */
  readonly policy?: LivePolicy;
  /** Isolation of runs that do not choose one. Default `worker`. */
  readonly isolation?: Isolation;
  /**
   * Isolation workers shared with other runtimes (default: a pool of this runtime's own, as large
   * as the `workers` budget). A pool smaller than that budget makes a launch past its size wait
   * until some worker is given back: by a run that ends or a container that stops.
   */
  readonly pool?: WorkerPool;
  /** Durable state: where runs with a `kv` namespace keep it. */
  readonly store?: StoragePort;
  /**
   * Where every run's decisions are appended (hash-chained), in every isolation and however the
   * run ends: each call the gate recorded becomes one entry. A run resolves only once its entries
   * are durable; a log that cannot be written fails the run (FORGE_STORAGE_IO).
   */
  readonly audit?: AuditLog;
  /**
   * Admits every run against the kernel's budgets (memory pages, workers, containers per identity,
   * CPU ms); released however the run ends. Default: a ResourceManager with config's default budgets.
   */
  readonly resources?: ResourceAdmission;
  /**
   * What the kernel booted with (`boot`): its mode decides whether a run may start (recovery:
   * no package; maintenance: nothing new) and whether every run is traced and kept (debug, in
   * `store`). Without it the runtime behaves as booted in normal mode.
   */
  readonly boot?: BootContext;
  /**
   * How long a quarantine may hold a container before it is terminated, and how often that is
   * checked. Records (runs' and containers') live in `store`, namespace `redzone`.
   */
  readonly quarantine?: QuarantineOptions;
  /**
   * Every run's and container's trace kept in `store` (log `trace/<containerId>`, index `traces`),
   * flushed in batches off the guest's path, with a retention bound; read back with observer's
   * TraceStore. On by default when there is a store; `false` turns it off.
   */
  readonly durableTraces?: false | DurableTraceOptions;
  /**
   * Where a container's `ask` decisions wait for an operator (worker isolation: the guest blocks at
   * its call until an answer or `approvalTimeoutMs`, then deny). Inline, a call cannot wait on
   * the kernel's own thread: it is denied at once, saying no approver is available.
   */
  readonly approvals?: ApprovalQueue;
  /** How long an asked call waits for an answer, ms. Default 30,000. */
  readonly approvalTimeoutMs?: number;
}
