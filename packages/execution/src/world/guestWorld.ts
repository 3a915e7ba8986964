import {
  type Clock,
  type ContainerId,
  type IdentityContext,
  type KernelEventBus,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import { DnaTracker, TraceRecorder, type TraceBatch, type TraceEvent } from '@forgeone/observer';
import { createEnforcerFromSpec, type EnforcerHooks, type EnforcerSpec } from '../gate/enforcerSpec';
import { forgeEventSyscalls, type GuestEvent } from '../forge/forgeEventSyscalls';
import type { KvBackend } from '../forge/forgeKvBackend';
import { forgeKvSyscalls } from '../forge/forgeKvSyscalls';
import { forgeSecretSyscalls, type GuestSecrets } from '../forge/forgeSecretSyscalls';
import { forgeSyscalls } from '../forge/forgeSyscalls';
import { replaySyscalls, type ReplayCursor } from '../replay/replaySyscalls';
import type { SyscallDefinition } from '../gate/syscallDefinition';
import type { SyscallRateLimit } from '../gate/syscallGate';
import { WASI_MODULE } from '../wasi/wasiCall';
import { createWasiPreview1, type WasiPreview1 } from '../wasi/wasiPreview1';
import { assembleWorld, type GuestWorld } from './assembleWorld';

export type { GuestWorld } from './assembleWorld';
import type { WasiLimits, WasiPreopen } from '../wasi/wasiOptions';

/** A preopen that can cross into a worker: a host directory or an in-memory tree. */
export type PortablePreopen = Extract<WasiPreopen, { kind: 'host' | 'memory' }>;

/**
 * Everything one guest instance sees of the world, as plain data (it crosses into isolation
 * workers): who it is, its policy, its WASI view, its limits and how its calls are traced.
 */
export interface WorldSpec {
  readonly containerId: ContainerId;
  readonly identity: IdentityContext;
  readonly enforcer: EnforcerSpec;
  readonly wasi?: {
    readonly args?: readonly string[];
    readonly env?: Readonly<Record<string, string>>;
    readonly preopens?: readonly PortablePreopen[];
    readonly stdin?: Uint8Array | string;
    readonly limits?: Partial<WasiLimits>;
  };
  readonly rateLimit?: SyscallRateLimit;
  /** Record host writes into guest memory (replay needs them). Default true. */
  readonly recordWrites?: boolean;
  /** See SyscallGateOptions.durationSampling. */
  readonly durationSampling?: number;
  /** Events kept in memory (older ones are handed to `onTraceBatch` first). Default 65,536. */
  readonly traceCapacity?: number;
  readonly traceBatchSize?: number;
  /** Replay these recorded calls instead of executing (see replaySyscalls). */
  readonly replay?: readonly TraceEvent[];
  /** With `replay`: stop the guest right after the recorded call of this seq (ReplayStop). */
  readonly replayStopAfter?: number;
}

/** Where a world reports to (in a worker, each becomes a message to the main thread). */
export interface WorldHooks extends EnforcerHooks {
  readonly onLog?: (message: string) => void;
  readonly onStdout?: (bytes: Uint8Array) => void;
  readonly onStderr?: (bytes: Uint8Array) => void;
  readonly onTraceBatch?: (events: readonly TraceEvent[]) => void;
  /** Each batch unbuilt (see TraceRecorderOptions.onLazyBatch): a store flush's way in. */
  readonly onTraceLazyBatch?: (batch: TraceBatch) => void;
  readonly onQuarantine?: (reason: string) => void;
  readonly checkpoint?: () => void;
  /** See {@link SyscallGateOptions.afterCall}. */
  readonly afterCall?: () => void;
  readonly events?: KernelEventBus;
  readonly random?: (target: Uint8Array) => void;
  /**
   * The container's kv namespace: the backend itself inline, a BridgedKvBackend to the main
   * thread's in a worker. Without one, an allowed kv call answers DENIED.
   */
  readonly kv?: KvBackend;
  /** The secret values `forge.secret_read` can answer with (the policy still decides each call). */
  readonly secrets?: GuestSecrets;
  /** Receives each `forge.emit_event` event while the guest waits. */
  readonly onGuestEvent?: (event: GuestEvent) => void;
  /** More capabilities (inline isolation only: definitions do not cross into workers). */
  readonly extraDefinitions?: readonly SyscallDefinition[];
  /** Overrides the enforcer built from the spec (inline isolation only). */
  readonly enforcer?: SyscallEnforcerPort;
}

/** Import namespaces every world provides. */
export const worldNamespaces = ['forge', 'wasi_snapshot_preview1'] as const;

let builtinNames: readonly string[] | undefined;

/** Names of every built-in syscall, computed once per process (the definitions are code, not configuration). */
function builtinSyscallNames(): readonly string[] {
  if (builtinNames === undefined) {
    const clock: Clock = { now: () => 0, monotonicNs: () => 0n };
    const wasi = createWasiPreview1({});
    builtinNames = Object.freeze(
      [
        ...forgeSyscalls({ clock, onLog: () => undefined }),
        ...forgeKvSyscalls({ backend: undefined }),
        ...forgeEventSyscalls({ sink: () => undefined }),
        ...forgeSecretSyscalls(undefined),
        ...wasi.definitions,
      ].map((d) => d.syscall),
    );
    wasi.close();
  }
  return builtinNames;
}

/** Names of every syscall a world offers (for allow-list checking), without building one. */
export function worldSyscallNames(extra: readonly SyscallDefinition[] = []): string[] {
  return [...new Set([...builtinSyscallNames(), ...extra.map((d) => d.syscall)])];
}

/** The world's definitions with `extra` added; an extra one replaces the built-in of the same import. */
function withExtra(
  builtin: SyscallDefinition[],
  extra: readonly SyscallDefinition[] | undefined,
): SyscallDefinition[] {
  if (extra === undefined || extra.length === 0) return builtin;
  const replaced = new Set(extra.map((d) => `${d.module}.${d.name}`));
  return [...builtin.filter((d) => !replaced.has(`${d.module}.${d.name}`)), ...extra];
}

/** What a module's imports ask of a world, worked out once per module. */
interface ImportPlan {
  /** Import names by module. */
  readonly wanted: ReadonlyMap<string, ReadonlySet<string>>;
  /** The WASI functions imported; undefined when none is. */
  readonly wasi: ReadonlySet<string> | undefined;
}

const importPlans = new WeakMap<readonly WebAssembly.ModuleImportDescriptor[], ImportPlan>();

function importPlanOf(needed: readonly WebAssembly.ModuleImportDescriptor[]): ImportPlan {
  let plan = importPlans.get(needed);
  if (plan === undefined) {
    const wanted = new Map<string, Set<string>>();
    for (const { module, name } of needed) {
      let names = wanted.get(module);
      if (names === undefined) wanted.set(module, (names = new Set()));
      names.add(name);
    }
    plan = { wanted, wasi: wanted.get(WASI_MODULE) };
    importPlans.set(needed, plan);
  }
  return plan;
}

/** The forge.* definitions of a world (only those in `only`, when given). */
function forgeDefinitions(
  hooks: WorldHooks,
  onLog: (message: string) => void,
  only: ReadonlySet<string> | undefined,
): SyscallDefinition[] {
  const all = forgeSyscalls(
    hooks.random ? { clock: hooks.clock, onLog, random: hooks.random } : { clock: hooks.clock, onLog },
  );
  const chosen = only === undefined ? all : all.filter((d) => only.has(d.name));
  // kv and events are built only for a guest that imports them: most launches need neither.
  if (only === undefined || only.has('kv_get') || only.has('kv_put') || only.has('kv_delete')) {
    chosen.push(...forgeKvSyscalls({ backend: hooks.kv }));
  }
  if (only === undefined || only.has('emit_event')) {
    chosen.push(...forgeEventSyscalls({ sink: hooks.onGuestEvent ?? ignoreEvent }));
  }
  if (only === undefined || only.has('secret_read')) chosen.push(...forgeSecretSyscalls(hooks.secrets));
  return chosen;
}

const ignoreEvent = () => undefined;

/** An enforcer that allows everything: replay answers from the trace, it does not decide again. */
const replayEnforcer: SyscallEnforcerPort = {
  enforce: () => ({
    decision: {
      action: 'allow',
      reasons: [{ policy: 'replay', message: 'answered from the recorded trace' }],
    },
    execute: true,
    mode: 'enforce',
  }),
};

/**
 * Builds a kernel guest's world from its spec: the forge.* and WASI preview1 definitions its module
 * imports and the enforcer the spec describes, wired by assembleWorld. Used the same way inline and
 * inside isolation workers.
 */
export function createGuestWorld(
  spec: WorldSpec,
  hooks: WorldHooks,
  /** The module's imports: only these are wired (a launch then builds 2 wrappers, not 49). */
  needed?: readonly WebAssembly.ModuleImportDescriptor[],
): GuestWorld {
  const plan = needed === undefined ? undefined : importPlanOf(needed);
  const logs: string[] = [];
  const recorder = new TraceRecorder({
    ...(spec.traceCapacity !== undefined && { capacity: spec.traceCapacity }),
    ...(spec.traceBatchSize !== undefined && { batchSize: spec.traceBatchSize }),
    ...(hooks.onTraceBatch && { onBatch: hooks.onTraceBatch }),
    ...(hooks.onTraceLazyBatch && { onLazyBatch: hooks.onTraceLazyBatch }),
  });
  const dna = new DnaTracker(spec.containerId);
  const onLog = (message: string) => {
    logs.push(message);
    hooks.onLog?.(message);
  };
  const wasi = plan === undefined || plan.wasi !== undefined ? worldWasi(spec, hooks, plan?.wasi) : undefined;
  try {
    const forgeImports = plan?.wanted.get('forge');
    const forge =
      plan === undefined || forgeImports !== undefined ? forgeDefinitions(hooks, onLog, forgeImports) : [];
    let definitions: SyscallDefinition[] = withExtra(
      [...forge, ...(wasi?.definitions ?? [])],
      hooks.extraDefinitions,
    );
    if (plan !== undefined) {
      definitions = definitions.filter((d) => plan.wanted.get(d.module)?.has(d.name) === true);
    }
    let replay: ReplayCursor | undefined;
    let enforcer: SyscallEnforcerPort;
    if (spec.replay !== undefined) {
      const replayed = replaySyscalls(
        spec.replay,
        definitions,
        spec.replayStopAfter === undefined ? {} : { stopAfter: spec.replayStopAfter },
      );
      definitions = replayed.definitions;
      replay = replayed.cursor;
      enforcer = replayEnforcer;
    } else {
      const extra = hooks.extraDefinitions ?? [];
      enforcer =
        hooks.enforcer ??
        createEnforcerFromSpec(
          spec.enforcer,
          hooks,
          extra.length === 0 ? builtinSyscallNames() : worldSyscallNames(extra),
        );
    }
    return assembleWorld({
      containerId: spec.containerId,
      identity: spec.identity,
      enforcer,
      definitions,
      clock: hooks.clock,
      recorder,
      dna,
      logs,
      ...(wasi && { wasi }),
      ...(replay && { replay }),
      gate: {
        ...(spec.recordWrites !== undefined && { recordWrites: spec.recordWrites }),
        ...(hooks.events && { events: hooks.events }),
        ...(hooks.onQuarantine && { onQuarantine: hooks.onQuarantine }),
        ...(hooks.checkpoint && { checkpoint: hooks.checkpoint }),
        ...(hooks.afterCall && { afterCall: hooks.afterCall }),
        ...(spec.rateLimit && { rateLimit: spec.rateLimit }),
        ...(spec.durationSampling !== undefined && { durationSampling: spec.durationSampling }),
      },
    });
  } catch (error) {
    wasi?.close();
    throw error;
  }
}

/** The world's WASI preview1, with only the functions in `only` (all when undefined). */
function worldWasi(spec: WorldSpec, hooks: WorldHooks, only: ReadonlySet<string> | undefined): WasiPreview1 {
  const given = spec.wasi;
  return createWasiPreview1(
    {
      stdout: hooks.onStdout ? { sink: hooks.onStdout } : {},
      stderr: hooks.onStderr ? { sink: hooks.onStderr } : {},
      clock: hooks.clock,
      ...(hooks.random && { random: hooks.random }),
      ...(given?.args && { args: given.args }),
      ...(given?.env && { env: given.env }),
      // A replay answers from the trace: it opens nothing on the host.
      ...(given?.preopens && spec.replay === undefined && { preopens: given.preopens }),
      ...(given?.stdin !== undefined && { stdin: given.stdin }),
      ...(given?.limits && { limits: given.limits }),
    },
    only,
  );
}
