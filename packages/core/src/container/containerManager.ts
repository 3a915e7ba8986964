import {
  ForgeError,
  MemoryStore,
  emptyExecutionDna,
  newId,
  toForgeError,
  type Clock,
  type ContainerId,
  type EnforcementMode,
  type KernelEventBus,
  type StoragePort,
} from '@forgeone/common';
import type { ContainerLimitsInput } from '@forgeone/config';
import type {
  EnforcerSpec,
  InvokeResult,
  Isolation,
  LoadedModule,
  ResultKind,
  RunOutcome,
  TypedValue,
  WasmHost,
  WasmInstance,
} from '@forgeone/execution';
import { Redzone, type AuditLog } from '@forgeone/trust';
import { launchKindOf, launchRefusal } from '../boot/bootMode';
import type { BootContext } from '../boot/bootContext';
import { guestEnforcement } from '../guestEnforcement';
import { quarantineInputOf, quarantineReasonOf } from '../quarantine/quarantineInput';
import type { ResourceAdmission } from '../resources/resourceAdmission';
import { RunAudit } from '../runAudit';
import {
  checkContainerConfig,
  checkDeadlineMs,
  containerKindOf,
  type ContainerConfig,
  type ContainerSource,
} from './containerConfig';
import { matchesFilter, type ContainerFilter, type ContainerInfo } from './containerInfo';
import { ContainerRegistry } from './containerRegistry';
import { isTerminal, nextContainerState, type ContainerAction } from './containerState';
import { LiveContainer } from './liveContainer';

/** How long `stop` lets the call in flight finish before the container is terminated, by default. */
export const DEFAULT_STOP_DEADLINE_MS = 5_000;
/** How long `close` lets each container's call in flight finish, by default. */
export const DEFAULT_CLOSE_DEADLINE_MS = 2_000;

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
  /** Asked for an allocation at each launch; every allocation is released on every way out. */
  readonly resources?: ResourceAdmission;
  /** How long `close` lets each container's call in flight finish. Default 2,000 ms. */
  readonly closeDeadlineMs?: number;
  /** What the kernel booted with: its mode may refuse a launch (maintenance: all; recovery: packages). */
  readonly boot?: BootContext;
  /** The redzone's bounds: records live in `store` (namespace `redzone`). */
  readonly quarantine?: QuarantineOptions;
  /** The host for a container's limits (hosts keep the compiled-module cache). */
  host(limits: ContainerLimitsInput): WasmHost;
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

/** Options of `stop`. */
export interface StopOptions {
  /** How long the call in flight may take to finish before the container is terminated. Default 5,000 ms. */
  readonly deadlineMs?: number;
}

/** Options of one `invoke`. */
export interface ContainerInvokeOptions {
  readonly results?: ResultKind;
}

/**
 * Long-lived containers: launched once (verified or development module, instantiated and kept),
 * then invoked, paused, resumed, quarantined, stopped and removed, every change through one
 * transition table (`containerTransitions`), published as `container.state` and kept in the
 * registry (the store), so that a kernel started after a crash lists every container and shows
 * those that were live as `failed("interrupted")`.
 */
export class ContainerManager {
  readonly #deps: ContainerManagerDeps;
  readonly #registry: ContainerRegistry;
  readonly #live = new Map<ContainerId, LiveContainer>();
  readonly #launching = new Set<Promise<unknown>>();
  #closing = false;
  readonly #redzone: Redzone;
  #recovery: Promise<void> | undefined;
  #stopExpiry: (() => void) | undefined;

  constructor(deps: ContainerManagerDeps) {
    this.#deps = deps;
    this.#registry = new ContainerRegistry(deps.store);
    const maxQuarantineMs = deps.quarantine?.maxQuarantineMs;
    this.#redzone = new Redzone(deps.store ?? new MemoryStore(), {
      clock: deps.clock,
      ...(maxQuarantineMs === undefined ? {} : { maxQuarantineMs }),
      onRelease: (record) => this.#released(record.containerId as ContainerId),
      onTerminate: (record) => this.#terminated(record.containerId as ContainerId),
    });
  }

  /**
   * The quarantine records (`ls`, `show`, analysis, remediation). Releasing or terminating through
   * it acts on the container as `release` and `terminate` do.
   */
  get redzone(): Redzone {
    return this.#redzone;
  }

  /** Launches a container and resolves with its id once it runs (a command's `_start` then runs on). */
  launch(config: ContainerConfig): Promise<ContainerId> {
    const launch = this.#launch(config);
    const settled = launch.then(
      () => undefined,
      () => undefined,
    );
    this.#launching.add(settled);
    void settled.then(() => this.#launching.delete(settled));
    return launch;
  }

  /** The container's registry entry (FORGE_CONTAINER_NOT_FOUND when there is none). */
  async get(id: ContainerId): Promise<ContainerInfo> {
    await this.#recovered();
    const info = this.#registry.get(id);
    if (info === undefined) throw notFound(id);
    return info;
  }

  /** Every container of the registry that matches `filter`, oldest first. */
  async list(filter?: ContainerFilter): Promise<ContainerInfo[]> {
    await this.#recovered();
    return [...this.#registry.all()]
      .filter((info) => matchesFilter(info, filter))
      .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
  }

  /**
   * Calls a service's export. Calls are taken one at a time, in order; while the container is
   * paused or quarantined the call waits until it is resumed or released. A trap or a deadline
   * comes back as the outcome and fails the container; a wrong argument or missing export is
   * the caller's error and leaves it running.
   */
  async invoke(
    id: ContainerId,
    entry: string,
    args: readonly TypedValue[] = [],
    options: ContainerInvokeOptions = {},
  ): Promise<InvokeResult> {
    const c = this.#live.get(id) ?? (await this.#container(id));
    if (c.info.kind === 'command') {
      throw new ForgeError(
        'FORGE_CONTAINER_STATE',
        `cannot invoke container ${id}: it is a command (it runs _start only)`,
        {
          details: { state: c.info.state, action: 'invoke', kind: 'command', containerId: id },
        },
      );
    }
    nextContainerState(c.info.state, 'invoke', id);
    return this.#call(c, entry, args, options.results);
  }

  /** Pauses a running container: the next call waits, the call in flight stops at its next syscall. */
  async pause(id: ContainerId): Promise<ContainerInfo> {
    const c = await this.#container(id);
    const moved = this.#move(c, 'pause');
    this.#hold(c);
    await moved;
    await c.whenBlocked();
    return c.info;
  }

  /** Resumes a paused container. */
  async resume(id: ContainerId): Promise<ContainerInfo> {
    const c = await this.#container(id);
    const moved = this.#move(c, 'resume');
    this.#unhold(c);
    await moved;
    return c.info;
  }

  /**
   * Quarantines a running or paused container (an operator's request; a policy's `quarantine`
   * decision does the same by itself): held at its next syscall, with `reason`, its DNA and the
   * rules that fired kept in a redzone record, until `release` (running again) or `terminate`
   * (stopped) — or the maximum quarantine time, which terminates it.
   */
  async quarantine(id: ContainerId, reason: string): Promise<ContainerInfo> {
    if (typeof reason !== 'string' || reason.length === 0) {
      throw new ForgeError('FORGE_INVALID_INPUT', 'quarantine needs a reason', {
        details: { field: 'reason' },
      });
    }
    const c = await this.#container(id);
    const moved = this.#move(c, 'quarantine', { reason });
    this.#hold(c);
    this.#deps.events.emit('container.quarantined', { containerId: id, reason });
    await moved;
    await c.whenBlocked();
    await this.#record(c, reason);
    return c.info;
  }

  /** Releases a quarantined container (and its redzone record): it runs again. */
  async release(id: ContainerId, by?: string): Promise<ContainerInfo> {
    const c = await this.#container(id);
    nextContainerState(c.info.state, 'release', id);
    if (await this.#redzone.isSuspended(id)) await this.#redzone.release(id, by);
    else await this.#released(id);
    return c.info;
  }

  /** Ends a quarantined container at once (and its redzone record): stopped, without the grace of `stop`. */
  async terminate(id: ContainerId, by?: string): Promise<ContainerInfo> {
    const c = await this.#container(id);
    nextContainerState(c.info.state, 'terminate', id);
    if (await this.#redzone.isSuspended(id)) await this.#redzone.terminate(id, 'terminated', by);
    else await this.#terminated(id);
    await c.ended;
    return c.info;
  }

  /**
   * Stops a container gracefully: calls not started are refused, the call in flight (a command's
   * `_start`) may finish within `deadlineMs`, then the container is terminated. A paused one is
   * resumed for that; a quarantined one is terminated at once. Resolves with its final entry.
   */
  async stop(id: ContainerId, options: StopOptions = {}): Promise<ContainerInfo> {
    const deadlineMs = checkDeadlineMs(options.deadlineMs, DEFAULT_STOP_DEADLINE_MS);
    const c = await this.#container(id);
    await this.#stop(c, deadlineMs);
    return c.info;
  }

  /** Takes a stopped or failed container out of the registry (FORGE_CONTAINER_STATE while it lives). */
  async remove(id: ContainerId): Promise<void> {
    await this.#recovered();
    const info = this.#registry.get(id);
    if (info === undefined) throw notFound(id);
    nextContainerState(info.state, 'remove', id);
    const c = this.#live.get(id);
    if (c !== undefined) {
      await c.ended;
      releaseOf(c);
      this.#live.delete(id);
    }
    await this.#registry.delete(id);
  }

  /**
   * Stops every container (each call in flight gets `closeDeadlineMs`; quarantined ones are
   * terminated) once the launches under way have ended; resolves when all of it is in the registry.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#stopExpiry?.();
    this.#stopExpiry = undefined;
    try {
      await Promise.all(this.#launching);
      const deadlineMs = this.#deps.closeDeadlineMs ?? DEFAULT_CLOSE_DEADLINE_MS;
      await Promise.all(
        [...this.#live.values()].map(async (c) => {
          try {
            const state = c.info.state;
            if (state === 'quarantined') await this.#move(c, 'terminate');
            else if (state === 'running' || state === 'paused') await this.#stop(c, deadlineMs);
          } catch {
            // A container that ended meanwhile (its own exit, a failure) is ended all the same.
          }
          await c.ended;
        }),
      );
      await this.#registry.flushed();
    } finally {
      this.#closing = false;
    }
  }

  // --- launch ---------------------------------------------------------------------------------

  /**
   * The boot mode's launch check (recovery refuses packages, maintenance every launch), and a
   * closing runtime's. It throws the refusal; nothing is loaded or allocated before it.
   */
  #admit(config: ContainerConfig): void {
    if (this.#closing) {
      throw new ForgeError('FORGE_KERNEL_STATE', 'the runtime is closing: no container can be launched now');
    }
    const refusal = launchRefusal(this.#deps.boot?.mode ?? 'normal', { kind: launchKindOf(config) });
    if (refusal !== undefined) throw refusal;
  }

  async #launch(config: ContainerConfig): Promise<ContainerId> {
    this.#admit(config);
    const checked = checkContainerConfig(config, this.#deps.isolation ?? 'worker', config.name ?? 'module');
    const { identity, isolation, objects } = checked;
    await this.#recovered();
    const host = this.#deps.host(config.limits ?? {});
    if (isolation === 'worker') void host.prewarm().catch(() => undefined);
    const module = await this.#deps.load(host, config);
    const kind = containerKindOf(
      config,
      module.exports.map((e) => e.name),
    );
    const { policy, enforcerInstance } = guestEnforcement(
      module,
      config,
      { preopens: config.wasi?.preopens },
      this.#deps.mode,
    );
    // A refusal (FORGE_RESOURCE_EXHAUSTED naming the budget) propagates: nothing was started.
    const allocation = this.#deps.resources?.allocate({
      identity: identity.subject,
      memoryPages: host.limits.memoryPages,
      worker: isolation === 'worker',
    });
    const now = this.#deps.clock.now();
    const id = newId('container', now);
    const c = new LiveContainer({
      id,
      name: config.name ?? module.name,
      kind,
      isolation,
      subject: identity.subject,
      moduleSha256: module.sha256,
      state: 'created',
      created_at: now,
      updated_at: now,
    });
    c.allocation = allocation;
    c.host = host;
    c.callOptions = {
      timeoutMs: host.limits.timeoutMs,
      ...(host.limits.fuel > 0 ? { fuel: host.limits.fuel } : {}),
    };
    this.#live.set(id, c);
    try {
      await this.#created(c);
      await this.#move(c, 'start');
      this.#deps.events.emit('container.launched', { containerId: id, subject: identity.subject });
      if (this.#deps.audit) {
        c.audit = new RunAudit(this.#deps.audit, {
          containerId: id,
          identity,
          mode: objects ? (config.mode ?? this.#deps.mode) : (policy as EnforcerSpec).mode,
        });
      }
      const audit = c.audit;
      c.instance = await host.instantiate(module, {
        containerId: id,
        isolation,
        identity,
        ...(objects ? { enforcerInstance: enforcerInstance! } : { enforcer: policy as EnforcerSpec }),
        ...(config.wasi ? { wasi: config.wasi } : {}),
        ...(config.inlineDeadline ? { inlineDeadline: config.inlineDeadline } : {}),
        ...(config.onLog ? { onLog: config.onLog } : {}),
        ...(config.onStdout ? { onStdout: config.onStdout } : {}),
        ...(config.onStderr ? { onStderr: config.onStderr } : {}),
        ...(config.onEvent ? { onEvent: config.onEvent } : {}),
        ...(audit ? { onTraceBatch: (batch) => audit.add(batch) } : {}),
        // A quarantine is the redzone's to end: the guest is held at its syscall (worker) or its
        // call cut there (inline), and the container kept for a release.
        holdQuarantined: true,
        onPaused: (reason) => {
          c.notePaused();
          if (reason.startsWith('quarantined:'))
            void this.#quarantinedByPolicy(c, reason.slice('quarantined:'.length).trim());
        },
      });
    } catch (error) {
      // Nothing of it runs: it failed with the error's code, and gives back what it held.
      if (!isTerminal(c.info.state))
        await this.#move(c, 'fail', { reason: toForgeError(error).code }).catch(() => undefined);
      await c.ended;
      throw error;
    }
    const start = c.instance.startOutcome;
    if (start !== undefined) {
      // The module's start function trapped or exited: launched, and ended at once.
      await this.#settle(c, start, kind === 'command');
      return id;
    }
    if (kind === 'service' && module.exports.some((e) => e.name === '_initialize')) {
      const init = await c.enqueue(() => c.instance!.invoke('_initialize', [], c.callOptions));
      if (init.outcome.status !== 'returned') {
        await this.#settle(c, init.outcome, false);
        return id;
      }
    }
    await this.#move(c, 'started');
    if (kind === 'command') {
      // The command runs on; its end (exit, trap, stop) is its container's end.
      void this.#call(c, '_start', config.args ?? [], undefined).catch(() => undefined);
    }
    return id;
  }

  async #created(c: LiveContainer): Promise<void> {
    const { info } = c;
    this.#deps.events.emit('container.state', {
      containerId: info.id,
      name: info.name,
      state: 'created',
      previous: null,
      created_at: info.created_at,
      updated_at: info.updated_at,
    });
    await this.#registry.put(info);
  }

  // --- calls ----------------------------------------------------------------------------------

  async #call(
    c: LiveContainer,
    entry: string,
    args: readonly TypedValue[],
    results: ResultKind | undefined,
  ): Promise<InvokeResult> {
    let result: InvokeResult;
    try {
      result = await c.enqueue(() => {
        const instance = c.instance!;
        // A worker that died between calls: its container failed, and this call is refused.
        if (instance.state === 'terminated' || instance.state === 'trapped') {
          throw new ForgeError(
            'FORGE_WORKER_FAILED',
            `container ${c.info.id} lost its instance between calls`,
          );
        }
        return instance.invoke(entry, args, results ? { ...c.callOptions, results } : c.callOptions);
      });
    } catch (error) {
      // A wrong argument or a missing export leaves the instance as it was; anything that ended it fails it.
      if (!isTerminal(c.info.state) && c.info.state !== 'stopping' && instanceEnded(c.instance)) {
        await this.#move(c, 'fail', { reason: toForgeError(error).code }).catch(() => undefined);
      }
      throw error;
    }
    const { outcome } = result;
    if (
      outcome.status === 'trapped' &&
      outcome.error.code === 'FORGE_CONTAINER_QUARANTINED' &&
      !instanceEnded(c.instance)
    ) {
      // Inline: the policy's quarantine cut this call at its syscall; the container is held.
      c.cut = c.info.kind === 'command';
      await this.#quarantinedByPolicy(c, quarantineReasonOf(outcome.error));
      return result;
    }
    // A service's call that returned changes nothing.
    if (result.outcome.status !== 'returned' || c.info.kind === 'command')
      await this.#settle(c, result.outcome, c.info.kind === 'command');
    return result;
  }

  /** What a call's ending does to its container: a trap fails it, an exit (or a command's return) ends it. */
  async #settle(c: LiveContainer, outcome: RunOutcome, command: boolean): Promise<void> {
    if (isTerminal(c.info.state)) return;
    if (outcome.status === 'trapped') await this.#move(c, 'fail', { reason: outcome.error.code });
    else if (outcome.status === 'exited' || command)
      await this.#move(c, 'exit', { exitCode: outcome.exitCode });
  }

  // --- quarantine ------------------------------------------------------------------------------

  /** A policy decided `quarantine`: the container is held and the record made, as an operator's would be. */
  async #quarantinedByPolicy(c: LiveContainer, reason: string): Promise<void> {
    if (c.info.state !== 'running' && c.info.state !== 'paused') return;
    try {
      c.hold();
      await this.#move(c, 'quarantine', { reason });
      await this.#record(c, reason);
    } catch {
      // The container ended meanwhile (stopped, failed): nothing is left to hold.
    }
  }

  /** The redzone record of a held container: reason, rules that fired, DNA; expiry starts watching. */
  async #record(c: LiveContainer, reason: string): Promise<void> {
    const instance = c.instance;
    c.recorded = true;
    const record = await this.#redzone.quarantine(
      quarantineInputOf(c.info.id, reason, {
        trace: instance?.trace() ?? [],
        dna: instance?.dna() ?? emptyExecutionDna(c.info.id),
      }),
    );
    this.#deps.events.emit('quarantine.recorded', {
      containerId: c.info.id,
      reason,
      firedRules: record.firedRules,
      deadline: record.deadline,
    });
    this.#stopExpiry ??= this.#redzone.startExpiry(this.#deps.quarantine?.expiryIntervalMs ?? 1_000);
  }

  /** The redzone released the record: the container runs again (an inline command whose call was cut ends). */
  async #released(id: ContainerId): Promise<void> {
    this.#deps.events.emit('quarantine.resolved', { containerId: id, state: 'released' });
    const c = this.#live.get(id);
    if (c === undefined || c.info.state !== 'quarantined') return;
    await this.#move(c, 'release');
    this.#unhold(c);
    if (c.cut) await this.#move(c, 'exit', { exitCode: null });
  }

  /** The redzone terminated the record (an operator, a remediation, or its maximum time): the container stops. */
  async #terminated(id: ContainerId): Promise<void> {
    const c = this.#live.get(id);
    this.#deps.events.emit('quarantine.resolved', { containerId: id, state: 'terminated' });
    if (c === undefined || c.info.state !== 'quarantined') return;
    await this.#move(c, 'terminate');
    await c.ended;
  }

  // --- pause, stop ----------------------------------------------------------------------------

  #hold(c: LiveContainer): void {
    c.hold();
    const instance = c.instance;
    if (instance !== undefined && (instance.state === 'created' || instance.state === 'running'))
      instance.pause();
  }

  #unhold(c: LiveContainer): void {
    if (c.instance?.state === 'paused') c.instance.resume();
    c.unhold();
  }

  async #stop(c: LiveContainer, deadlineMs: number): Promise<void> {
    const from = c.info.state;
    const moved = this.#move(c, 'stop');
    c.refuse(
      new ForgeError('FORGE_CONTAINER_STATE', `container ${c.info.id} was stopped before the call started`, {
        details: { state: 'stopping', action: 'invoke', containerId: c.info.id },
      }),
    );
    if (from === 'quarantined') {
      await moved;
      await this.#move(c, 'stopped');
    } else {
      // Paused: the call it holds may finish within the deadline.
      if (from === 'paused' && c.instance?.state === 'paused') c.instance.resume();
      await moved;
      await c.whenIdle(deadlineMs);
      if (!isTerminal(c.info.state)) await this.#move(c, 'stopped');
    }
    await c.ended;
  }

  // --- transitions ----------------------------------------------------------------------------

  /**
   * Applies one action through the table (or throws FORGE_CONTAINER_STATE), publishes the change
   * and resolves once the registry has it. Reaching a terminal state ends the container.
   */
  #move(
    c: LiveContainer,
    action: ContainerAction,
    extra: { readonly reason?: string; readonly exitCode?: number | null } = {},
  ): Promise<void> {
    const previous = c.info.state;
    const next = nextContainerState(previous, action, c.info.id);
    if (next === 'removed') throw new ForgeError('FORGE_INTERNAL', 'remove is not a move');
    const { reason: _reason, exitCode: _exitCode, ...base } = c.info;
    // Failed and quarantined say why; stopped says how a command ended.
    const reason = next === 'failed' || next === 'quarantined' ? extra.reason : undefined;
    const info: ContainerInfo = {
      ...base,
      state: next,
      ...(reason === undefined ? {} : { reason }),
      ...(next === 'stopped' && extra.exitCode !== undefined ? { exitCode: extra.exitCode } : {}),
      updated_at: this.#deps.clock.now(),
    };
    c.info = info;
    this.#deps.events.emit('container.state', {
      containerId: info.id,
      name: info.name,
      state: next,
      previous,
      ...(reason === undefined ? {} : { reason }),
      created_at: info.created_at,
      updated_at: info.updated_at,
    });
    const persisted = this.#registry.put(info);
    if (isTerminal(next)) c.ended = this.#end(c);
    return persisted;
  }

  /** Everything a container holds is given back, on every way out: instance, allocation, audit. */
  async #end(c: LiveContainer): Promise<void> {
    const { id, state, reason, exitCode } = c.info;
    c.refuse(
      new ForgeError('FORGE_CONTAINER_STATE', `container ${id} is ${state}`, {
        details: { state, action: 'invoke', containerId: id },
      }),
    );
    try {
      if (c.instance !== undefined) await c.host?.dispose(c.instance);
    } catch {
      // Best effort: the instance is gone either way.
    }
    releaseOf(c);
    // A record still held (the container was stopped, failed, or the kernel closed) ends with it.
    if (c.recorded && (await this.#redzone.isSuspended(id).catch(() => false)))
      await this.#redzone.terminate(id, `the container is ${state}`, 'kernel').catch(() => undefined);
    this.#deps.events.emit('container.exited', {
      containerId: id,
      exitCode: exitCode ?? null,
      reason: reason ?? state,
    });
    await c.audit?.finish(c.instance?.trace() ?? []).catch(() => undefined);
    // Its entry is the registry's now: the instance (its memory, its trace) is let go.
    c.instance = undefined;
    c.host = undefined;
    this.#live.delete(id);
  }

  async #container(id: ContainerId): Promise<LiveContainer> {
    await this.#recovered();
    const c = this.#live.get(id);
    if (c !== undefined) return c;
    const info = this.#registry.get(id);
    if (info === undefined) throw notFound(id);
    // A container of an earlier kernel: only its entry is left.
    return new LiveContainer(info);
  }

  /**
   * The registry as the last kernel left it. A container that was held in quarantine when that
   * kernel died is interrupted like the others, and its redzone record is ended with it (else it
   * would stay active, holding nothing, until its maximum time).
   */
  #recovered(): Promise<void> {
    this.#recovery ??= this.#registry
      .recover(() => this.#deps.clock.now())
      .then(async (ids) => {
        for (const id of ids) {
          if (await this.#redzone.isSuspended(id)) {
            await this.#redzone.terminate(id, 'the kernel stopped while the container was held', 'kernel');
          }
        }
      });
    return this.#recovery;
  }
}

function notFound(id: ContainerId): ForgeError {
  return new ForgeError('FORGE_CONTAINER_NOT_FOUND', `no container ${id} in the registry`, {
    details: { containerId: id },
  });
}

function instanceEnded(instance: WasmInstance | undefined): boolean {
  return instance === undefined || instance.state === 'terminated' || instance.state === 'trapped';
}

function releaseOf(c: LiveContainer): void {
  const allocation = c.allocation;
  c.allocation = undefined;
  try {
    allocation?.release();
  } catch {
    // A faulty manager must not keep a container from ending.
  }
}
