import { basename } from 'node:path';
import {
  ForgeError,
  IdentityContextSchema,
  enforcementModes,
  parseWith,
  type ContainerId,
  type EnforcementMode,
} from '@forgeone/common';
import {
  LimitsSchema,
  resolveLimits,
  type ContainerLimitsInput,
  type Limits,
  type ResourceBudgets,
} from '@forgeone/config';
import { z } from 'zod';
import {
  WasmHost,
  checkKvConfig,
  parseKvDurability,
  readModuleFile,
  worldSyscallNames,
  type Isolation,
  type LoadedModule,
  type ModuleFileKind,
  type TypedValue,
  WorkerPool,
} from '@forgeone/execution';
import { checkAllowList, type LivePolicy, type LivePolicyMeta } from '@forgeone/trust';
import type { EncodeSnapshotOptions, EncodedSnapshot } from '@forgeone/observer';
import { KvNamespaces, type KvLease, type KvNamespaceChanges } from './kvNamespaces';
import { executeRun, type RunExecution } from './runExecution';
import type { RuntimeDeps } from './runtimeDeps';
import { ResourceManager } from './resources/resourceManager';
import { cpuAccountOf } from './resources/cpuAccount';
import { checkHeldAllocation } from './resources/heldAllocation';
import type { Allocation, ResourceAdmission } from './resources/resourceAdmission';
import type { ResourceUsage } from './resources/resourceUsage';
import type { ReplayOptions, RunModuleOptions, RunReport } from './runTypes';
import { launchKindOf, launchRefusal, traceAll } from './boot/bootMode';
import { DebugTraces } from './boot/debugTraces';
import {
  ContainerManager,
  type ContainerInvokeOptions,
  type StopOptions,
} from './container/containerManager';
import type { ContainerConfig } from './container/containerConfig';
import type { ContainerFilter, ContainerInfo } from './container/containerInfo';

const EnforcementModeSchema = z.enum(enforcementModes);

/** Runs guest modules: verify or compile (cached), wire every import through one gate, run, report. */
export class Runtime {
  readonly #deps: RuntimeDeps;
  readonly #hosts = new Map<string, WasmHost>();

  readonly #resources: ResourceAdmission;
  /** The kernel's limits for what is launched next (`setLimits`). */
  #limits: Limits;

  constructor(deps: RuntimeDeps) {
    // The mode is read at each launch (`setMode` changes it for later ones): one object, a getter.
    this.#mode = deps.mode;
    const mode = () => this.#mode;
    this.#deps = {
      ...deps,
      get mode() {
        return mode();
      },
    };
    deps = this.#deps;
    this.#limits = deps.limits;
    this.#resources = deps.resources ?? new ResourceManager();
    if (deps.boot !== undefined && traceAll(deps.boot.mode)) this.#debugTraces = new DebugTraces(deps.store);
    this.#containers = new ContainerManager({
      ...deps,
      resources: this.#resources,
      host: (limits, options) => this.#host(limits, options),
      load: (host, source) => this.#load(host, source),
    });
  }

  // Containers: each method is the ContainerManager's.
  readonly #containers: ContainerManager;
  /** The containers' manager, for what is not wrapped here (quarantine, release, terminate). */
  get containers(): ContainerManager {
    return this.#containers;
  }
  /** Launches a long-lived container (a command runs `_start`; a service serves `invoke`). */
  launchContainer(config: ContainerConfig): Promise<ContainerId> {
    return this.#containers.launch(this.#underLivePolicy(config));
  }
  /** A container's registry entry. */
  get(id: ContainerId): Promise<ContainerInfo> {
    return this.#containers.get(id);
  }
  /** The registry's containers that match `filter`. */
  list(filter?: ContainerFilter): Promise<ContainerInfo[]> {
    return this.#containers.list(filter);
  }
  /** Calls a service container's export. */
  invoke(id: ContainerId, entry: string, args?: readonly TypedValue[], options?: ContainerInvokeOptions) {
    return this.#containers.invoke(id, entry, args, options);
  }
  /** Pauses a container at its next syscall. */
  pause(id: ContainerId): Promise<ContainerInfo> {
    return this.#containers.pause(id);
  }
  /** Resumes a paused container. */
  resume(id: ContainerId): Promise<ContainerInfo> {
    return this.#containers.resume(id);
  }
  /** Stops a container gracefully, then terminates it past `deadlineMs`. */
  stop(id: ContainerId, options?: StopOptions): Promise<ContainerInfo> {
    return this.#containers.stop(id, options);
  }
  /** See ContainerManager.snapshot. */
  snapshot(id: ContainerId, options?: EncodeSnapshotOptions): Promise<EncodedSnapshot> {
    return this.#containers.snapshot(id, options);
  }
  /**
   * The kernel's limits from now on: runs and containers launched after this take them (over
   * their own overrides); what runs keeps the limits it started with. Validated first
   * (FORGE_CONFIG_INVALID): a bad value changes nothing. A live configuration's change of
   * `limits` comes here (createKernel wires it).
   */
  setLimits(limits: Limits): void {
    this.#limits = parseWith(LimitsSchema, limits, 'limits');
  }

  /** The kernel's limits for what is launched next. */
  get limits(): Limits {
    return this.#limits;
  }

  /** The kernel's live policy (versions, history, swap), when it was composed with one. */
  get policies(): LivePolicy | undefined {
    return this.#deps.policy;
  }

  /** The kernel's enforcement mode: what launches without a mode of their own take. */
  get mode(): EnforcementMode {
    return this.#mode;
  }

  #mode: EnforcementMode;

  /**
   * The kernel's mode from now on (`enforce`, `audit`, `permissive`): launches after this take it,
   * and every guest running under the live policy without a mode of its own decides its next calls
   * in it (a new policy version). Guests with their own policy, pdp or enforcer keep theirs.
   */
  setMode(mode: EnforcementMode, meta?: LivePolicyMeta): void {
    const checked = parseWith(EnforcementModeSchema, mode, 'mode');
    this.#deps.policy?.setMode(checked, meta);
    this.#mode = checked;
  }

  /**
   * The resource budgets later launches are admitted against (see ResourceManager.setBudgets):
   * running containers keep what they hold. More `workers` than this runtime's own worker pool
   * holds cannot be honoured live (FORGE_RESOURCE_BUDGET_REFUSED: restart to grow the pool).
   */
  setBudgets(budgets: Partial<ResourceBudgets>): void {
    const problem = this.budgetsProblem(budgets);
    if (problem !== undefined) throw new ForgeError('FORGE_RESOURCE_BUDGET_REFUSED', problem);
    (this.#resources as ResourceManager).setBudgets(budgets);
  }

  /** Why `setBudgets(budgets)` would be refused, or undefined (a live configuration's change policy asks first). */
  budgetsProblem(budgets: Partial<ResourceBudgets>): string | undefined {
    if (!(this.#resources instanceof ResourceManager))
      return 'this runtime admits launches with a resource admission of its own: its budgets cannot be changed here';
    const poolSize = this.#deps.pool === undefined ? this.#poolSize : undefined;
    if (budgets.workers !== undefined && poolSize !== undefined && budgets.workers > poolSize)
      return `resources.workers ${budgets.workers} is more than the ${poolSize} workers this kernel's pool was made with; restart the kernel to grow it`;
    return undefined;
  }

  /** A launch that gives no decider of its own runs under the kernel's live policy (when it has one). */
  #underLivePolicy<T extends { policy?: unknown; pdp?: unknown; enforcer?: unknown; mode?: EnforcementMode }>(
    config: T,
  ): T {
    const live = this.#deps.policy;
    if (live === undefined || typeof config !== 'object' || config === null) return config;
    if (config.policy !== undefined || config.pdp !== undefined || config.enforcer !== undefined)
      return config;
    return { ...config, policy: live.launchSpec(config.mode) };
  }
  /** Removes a stopped or failed container from the registry. */
  remove(id: ContainerId): Promise<void> {
    return this.#containers.remove(id);
  }

  /** The kernel's resource manager: what a scheduler running work on this kernel admits with. */
  get resources(): ResourceAdmission {
    return this.#resources;
  }

  /** Live use of the kernel's budgets (undefined when the given admission reports none). */
  usage(): ResourceUsage | undefined {
    const admission = this.#resources as Partial<ResourceManager>;
    return typeof admission.usage === 'function' ? admission.usage() : undefined;
  }

  /** The traces a debug-mode kernel keeps of its runs (undefined in other modes). */
  get debugTraces(): DebugTraces | undefined {
    return this.#debugTraces;
  }

  readonly #debugTraces: DebugTraces | undefined;

  /** Names of every syscall a guest can import from this runtime (forge.* and wasi.*). */
  syscallNames(): string[] {
    return worldSyscallNames();
  }

  /** Runs one module to completion and reports what happened. */
  runModule(options: RunModuleOptions): Promise<RunReport> {
    // The boot mode is asked first: a refused launch reads and starts nothing.
    const refusal = launchRefusal(this.#deps.boot?.mode ?? 'normal', { kind: launchKindOf(options) });
    if (refusal !== undefined) return Promise.reject(refusal);
    // Tracked so that close() returns only once every run has ended and kept its kv writes.
    const run = this.#runModule(this.#underLivePolicy(options));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#running.add(settled);
    void settled.then(() => this.#running.delete(settled));
    return run;
  }

  readonly #running = new Set<Promise<void>>();
  /** What a run's execution reads of this runtime. */
  readonly #execution: RunExecution = {
    deps: () => this.#deps,
    closing: () => this.#closing,
    debugTraces: () => this.#debugTraces,
    redzone: () => this.#containers.redzone,
  };
  /** True while close() runs: a guest about to start then is refused instead of outliving it. */
  #closing = false;

  async #runModule(options: RunModuleOptions): Promise<RunReport> {
    const identity = parseWith(
      IdentityContextSchema,
      options.identity ?? { subject: `module:${runName(options)}` },
      'identity',
    );
    const objects = options.pdp !== undefined || options.enforcer !== undefined;
    if (!objects && options.policy === undefined) {
      throw new ForgeError('FORGE_INVALID_INPUT', 'runModule needs a policy, a pdp or an enforcer');
    }
    // A typo in an allow-list is one coded error before anything is read or loaded.
    if (!objects && options.policy?.policy?.kind === 'allow-list')
      checkAllowList(options.policy.policy.allow ?? [], { knownSyscalls: worldSyscallNames() });
    const isolation: Isolation = objects ? 'inline' : (options.isolation ?? this.#deps.isolation ?? 'worker');
    const host = this.#host(options.limits ?? {});
    // Starting the worker overlaps with verifying and compiling, and with reading the namespace.
    if (isolation === 'worker') void host.prewarm().catch(() => undefined);
    const kvLease = this.#leaseKv(options);
    // A failed module load must not leave the namespace read unobserved.
    kvLease?.catch(() => undefined);
    let kv: KvLease | undefined;
    let allocation: Allocation | undefined;
    try {
      // Admitted (or refused, FORGE_RESOURCE_EXHAUSTED) before the module is read or instantiated.
      const request = {
        identity: identity.subject,
        memoryPages: host.limits.memoryPages,
        worker: isolation === 'worker',
      };
      if (options.allocation === undefined) allocation = this.#resources.allocate(request);
      else checkHeldAllocation(options.allocation, request);
      const module = await this.#load(host, options);
      kv = await kvLease;
      return await executeRun(
        this.#execution,
        host,
        module,
        options,
        { identity, isolation, objects, allocation: allocation ?? options.allocation! },
        kv,
      );
    } catch (error) {
      // The guest may have written before the host gave up on it: keep what it was told succeeded.
      // Either way the namespace is given back (also when the module never loaded).
      if (kv !== undefined) await kv.close().catch(() => undefined);
      else void kvLease?.then((lease) => lease.close()).catch(() => undefined);
      throw error;
    } finally {
      // Every way out: a trap, a deadline, a crashed worker, a refused load (the host has ended the guest).
      // A held allocation stays with its owner; only the call charged to its CPU budget ends.
      allocation?.release();
      if (options.allocation !== undefined) cpuAccountOf(options.allocation)?.endCall();
    }
  }

  /**
   * Replays a recorded trace against its module, given as bytes (`source`) or a `.wasm`/`.wat`
   * file (inline, nothing read from the world).
   */
  async replay(options: ReplayOptions) {
    const host = this.#host({});
    // A replay runs the recorded module itself: whatever the file's extension, it is read as one.
    const module = await this.#load(host, options, 'module');
    return host.replay(module, options.trace);
  }

  /**
   * Steps through a recorded trace against its module (see ForensicContext): replay to a call,
   * read the guest's memory, globals and WASI descriptors there, continue. Inline, as `replay`.
   */
  async forensics(options: ReplayOptions) {
    // Compiled to expose every mutable global (as snapshots do), so that a stop point shows them all.
    const host = this.#host({}, { snapshots: true });
    return host.forensics(await this.#load(host, options, 'module'), options.trace);
  }

  /**
   * Ends every running guest and the isolation workers, and resolves once every run has ended
   * (each has then closed its kv namespace: every write it was told succeeded is in the store).
   */
  async close(): Promise<void> {
    this.#closing = true;
    try {
      await this.#containers.close();
      await Promise.all([...this.#hosts.values()].map((host) => host.close()));
      this.#hosts.clear();
      await Promise.all(this.#running);
    } finally {
      this.#closing = false;
    }
    if (this.#deps.pool === undefined) await this.#pool?.close();
    this.#pool = undefined;
  }

  /** What the kv namespaces of runs that ended changed (e.g. for a summary when the process is stopped). */
  kvEnded(): readonly KvNamespaceChanges[] {
    return this.#kv?.ended() ?? [];
  }

  /** Holds the run's kv namespace in the kernel's store (checked first: a bad name needs no store). */
  #leaseKv(options: RunModuleOptions): Promise<KvLease> | undefined {
    if (options.kv === undefined) return undefined;
    const { namespace, quota, durability } = options.kv;
    checkKvConfig(namespace, quota);
    parseKvDurability(durability);
    const store = this.#deps.store;
    if (store === undefined) {
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        `runModule option kv (namespace ${namespace}) needs a kernel with a store: createKernel({ store }), e.g. a SqliteStore`,
        { details: { field: 'kv' } },
      );
    }
    this.#kv ??= new KvNamespaces(store);
    return this.#kv.lease(namespace, quota, durability);
  }

  #kv: KvNamespaces | undefined;

  async #load(
    host: WasmHost,
    given: RunModuleOptions | ReplayOptions,
    kind?: ModuleFileKind,
  ): Promise<LoadedModule> {
    const name = runName(given);
    let options: RunModuleOptions | ReplayOptions = given;
    if (given.file !== undefined) {
      const maxModuleBytes = host.limits.maxModuleBytes;
      const file = await readModuleFile(given.file, { maxModuleBytes, ...(kind ? { kind } : {}) });
      options =
        file.kind === 'package'
          ? { ...given, package: file.bytes }
          : {
              ...given,
              source: file.bytes,
              ...(given.format || !file.format ? {} : { format: file.format }),
            };
    }
    if ('package' in options && options.package !== undefined) {
      return host.loadPackage(options.package, {
        name,
        ...(options.trustRoot ? { trustRoot: options.trustRoot } : {}),
        ...(options.versionStore ? { versionStore: options.versionStore } : {}),
      });
    }
    if (options.source === undefined)
      throw new ForgeError('FORGE_INVALID_INPUT', 'runModule needs a file, a source or a package');
    return host.loadModule(options.source, {
      name,
      ...(options.format ? { format: options.format } : {}),
    });
  }

  /** One host per set of limits (each keeps its compiled-module cache); all share the worker pool. */
  #host(overrides: ContainerLimitsInput, options: { snapshots?: boolean } = {}): WasmHost {
    const merged = resolveLimits<ContainerLimitsInput>(this.#limits, overrides);
    const key = `${options.snapshots === true ? 'state:' : ''}${JSON.stringify(merged)}`;
    let host = this.#hosts.get(key);
    if (host === undefined) {
      host = new WasmHost({
        development: true,
        limits: merged,
        ...(options.snapshots === true && { snapshots: true }),
        clock: this.#deps.clock,
        events: this.#deps.events,
        pool: (this.#pool ??= this.#deps.pool ?? this.#ownPool()),
      });
      this.#hosts.set(key, host);
    }
    return host;
  }

  #pool: WorkerPool | undefined;
  /** The size of this runtime's own pool: its `workers` budget when it was made (the budget as it is until then). */
  #poolSize: number | undefined;

  /**
   * This runtime's own pool, as large as its resource manager's `workers` budget: a long-lived
   * container holds its worker, so a pool smaller than the budget would make the launch past its
   * size wait for a worker no container gives back (the budget refuses it with a code instead).
   */
  #ownPool(): WorkerPool {
    const resources = this.#resources;
    if (!(resources instanceof ResourceManager)) return new WorkerPool();
    this.#poolSize = resources.budgets.workers;
    return new WorkerPool({ maxWorkers: this.#poolSize });
  }
}

/** The name a run's messages use: the given one, else the file's, else `module`. */
function runName(options: {
  readonly name?: string | undefined;
  readonly file?: string | undefined;
}): string {
  return options.name ?? (options.file === undefined ? 'module' : basename(options.file));
}
