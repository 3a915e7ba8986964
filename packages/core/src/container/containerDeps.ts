import type { Clock, EnforcementMode, KernelEventBus, StoragePort } from '@forgeone/common';
import type { ContainerLimitsInput } from '@forgeone/config';
import type { Isolation, LoadedModule, WasmHost } from '@forgeone/execution';
import type { ApprovalQueue, AuditLog } from '@forgeone/trust';
import type { BootContext } from '../boot/bootContext';
import type { DurableTraceOptions } from '../durableTrace';
import type { ResourceAdmission } from '../resources/resourceAdmission';
import type { ContainerSource } from './containerConfig';

/** What a ContainerManager is composed of (a Runtime gives it its own hosts and loader). */
export interface ContainerManagerDeps {
  readonly clock: Clock;
  readonly events: KernelEventBus;
  readonly mode: EnforcementMode;
  /** Isolation of containers that do not choose one. Default `worker`. */
  readonly isolation?: Isolation;
  /** Where the registry lives (namespace `containers`); without it, the registry is in memory only. */
  readonly store?: StoragePort;
  /** Where every container's decisions are appended, however it ends. */
  readonly audit?: AuditLog;
  /**
   * Every container's trace kept in `store` (observer's TraceSink; on by default when there is a
   * store, `false` turns it off), closed however the container ends.
   */
  readonly durableTraces?: false | DurableTraceOptions;
  /** Asked for an allocation at each launch; every allocation is released on every way out. */
  readonly resources?: ResourceAdmission;
  /** How long `close` lets each container's call in flight finish. Default 2,000 ms. */
  readonly closeDeadlineMs?: number;
  /** What the kernel booted with: its mode may refuse a launch (maintenance: all; recovery: packages). */
  readonly boot?: BootContext;
  /** The redzone's bounds: records live in `store` (namespace `redzone`). */
  readonly quarantine?: QuarantineOptions;
  /**
   * Where a container's `ask` decisions wait for an operator (worker isolation: the guest blocks at
   * its call until an answer or `approvalTimeoutMs`, then deny). Inline, a call cannot wait on
   * the kernel's own thread: it is denied at once, saying no approver is available.
   */
  readonly approvals?: ApprovalQueue;
  /** How long an asked call waits for an answer, ms. Default 30,000. */
  readonly approvalTimeoutMs?: number;
  /**
   * The host for a container's limits (hosts keep the compiled-module cache); `snapshots`: one
   * that compiles modules for snapshots.
   */
  host(limits: ContainerLimitsInput, options?: { readonly snapshots?: boolean }): WasmHost;
  /** Reads, verifies and compiles a container's module (as `runModule` does). */
  load(host: WasmHost, source: ContainerSource): Promise<LoadedModule>;
}

/** How long a quarantine may hold a container, and how often overdue ones are terminated. */
export interface QuarantineOptions {
  /** Longest stay before the container is terminated. Default 15 minutes (the redzone's). */
  readonly maxQuarantineMs?: number;
  /** How often stays past their time are looked for. Default 1,000 ms. */
  readonly expiryIntervalMs?: number;
}
