import {
  type Clock,
  type ContainerId,
  type IdentityContext,
  type KernelEventBus,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import { DnaTracker, TraceRecorder, type TraceEvent } from '@forgeone/observer';
import { createEnforcerFromSpec, type EnforcerHooks, type EnforcerSpec } from './enforcerSpec';
import { forgeSyscalls } from './forgeSyscalls';
import { GuestMemory } from './guestMemory';
import { replaySyscalls, type ReplayCursor } from './replaySyscalls';
import type { SyscallDefinition } from './syscallDefinition';
import { SyscallGate, type SyscallRateLimit } from './syscallGate';
import { createWasiPreview1, type WasiPreview1 } from './wasi/wasiPreview1';
import type { WasiLimits, WasiPreopen } from './wasi/wasiOptions';

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
}

/** Where a world reports to (in a worker, each becomes a message to the main thread). */
export interface WorldHooks extends EnforcerHooks {
  readonly onLog?: (message: string) => void;
  readonly onStdout?: (bytes: Uint8Array) => void;
  readonly onStderr?: (bytes: Uint8Array) => void;
  readonly onTraceBatch?: (events: readonly TraceEvent[]) => void;
  readonly onQuarantine?: (reason: string) => void;
  readonly checkpoint?: () => void;
  readonly events?: KernelEventBus;
  readonly random?: (target: Uint8Array) => void;
  /** More capabilities (inline isolation only: definitions do not cross into workers). */
  readonly extraDefinitions?: readonly SyscallDefinition[];
  /** Overrides the enforcer built from the spec (inline isolation only). */
  readonly enforcer?: SyscallEnforcerPort;
}

/** One guest's gate, memory, trace, DNA and WASI state, wired together. */
export interface GuestWorld {
  readonly memory: GuestMemory;
  readonly gate: SyscallGate;
  readonly recorder: TraceRecorder;
  readonly dna: DnaTracker;
  readonly wasi: WasiPreview1;
  readonly imports: WebAssembly.Imports;
  readonly logs: string[];
  /** Present when the world replays a trace. */
  readonly replay: ReplayCursor | undefined;
  close(): void;
}

/** Import namespaces every world provides. */
export const worldNamespaces = ['forge', 'wasi_snapshot_preview1'] as const;

let builtinNames: readonly string[] | undefined;

/** Names of every syscall a world offers (for allow-list checking), without building one. */
export function worldSyscallNames(extra: readonly SyscallDefinition[] = []): string[] {
  if (builtinNames === undefined) {
    const clock: Clock = { now: () => 0, monotonicNs: () => 0n };
    const wasi = createWasiPreview1({});
    // A fixed list (the definitions are code, not configuration): computed once per process.
    builtinNames = [...forgeSyscalls({ clock, onLog: () => undefined }), ...wasi.definitions].map(
      (d) => d.syscall,
    );
    wasi.close();
  }
  return [...builtinNames, ...extra.map((d) => d.syscall)];
}

const noOutput = new Uint8Array(0);
/** The WASI world of a guest that imports no WASI function: nothing to build. */
const noWasi: WasiPreview1 = {
  definitions: [],
  stdout: () => noOutput,
  stderr: () => noOutput,
  openFdCount: () => 0,
  close: () => undefined,
};

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
 * Builds a guest's world: forge.* and WASI preview1 definitions, all through one SyscallGate with
 * the enforcer the spec describes. Used the same way inline and inside isolation workers.
 */
export function createGuestWorld(
  spec: WorldSpec,
  hooks: WorldHooks,
  /** The module's imports: only these are wired (a launch then builds 2 wrappers, not 49). */
  needed?: readonly WebAssembly.ModuleImportDescriptor[],
): GuestWorld {
  const logs: string[] = [];
  const memory = new GuestMemory();
  const recorder = new TraceRecorder({
    ...(spec.traceCapacity === undefined ? {} : { capacity: spec.traceCapacity }),
    ...(spec.traceBatchSize === undefined ? {} : { batchSize: spec.traceBatchSize }),
    ...(hooks.onTraceBatch ? { onBatch: hooks.onTraceBatch } : {}),
  });
  const dna = new DnaTracker(spec.containerId);
  const onLog = (message: string) => {
    logs.push(message);
    hooks.onLog?.(message);
  };
  const output = (sink: ((bytes: Uint8Array) => void) | undefined) => (sink ? { sink } : {});
  const wasiSpec = spec.wasi ?? {};
  const wantsWasi = needed === undefined || needed.some((i) => i.module === 'wasi_snapshot_preview1');
  const wasi = !wantsWasi
    ? noWasi
    : createWasiPreview1({
        ...(wasiSpec.args ? { args: wasiSpec.args } : {}),
        ...(wasiSpec.env ? { env: wasiSpec.env } : {}),
        ...(wasiSpec.preopens && spec.replay === undefined ? { preopens: wasiSpec.preopens } : {}),
        ...(wasiSpec.stdin === undefined ? {} : { stdin: wasiSpec.stdin }),
        ...(wasiSpec.limits ? { limits: wasiSpec.limits } : {}),
        stdout: output(hooks.onStdout),
        stderr: output(hooks.onStderr),
        clock: hooks.clock,
        ...(hooks.random ? { random: hooks.random } : {}),
      });
  try {
    let definitions: SyscallDefinition[] = [
      ...forgeSyscalls({ clock: hooks.clock, onLog, ...(hooks.random ? { random: hooks.random } : {}) }),
      ...wasi.definitions,
      ...(hooks.extraDefinitions ?? []),
    ];
    if (needed !== undefined) {
      const wanted = new Set(needed.map((i) => `${i.module}\0${i.name}`));
      definitions = definitions.filter((d) => wanted.has(`${d.module}\0${d.name}`));
    }
    let replay: ReplayCursor | undefined;
    let enforcer: SyscallEnforcerPort;
    if (spec.replay !== undefined) {
      const replayed = replaySyscalls(spec.replay, definitions);
      definitions = replayed.definitions;
      replay = replayed.cursor;
      enforcer = replayEnforcer;
    } else {
      enforcer =
        hooks.enforcer ??
        createEnforcerFromSpec(spec.enforcer, hooks, worldSyscallNames(hooks.extraDefinitions ?? []));
    }
    const gate = new SyscallGate({
      enforcer,
      context: { containerId: spec.containerId, identity: spec.identity, memory },
      recorder,
      dna,
      clock: hooks.clock,
      ...(spec.recordWrites === undefined ? {} : { recordWrites: spec.recordWrites }),
      ...(hooks.events ? { events: hooks.events } : {}),
      ...(hooks.onQuarantine ? { onQuarantine: hooks.onQuarantine } : {}),
      ...(hooks.checkpoint ? { checkpoint: hooks.checkpoint } : {}),
      ...(spec.rateLimit ? { rateLimit: spec.rateLimit } : {}),
      ...(spec.durationSampling === undefined ? {} : { durationSampling: spec.durationSampling }),
    });
    return {
      memory,
      gate,
      recorder,
      dna,
      wasi,
      imports: gate.imports(definitions),
      logs,
      replay,
      close: () => wasi.close(),
    };
  } catch (error) {
    wasi.close();
    throw error;
  }
}
