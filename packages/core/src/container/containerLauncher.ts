import { runContextOf } from '../runContext';
import { ForgeError, newId, toForgeError, type ContainerId } from '@forgeone/common';
import type { EnforcerSpec } from '@forgeone/execution';
import { approverOf } from '../approverOf';
import { launchKindOf, launchRefusal } from '../boot/bootMode';
import { guestEnforcement } from '../guestEnforcement';
import { guestSecretsOf, launchSecretNames } from '../guestSecrets';
import { checkHeldAllocation } from '../resources/heldAllocation';
import type { Allocation } from '../resources/resourceAdmission';
import { RunAudit, lazyBatchTaker } from '../runAudit';
import { RequestMarks, checkRequestId } from '../requestMarks';
import type { ContainerCalls } from './containerCalls';
import { checkContainerConfig, containerKindOf, type ContainerConfig } from './containerConfig';
import { checkSnapshotConfig, launchSnapshot } from './containerSnapshot';
import type { ContainerManagerDeps } from './containerDeps';
import type { ContainerQuarantine } from './containerQuarantine';
import type { ContainerSet } from './containerSet';
import type { ContainerTraces } from './containerTraces';
import { isTerminal } from './containerState';
import { LiveContainer } from './liveContainer';

/**
 * Launch of containers: admitted (boot mode, a closing kernel), loaded (verified or development
 * module, compiled once per host), allocated, instantiated and started; a command's `_start` then
 * runs on. Every way out of a failed launch ends the container and gives back what it held.
 */
export class ContainerLauncher {
  readonly #deps: ContainerManagerDeps;
  readonly #set: ContainerSet;
  readonly #calls: ContainerCalls;
  readonly #quarantine: ContainerQuarantine;
  readonly #traces: ContainerTraces;
  readonly #launching = new Set<Promise<unknown>>();
  /** Set while the kernel closes: launches are refused. */
  closing = false;

  constructor(
    deps: ContainerManagerDeps,
    set: ContainerSet,
    calls: ContainerCalls,
    quarantine: ContainerQuarantine,
    traces: ContainerTraces,
  ) {
    this.#deps = deps;
    this.#set = set;
    this.#calls = calls;
    this.#quarantine = quarantine;
    this.#traces = traces;
  }

  /** Launches a container and resolves with its id once it runs. */
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

  /** Resolves once every launch under way has ended (launched or refused). */
  async drained(): Promise<void> {
    await Promise.all(this.#launching);
  }

  /**
   * The boot mode's launch check (recovery refuses packages, maintenance every launch), and a
   * closing runtime's. It throws the refusal; nothing is loaded or allocated before it.
   */
  #admit(config: ContainerConfig): void {
    if (this.closing) {
      throw new ForgeError('FORGE_KERNEL_STATE', 'the runtime is closing: no container can be launched now');
    }
    const refusal = launchRefusal(this.#deps.boot?.mode ?? 'normal', { kind: launchKindOf(config) });
    if (refusal !== undefined) throw refusal;
  }

  async #launch(config: ContainerConfig): Promise<ContainerId> {
    this.#admit(config);
    const checked = checkContainerConfig(config, this.#deps.isolation ?? 'worker', config.name ?? 'module');
    const { identity, isolation, objects } = checked;
    const launchRequestId = checkRequestId(config.requestId, 'requestId');
    const snapshots = checkSnapshotConfig(config, isolation);
    const traceSettings = this.#traces.settings(config.durableTrace);
    await this.#set.recovered();
    const host = this.#deps.host(config.limits ?? {}, snapshots ? { snapshots } : {});
    if (isolation === 'worker') void host.prewarm().catch(() => undefined);
    const module = await this.#deps.load(host, config);
    const kind = containerKindOf(
      config,
      module.exports.map((e) => e.name),
    );
    // Checked (intact, same module, within the limits, signed) before anything is allocated.
    const snapshot = launchSnapshot(config, kind, module, host.limits.memoryPages * 65_536);
    const { policy, enforcerInstance } = guestEnforcement(
      module,
      config,
      { preopens: config.wasi?.preopens, secrets: launchSecretNames(config.secrets) },
      this.#deps.mode,
    );
    if (snapshots && config.secrets !== undefined && Object.keys(config.secrets).length > 0)
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        'a container given secrets cannot be snapshotted: its captured memory would hold them (launch it without snapshots)',
        { details: { field: 'snapshots' } },
      );
    const secrets = guestSecretsOf(config.secrets);
    // A refusal (FORGE_RESOURCE_EXHAUSTED naming the budget, FORGE_RESOURCE_MISMATCH for a held
    // allocation that does not cover it) propagates: nothing was started.
    const request = {
      identity: identity.subject,
      memoryPages: host.limits.memoryPages,
      worker: isolation === 'worker',
    };
    // A held allocation is its owner's to release: the container keeps only its own.
    let allocation: Allocation | undefined;
    if (config.allocation === undefined) allocation = this.#deps.resources?.allocate(request);
    else checkHeldAllocation(config.allocation, request);
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
    c.requests = new RequestMarks(launchRequestId);
    c.callOptions = {
      timeoutMs: host.limits.timeoutMs,
      ...(host.limits.fuel > 0 ? { fuel: host.limits.fuel } : {}),
    };
    try {
      // `created` is told to no caller and nothing has run: it reaches the store with `starting`.
      // `starting` is written before the guest runs any code (its start function, _initialize),
      // so a kernel killed during a launch leaves the container in the registry, interrupted.
      this.#set.created(c);
      await this.#set.move(c, 'start');
      this.#deps.events.emit('container.launched', { containerId: id, subject: identity.subject });
      if (this.#deps.audit) {
        c.audit = new RunAudit(this.#deps.audit, {
          containerId: id,
          identity,
          requests: c.requests,
          mode: objects ? (config.mode ?? this.#deps.mode) : (policy as EnforcerSpec).mode,
        });
      }
      const audit = c.audit;
      // Its durable trace, opened before the guest runs any code; closed however it ends.
      const stored = await this.#traces.open(
        id,
        {
          module: module.sha256,
          entry: kind === 'command' ? '_start' : '_initialize',
          recordedAt: now,
          run: runContextOf(module, {
            identity,
            spec: objects ? undefined : (policy as EnforcerSpec),
            mode: config.mode ?? this.#deps.mode,
            isolation,
            limits: host.limits,
          }),
        },
        traceSettings,
      );
      // The audit log and the durable trace take batches unbuilt: built off the guest's call path.
      const onTraceLazyBatch = lazyBatchTaker(audit, stored && { add: stored });
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
        ...(secrets ? { secrets } : {}),
        ...(onTraceLazyBatch ? { onTraceLazyBatch } : {}),
        ...(snapshots && { moduleName: module.name }),
        ...(snapshot && { fromSnapshot: snapshot }),
        ...approverOf(this.#deps, isolation),
        // A quarantine is the redzone's to end: the guest is held at its syscall (worker) or its
        // call cut there (inline), and the container kept for a release.
        holdQuarantined: true,
        onPaused: (reason) => {
          c.notePaused();
          if (reason.startsWith('quarantined:'))
            void this.#quarantine.byPolicy(c, reason.slice('quarantined:'.length).trim());
        },
      });
    } catch (error) {
      // Nothing of it runs: it failed with the error's code, and gives back what it held.
      if (!isTerminal(c.info.state))
        await this.#set.move(c, 'fail', { reason: toForgeError(error).code }).catch(() => undefined);
      await c.ended;
      throw error;
    }
    const start = c.instance.startOutcome;
    if (start !== undefined) {
      // The module's start function trapped or exited: launched, and ended at once.
      await this.#calls.settle(c, start, kind === 'command');
      return id;
    }
    const restored = c.instance.restoreOutcome;
    if (restored !== undefined && restored.status !== 'returned') {
      // Its forge_on_restore trapped or exited: launched from the snapshot, and ended at once.
      await this.#calls.settle(c, restored, false);
      return id;
    }
    // A service started from a snapshot was initialised when it was captured.
    if (
      snapshot === undefined &&
      kind === 'service' &&
      module.exports.some((e) => e.name === '_initialize')
    ) {
      const init = await c.enqueue(() => c.instance!.invoke('_initialize', [], c.callOptions));
      if (init.outcome.status !== 'returned') {
        await this.#calls.settle(c, init.outcome, false);
        return id;
      }
    }
    await this.#set.move(c, 'started');
    if (kind === 'command') {
      // The command runs on; its end (exit, trap, stop) is its container's end.
      void this.#calls
        .call(c, '_start', config.args ?? [], undefined, launchRequestId)
        .catch(() => undefined);
    }
    return id;
  }
}
