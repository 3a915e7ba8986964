import {
  ForgeError,
  KernelEventBus,
  newId,
  systemClock,
  type Clock,
  type KernelId,
  storageLimits,
  type StoragePort,
} from '@forgeone/common';
import {
  parseRuntimeConfig,
  type LiveConfig,
  type RuntimeConfig,
  type RuntimeConfigInput,
} from '@forgeone/config';
import {
  ResourceManager,
  Runtime,
  boot,
  type BootContext,
  type BootOptions,
  type DurableTraceOptions,
} from '@forgeone/core';
import { worldSyscallNames } from '@forgeone/execution';
import {
  ApprovalQueue,
  AuditLog,
  DEFAULT_AUDIT_LOG,
  LivePolicy,
  type LivePolicyInput,
} from '@forgeone/trust';

export interface CreateKernelOptions {
  /**
   * Configuration: plain input (validated here, defaults filled in), or a live ConfigContext whose
   * current `mode`, `limits`, `resources`, `storage` and `log` the kernel is composed with.
   */
  readonly config?: RuntimeConfigInput | LiveConfig;
  /** Durable state: kv namespaces of runs (`runModule({ kv })`). */
  readonly store?: StoragePort;
  /**
   * The hash-chained audit log every run appends its decisions to (usually `new AuditLog(store)`,
   * log `audit`). Flushed at shutdown, before the store is closed; the store stays the caller's.
   */
  readonly audit?: AuditLog;
  /**
   * Instead of `audit`: the store a run audit log is kept in (log `audit`, appended in big
   * batches so that a flood of calls costs few transactions). Closed at shutdown, after the log,
   * unless it is `store` (closed then anyway).
   */
  readonly auditStore?: StoragePort;
  readonly clock?: Clock;
  readonly events?: KernelEventBus;
  /**
   * Every run's and container's trace kept in `store` (on by default when there is a store):
   * `false` keeps none, an object sets the retention. Refused without a store.
   */
  readonly durableTraces?: false | DurableTraceOptions;
  /**
   * Boots the kernel before anything else (`boot` of @forgeone/core): the trust anchor, the
   * self-test against `store`, a `boot` entry in the audit log, and the mode the runtime then
   * honours. A refused boot throws its code and composes nothing. The clock, store and audit log
   * are the kernel's.
   */
  readonly boot?: KernelBootOptions;
  /**
   * The kernel's live policy: a policy document (or allow-list) every launch without a `policy`,
   * `pdp` or `enforcer` of its own runs under, or a LivePolicy made by the caller. Swap versions
   * with `kernel.policies.swap`; running guests decide their next calls under each new one.
   */
  readonly policy?: LivePolicyInput | LivePolicy;
  /**
   * Where containers' `ask` decisions wait for an operator (default: a queue of the kernel's own).
   * Under worker isolation the guest blocks at its call until it is answered or times out (deny);
   * inline, the call cannot wait on the kernel's thread and is denied at once.
   */
  readonly approvals?: ApprovalQueue;
  /** How long an asked call waits for an answer before it is denied, ms. Default 30,000. */
  readonly approvalTimeoutMs?: number;
}

/** What `createKernel({ boot })` takes: the boot parameters; the clock, store and audit log are the kernel's. */
export type KernelBootOptions = Omit<BootOptions, 'clock' | 'store' | 'audit'>;

/** A composed kernel: a value, not global state. Build as many as you like. */
export interface Kernel {
  readonly id: KernelId;
  /** The configuration in force (with a live ConfigContext: as of its last change of `limits`). */
  readonly config: RuntimeConfig;
  /** The ConfigContext the kernel was given, if it was given one. */
  readonly configContext: LiveConfig | undefined;
  readonly clock: Clock;
  readonly events: KernelEventBus;
  readonly runtime: Runtime;
  readonly store: StoragePort | undefined;
  /** What the kernel booted with, when it was composed with `boot`. */
  readonly boot: BootContext | undefined;
  /** The live policy (versions, history, swap), when the kernel was composed with one. */
  readonly policies: LivePolicy | undefined;
  /** The audit log every run's decisions go to (`audit` or one over `auditStore`), if it has one. */
  readonly audit: AuditLog | undefined;
  /**
   * The calls waiting for an operator's answer (`pending()`, `answer(id, 'allow' | 'deny', by)`);
   * each request and answer is also on `events` (`approval.requested`, `approval.settled`).
   */
  readonly approvals: ApprovalQueue;
  /** Stops the kernel and closes the store it was given. Idempotent. */
  shutdown(reason?: string): Promise<void>;
}

/** Composes a kernel from its parts; every part can be replaced. */
export async function createKernel(options: CreateKernelOptions = {}): Promise<Kernel> {
  if (options.durableTraces !== undefined && options.durableTraces !== false && options.store === undefined)
    throw new ForgeError('FORGE_INVALID_INPUT', 'createKernel option durableTraces needs a store', {
      details: { field: 'durableTraces' },
    });
  const context = isLiveConfig(options.config) ? options.config : undefined;
  const config = parseRuntimeConfig(
    context ? runtimeSections(context.value()) : ((options.config as RuntimeConfigInput | undefined) ?? {}),
  );
  const clock = options.clock ?? systemClock;
  const events = options.events ?? new KernelEventBus();
  const audit =
    options.audit ??
    (options.auditStore &&
      new AuditLog(options.auditStore, { log: DEFAULT_AUDIT_LOG, maxBatch: storageLimits.maxAppendBatch }));
  const booted =
    options.boot &&
    (await boot({
      ...options.boot,
      clock,
      ...(options.store ? { store: options.store } : {}),
      ...(audit ? { audit } : {}),
    }));
  const policies =
    options.policy === undefined || options.policy instanceof LivePolicy
      ? options.policy
      : new LivePolicy(options.policy, {
          knownSyscalls: worldSyscallNames(),
          mode: config.mode,
          clock,
          events,
        });
  if (
    options.approvalTimeoutMs !== undefined &&
    (!Number.isSafeInteger(options.approvalTimeoutMs) || options.approvalTimeoutMs < 1)
  )
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      'createKernel option approvalTimeoutMs must be an integer ≥ 1',
      {
        details: { field: 'approvalTimeoutMs' },
      },
    );
  const approvals = options.approvals ?? new ApprovalQueue({ clock });
  const offApprovals = approvals.onChange((event) => {
    const { id, request } = event.approval;
    if (event.type === 'requested')
      events.emit('approval.requested', {
        id,
        containerId: request.containerId,
        syscall: request.syscall,
        expiresAt: event.approval.expiresAt,
      });
    else
      events.emit('approval.settled', {
        id,
        containerId: request.containerId,
        syscall: request.syscall,
        verdict: event.outcome.verdict,
        by: event.outcome.by,
      });
  });
  const runtime = new Runtime({
    approvals,
    ...(options.approvalTimeoutMs === undefined ? {} : { approvalTimeoutMs: options.approvalTimeoutMs }),
    clock,
    events,
    limits: config.limits,
    mode: config.mode,
    ...(policies ? { policy: policies } : {}),
    resources: new ResourceManager(config.resources),
    ...(options.store ? { store: options.store } : {}),
    ...(audit ? { audit } : {}),
    ...(booted ? { boot: booted } : {}),
    ...(options.durableTraces !== undefined && { durableTraces: options.durableTraces }),
  });
  let stopped = false;
  let current = config;
  // A live configuration: what is launched after a change takes the new limits, mode and budgets,
  // and guests under the live policy decide their next calls in the new mode. A change the runtime
  // could not honour (more workers than its pool) is refused by the context before it is applied.
  const unsubscribe = context && followContext(context, runtime, (next) => (current = next));
  return {
    id: newId('kernel', clock.now()),
    get config() {
      return current;
    },
    configContext: context,
    clock,
    events,
    runtime,
    store: options.store,
    boot: booted,
    policies,
    audit,
    approvals,
    async shutdown(reason = 'shutdown') {
      if (stopped) return;
      stopped = true;
      unsubscribe?.();
      events.emit('kernel.shutdown', { reason });
      // Guests waiting for an answer are denied, so their workers can end.
      approvals.close(`the kernel is shutting down (${reason})`);
      offApprovals();
      // Workers first (they may still report), then the store they report into.
      await runtime.close();
      await audit?.close().catch(() => undefined);
      if (options.auditStore !== options.store) await options.auditStore?.close();
      await options.store?.close();
      events.removeAll();
    },
  };
}

/** Keeps the runtime on the context's `limits`, `mode` and `resources`; returns the unsubscribe. */
function followContext(
  context: LiveConfig,
  runtime: Runtime,
  update: (config: RuntimeConfig) => void,
): () => void {
  const read = () => {
    const next = parseRuntimeConfig(runtimeSections(context.value()));
    update(next);
    return next;
  };
  const offs = [
    context.subscribe('limits', () => runtime.setLimits(read().limits)),
    context.subscribe('mode', () =>
      runtime.setMode(read().mode, { actor: 'config', reason: `configuration version ${context.version}` }),
    ),
    context.subscribe('resources', () => runtime.setBudgets(read().resources)),
  ];
  const withPolicies = context as LiveConfig & {
    addPolicy?: (policy: { name: string; check(change: { after: unknown }): true | string }) => () => void;
  };
  if (typeof withPolicies.addPolicy === 'function') {
    offs.push(
      withPolicies.addPolicy({
        name: 'kernel: resource budgets it can honour live',
        check(change) {
          const after = change.after as { resources?: Record<string, number> };
          return (after.resources && runtime.budgetsProblem(after.resources)) ?? true;
        },
      }),
    );
  }
  return () => {
    for (const off of offs) off();
  };
}

/** The sections of a context's configuration that the plain RuntimeConfig has (others, e.g. `audit`, are not its). */
function runtimeSections(value: Readonly<Record<string, unknown>>): RuntimeConfigInput {
  const picked: Record<string, unknown> = {};
  for (const key of ['mode', 'limits', 'resources', 'storage', 'log'] as const)
    if (key in value) picked[key] = value[key];
  return picked as RuntimeConfigInput;
}

/** A live configuration (a ConfigContext) rather than plain input: plain input has no `value()`. */
function isLiveConfig(config: RuntimeConfigInput | LiveConfig | undefined): config is LiveConfig {
  return typeof (config as Partial<LiveConfig> | undefined)?.value === 'function';
}
