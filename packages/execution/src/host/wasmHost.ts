import {
  ForgeError,
  IdentityContextSchema,
  type IdentityContext,
  type KernelEventBus,
  parseWith,
  systemClock,
  type Clock,
} from '@forgeone/common';
import {
  assertValid,
  parsePackage,
  verifyPackage,
  type PackageManifest,
  type TrustRoot,
  type VersionStore,
} from '@forgeone/crypto';
import {
  defaultContainerLimits,
  limitsProblem,
  resolveLimits,
  type ContainerLimits,
  type ContainerLimitsInput,
} from '@forgeone/config';
import { parsedEnforcerSpec, type EnforcerSpec } from '../gate/enforcerSpec';
import { worldNamespaces, type WorldSpec } from '../world/guestWorld';
import { defaultWasiLimits } from '../wasi/wasiOptions';
import { InlineInstance } from '../isolation/inlineInstance';
import { newContainerId } from './internal/containerIds';
import type { InvokeResult } from '../isolation/invokeExport';
import { ModuleCache } from '../module/moduleCache';
import type { CompiledModule, ModuleFormat } from '../module/moduleSource';
import {
  TRACE_FORMAT_VERSION,
  droppedSeqRanges,
  type RecordedTrace,
  type TraceRunContext,
} from '@forgeone/observer';
import { checkReplayWrites, type ReplayDivergence } from '../replay/replaySyscalls';
import { callsBefore } from '../replay/replayCall';
import { ForensicContext } from '../replay/forensicContext';
import {
  typedValuesFromJson,
  typedValuesToJson,
  type ResultKind,
  type TypedValue,
} from '../isolation/typedValue';
import type { InstanceOptions, Isolation, WasmInstance } from '../isolation/wasmInstance';
import { WorkerInstance } from '../isolation/workerInstance';
import { WorkerPool, type WorkerPoolOptions } from '../isolation/workerPool';

/** Every limit a host applies: config's ContainerLimits (their names and defaults are config's). */
export type HostLimits = ContainerLimits;

/** The limits of a host given none: config's `defaultContainerLimits`. */
export const defaultHostLimits: HostLimits = defaultContainerLimits;

export interface WasmHostOptions {
  /** Default isolation of instances. Default `worker`: the one that can stop any guest. */
  readonly isolation?: Isolation;
  /** Overrides of config's default container limits. */
  readonly limits?: ContainerLimitsInput;
  readonly clock?: Clock;
  readonly events?: KernelEventBus;
  /** Trust root packages are verified against (or pass one to `loadPackage`). */
  readonly trustRoot?: TrustRoot;
  /** Installed versions, for the rollback and dependency checks of packages. */
  readonly versionStore?: VersionStore;
  /** Lets `loadModule` take raw, unsigned module bytes. Off by default: only verified packages run. */
  readonly development?: boolean;
  /** Import namespaces offered besides `forge` and `wasi_snapshot_preview1`. */
  readonly namespaces?: readonly string[];
  /** The isolation workers (shared between hosts when a pool is given). */
  readonly pool?: WorkerPool | WorkerPoolOptions;
  /** Compiled modules kept. Default 64. */
  readonly cacheSize?: number;
  /** Compile modules for snapshots (CompileModuleOptions.snapshots). */
  readonly snapshots?: boolean;
}

/** A module ready to instantiate: compiled (cached by SHA-256), limits applied. */
export interface LoadedModule extends CompiledModule {
  readonly name: string;
}

/** A module loaded from a verified ForgePkg. */
export interface LoadedPackage extends LoadedModule {
  readonly manifest: PackageManifest;
  /** The keys whose signatures verified (key id and algorithm). */
  readonly signers: ReadonlyArray<{ readonly keyId: string; readonly algorithm: string }>;
}

export interface HostInstanceOptions extends InstanceOptions {
  readonly isolation?: Isolation;
}

export interface HostRunOptions extends HostInstanceOptions {
  /** Export to call. Default `_start`. */
  readonly entry?: string;
  readonly args?: readonly TypedValue[];
  readonly results?: ResultKind;
  /** Overrides the host's deadline for this run, ms. */
  readonly timeoutMs?: number;
  /**
   * The most wall-clock ms the run's calls take together (its start function, then the entry):
   * each call's deadline is cut to what is left of it (the entry gets at least 1 ms). A CPU budget.
   */
  readonly budgetMs?: number;
}

/** What a replay produced: the run, how many recorded calls it replayed, and where it diverged. */
export interface ReplayResult extends HostRunResult {
  readonly replayed: number;
  readonly divergence: ReplayDivergence | undefined;
}

/** What one `run` produced. */
export interface HostRunResult extends InvokeResult {
  readonly instance: WasmInstance;
}

const denyAll: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: [] } };

/**
 * The sandboxed WebAssembly host: loads modules (verified packages, or raw bytes in development
 * mode), compiles each once, and runs instances inline or in pooled workers under its limits, with
 * every import going through one SyscallGate.
 */
export class WasmHost {
  readonly limits: HostLimits;
  readonly isolation: Isolation;
  readonly #options: WasmHostOptions;
  readonly #clock: Clock;
  readonly #cache: ModuleCache;
  readonly #namespaces: string[];
  #pool: WorkerPool | undefined;
  readonly #ownsPool: boolean;
  readonly #live = new Set<WasmInstance>();

  constructor(options: WasmHostOptions = {}) {
    this.#options = options;
    this.limits = resolveLimits(defaultContainerLimits, options.limits);
    const problem = limitsProblem(this.limits);
    if (problem !== undefined) {
      throw new ForgeError('FORGE_INVALID_INPUT', `invalid limits.${problem.limit}: ${problem.problem}`, {
        details: { field: `limits.${problem.limit}` },
      });
    }
    this.isolation = options.isolation ?? 'worker';
    this.#clock = options.clock ?? systemClock;
    this.#cache = new ModuleCache(options.cacheSize ?? 64);
    this.#namespaces = [...worldNamespaces, ...(options.namespaces ?? [])];
    this.#ownsPool = !(options.pool instanceof WorkerPool);
    if (options.pool instanceof WorkerPool) this.#pool = options.pool;
  }

  /** Compiles raw module bytes (binary or text). Only in development mode: nothing unverified runs otherwise. */
  loadModule(
    source: Uint8Array,
    options: { name?: string; format?: ModuleFormat } = {},
  ): Promise<LoadedModule> {
    if (this.#options.development !== true) {
      return Promise.reject(
        new ForgeError(
          'FORGE_WASM_UNVERIFIED',
          'raw module bytes run only in development mode; load a signed .forgepkg (loadPackage) or create the host with { development: true }',
        ),
      );
    }
    return this.#compile(source, options.name ?? 'module', options.format);
  }

  /** Verifies a ForgePkg against the trust root, then compiles its entry module. Fails closed. */
  async loadPackage(
    bytes: Uint8Array,
    options: { name?: string; trustRoot?: TrustRoot; versionStore?: VersionStore } = {},
  ): Promise<LoadedPackage> {
    const trustRoot = options.trustRoot ?? this.#options.trustRoot;
    if (trustRoot === undefined) {
      throw new ForgeError(
        'FORGE_WASM_UNVERIFIED',
        'a package needs a trust root to verify against (--root root.json)',
      );
    }
    const store = options.versionStore ?? this.#options.versionStore;
    const result = await verifyPackage(bytes, { trustRoot, clock: this.#clock, ...(store ? { store } : {}) });
    const manifest = assertValid(result);
    const entry = parsePackage(bytes).entries.find((e) => e.name === manifest.entry);
    if (entry === undefined)
      throw new ForgeError('FORGE_INTERNAL', `verified package lacks its entry ${manifest.entry}`);
    const format = /\.wat$/i.test(manifest.entry) ? 'wat' : 'wasm';
    const loaded = await this.#compile(
      entry.data,
      options.name ?? `${manifest.name}@${manifest.version}`,
      format,
    );
    return {
      ...loaded,
      manifest,
      signers: result.signers.map(({ keyId, algorithm }) => ({ keyId, algorithm })),
    };
  }

  async #compile(source: Uint8Array, name: string, format: ModuleFormat | undefined): Promise<LoadedModule> {
    const { maxModuleBytes, maxImports, memoryPages, maxTableElements } = this.limits;
    const compiled = await this.#cache.get(source, {
      name,
      ...(format ? { format } : {}),
      limits: { maxModuleBytes, maxImports, memoryPages, maxTableElements },
      namespaces: this.#namespaces,
      fuel: this.limits.fuel > 0,
      ...(this.#options.snapshots !== undefined && { snapshots: this.#options.snapshots }),
    });
    return { ...compiled, name };
  }

  /** Instantiates a loaded module in the host's (or the given) isolation. */
  async instantiate(module: LoadedModule, given: HostInstanceOptions = {}): Promise<WasmInstance> {
    const isolation = given.isolation ?? this.isolation;
    const spec = this.#worldSpec(given);
    // The module's start function runs now: by default it gets the host's call deadline.
    const options =
      given.startTimeoutMs === undefined ? { ...given, startTimeoutMs: this.limits.timeoutMs } : given;
    let instance: WasmInstance;
    if (isolation === 'inline') {
      instance = new InlineInstance(module, spec, options, this.#clock, this.#options.events);
    } else {
      if (options.enforcerInstance || options.extraDefinitions || options.replay) {
        throw new ForgeError(
          'FORGE_INVALID_INPUT',
          'worker isolation takes an enforcer spec, not objects (enforcerInstance, extraDefinitions, replay need inline isolation)',
        );
      }
      const pooled = await this.#workers().acquire();
      instance = await WorkerInstance.start(pooled, module, spec, options, this.#options.events);
    }
    this.#live.add(instance);
    return instance;
  }

  /** Terminates an instance of this host and forgets it (a long-lived one, ended before `close`). */
  async dispose(instance: WasmInstance): Promise<void> {
    try {
      await instance.terminate();
    } finally {
      this.#live.delete(instance);
    }
  }

  /** Instantiates, calls one export under the host's deadline, and terminates. */
  async run(module: LoadedModule, options: HostRunOptions = {}): Promise<HostRunResult> {
    const deadline = options.timeoutMs ?? this.limits.timeoutMs;
    const budget = options.budgetMs;
    const startedAt = performance.now();
    const timeoutMs = budget === undefined ? deadline : Math.max(1, Math.min(deadline, Math.floor(budget)));
    // The start function gets the run's deadline too.
    const instance = await this.instantiate(
      module,
      options.startTimeoutMs === undefined ? { ...options, startTimeoutMs: timeoutMs } : options,
    );
    try {
      if (instance.startOutcome !== undefined)
        return { instance, outcome: instance.startOutcome, values: [] };
      const left =
        budget === undefined
          ? timeoutMs
          : Math.max(1, Math.min(timeoutMs, Math.floor(budget - (performance.now() - startedAt))));
      const result = await instance.invoke(options.entry ?? '_start', options.args ?? [], {
        timeoutMs: left,
        ...(options.results ? { results: options.results } : {}),
        ...(this.limits.fuel > 0 ? { fuel: this.limits.fuel } : {}),
      });
      return { instance, ...result };
    } finally {
      await instance.terminate();
      this.#live.delete(instance);
    }
  }

  /**
   * Replays a recorded trace: the module runs inline with every call answered from the trace
   * (results returned, memory writes re-applied) and output calls re-run, so nothing is read from
   * the world. Reports the first divergence, including a different ending.
   */
  async replay(
    module: LoadedModule,
    trace: RecordedTrace,
    options: HostInstanceOptions = {},
  ): Promise<ReplayResult> {
    checkReplayable(module, trace);
    const run = await this.#replayRun(module, trace, options);
    const cursor = run.instance.replay!;
    let divergence = cursor.finish();
    const end = trace.end;
    const code = run.outcome.status === 'trapped' ? run.outcome.error.code : undefined;
    if (
      divergence === undefined &&
      end !== undefined &&
      (end.status !== run.outcome.status || end.exitCode !== run.outcome.exitCode || end.code !== code)
    ) {
      divergence = {
        kind: 'outcome',
        seq: cursor.replayed,
        expected: `${end.status} ${end.code ?? end.exitCode}`,
        actual: `${run.outcome.status} ${code ?? run.outcome.exitCode}`,
        before: callsBefore(trace.events, cursor.replayed, cursor.replayed + 1),
      };
    }
    return { ...run, divergence, replayed: cursor.replayed };
  }

  /**
   * Steps through a recorded trace (see ForensicContext): each `step` replays the module inline
   * from the start, as `replay` does, and stops it right after the call asked for, to read its
   * memory, globals and WASI descriptors there. The same checks as `replay` first.
   */
  forensics(module: LoadedModule, trace: RecordedTrace, options: HostInstanceOptions = {}): ForensicContext {
    checkReplayable(module, trace);
    const globalIndex = new Map(
      (module.info?.exports ?? [])
        .filter((e) => e.kind === 'global' && e.index !== undefined)
        .map((e) => [e.name, e.index!] as const),
    );
    return new ForensicContext(trace, async (seq) => {
      const run = await this.#replayRun(module, trace, { ...options, replayStopAfter: seq });
      const cursor = run.instance.replay!;
      const stopped = cursor.stopped;
      const divergence = stopped === undefined ? cursor.finish() : undefined;
      // #replayRun runs inline: the instance is this host's InlineInstance.
      if (!(run.instance instanceof InlineInstance)) {
        throw new ForgeError('FORGE_INTERNAL', 'a forensic replay ran outside inline isolation');
      }
      const { exports, memory } = run.instance.inspection;
      return {
        stopped,
        divergence,
        outcome: run.outcome,
        replayed: cursor.replayed,
        exports,
        globalIndex: (name: string) => globalIndex.get(name),
        memory,
        stdout: run.instance.stdout(),
        stderr: run.instance.stderr(),
        logs: run.instance.logs(),
      };
    });
  }

  /** One inline run of `module` answered from `trace`; refused as the trace when a recorded write did not fit. */
  async #replayRun(
    module: LoadedModule,
    trace: RecordedTrace,
    options: HostInstanceOptions,
  ): Promise<HostRunResult> {
    const run = await this.run(module, {
      ...options,
      isolation: 'inline',
      replay: trace.events,
      entry: trace.header.entry,
      args: typedValuesFromJson(trace.header.args),
      rateLimit: { perSecond: Number.MAX_SAFE_INTEGER },
    });
    // A recorded write that did not fit the memory: the trace is refused, not "diverged".
    const invalid = run.instance.replay!.invalid;
    if (invalid !== undefined) throw invalid;
    return run;
  }

  /** Starts the warm workers now rather than on the first instance. */
  async prewarm(): Promise<void> {
    await this.#workers().prewarm();
  }

  /** Terminates every instance and (unless it was shared) the worker pool. */
  async close(): Promise<void> {
    await Promise.all([...this.#live].map((instance) => instance.terminate()));
    this.#live.clear();
    if (this.#ownsPool) await this.#pool?.close();
  }

  #workers(): WorkerPool {
    const pool = this.#options.pool;
    this.#pool ??= pool instanceof WorkerPool ? pool : new WorkerPool(pool ?? {});
    return this.#pool;
  }

  #worldSpec(options: HostInstanceOptions): WorldSpec {
    // Parsed once per spec object: callers launching many instances pass the same one.
    const enforcer = parsedEnforcerSpec(options.enforcer ?? denyAll);
    const { syscallsPerSecond, syscallBurst, maxOpenFds } = this.limits;
    const rate =
      options.rateLimit ??
      (syscallsPerSecond > 0
        ? { perSecond: syscallsPerSecond, ...(syscallBurst > 0 ? { burst: syscallBurst } : {}) }
        : undefined);
    // The container's handle limit, unless the caller set the WASI one itself.
    const wasi =
      maxOpenFds === defaultWasiLimits.maxOpenFds && options.wasi?.limits?.maxOpenFds === undefined
        ? options.wasi
        : { ...options.wasi, limits: { maxOpenFds, ...options.wasi?.limits } };
    return {
      containerId: options.containerId ?? newContainerId(this.#clock),
      identity:
        options.identity === undefined
          ? (defaultIdentity ??= deepFreeze(
              parseWith(IdentityContextSchema, { subject: 'guest' }, 'identity'),
            ))
          : identityOf(options.identity),
      enforcer,
      ...(rate && { rateLimit: rate }),
      ...(wasi && { wasi }),
      ...(options.replay && { replay: options.replay }),
      ...(options.replayStopAfter !== undefined && { replayStopAfter: options.replayStopAfter }),
      ...(options.recordWrites !== undefined && { recordWrites: options.recordWrites }),
      ...(options.durationSampling !== undefined && { durationSampling: options.durationSampling }),
      ...(options.traceCapacity !== undefined && { traceCapacity: options.traceCapacity }),
    };
  }
}

/** The identity of a guest launched without one, parsed once (frozen: every such world shares it). */
let defaultIdentity: IdentityContext | undefined;

/** Identities parsed here, by the object they were parsed from (deep-frozen ones only: they cannot change). */
const parsedIdentities = new WeakMap<object, IdentityContext>();

/**
 * A guest's identity, parsed. A deep-frozen one (a kernel launching containers passes the one it
 * parsed, frozen, each time) is parsed once: a zod parse was a fifth of a container's launch.
 */
function identityOf(given: IdentityContext): IdentityContext {
  if (!isDeepFrozen(given)) return parseWith(IdentityContextSchema, given, 'identity');
  let identity = parsedIdentities.get(given);
  if (identity === undefined) {
    identity = deepFreeze(parseWith(IdentityContextSchema, given, 'identity'));
    parsedIdentities.set(given, identity);
  }
  return identity;
}

function isDeepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (!Object.isFrozen(value)) return false;
  for (const child of Object.values(value)) if (!isDeepFrozen(child)) return false;
  return true;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * What a trace must be for `module` to replay it: recorded from this module (its SHA-256), with no
 * event lost, and no recorded write past the largest memory the module can have.
 */
function checkReplayable(module: LoadedModule, trace: RecordedTrace): void {
  if (trace.header.module !== module.sha256) {
    throw new ForgeError(
      'FORGE_REPLAY_DIVERGED',
      `the trace was recorded from module ${trace.header.module.slice(0, 12)}..., not ${module.sha256.slice(0, 12)}...`,
      { details: { kind: 'module' } },
    );
  }
  if ((trace.end?.dropped ?? 0) > 0) {
    throw new ForgeError(
      'FORGE_TRACE_INVALID',
      `the trace lost ${trace.end?.dropped} events when it was recorded; it cannot be replayed`,
    );
  }
  checkReplayWrites(trace.events, declaredMemoryBytes(module));
}

/**
 * The most memory a module can ever have, from its declared maximum (64 KiB pages): recorded
 * writes past it are refused before a replay runs. 4 GiB when it declares none or imports it; 0
 * when it has no memory.
 */
function declaredMemoryBytes(module: LoadedModule): number {
  const info = module.info;
  if (info && info.memories.length === 0 && !info.imports.some((i) => i.kind === 'memory')) return 0;
  const maximum = info?.memories[0]?.maximum;
  return Math.min(maximum ?? 65_536, 65_536) * 65_536;
}

/** The trace of a finished run, ready for `traceToJsonl` (and `WasmHost.replay`). */
export function recordedTraceOf(
  run: HostRunResult,
  module: LoadedModule,
  call: { entry?: string; args?: readonly TypedValue[]; recordedAt: number; run?: TraceRunContext },
): RecordedTrace {
  const { outcome, instance } = run;
  const events = instance.trace();
  const dropped = instance.droppedEvents;
  return {
    header: {
      format: 'forgeone-trace',
      version: TRACE_FORMAT_VERSION,
      module: module.sha256,
      entry: call.entry ?? '_start',
      args: typedValuesToJson(call.args ?? []),
      containerId: instance.containerId,
      recordedAt: call.recordedAt,
      ...(call.run === undefined ? {} : { run: call.run }),
    },
    events,
    end: {
      status: outcome.status,
      exitCode: outcome.exitCode,
      ...(outcome.status === 'trapped' ? { code: outcome.error.code } : {}),
      dropped,
      ...(dropped > 0 ? { droppedSeqs: droppedSeqRanges(events, events.length + dropped) } : {}),
    },
  };
}
