import {
  ForgeError,
  IdentityContextSchema,
  newId,
  type Clock,
  type ContainerId,
  type IdentityContext,
  type KernelEventBus,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import type { TrustRoot, VersionStore } from '@forgeone/crypto';
import { DnaTracker, TraceRecorder, type TraceEvent } from '@forgeone/observer';
import { ForgeIoBuffers, defaultForgeIoLimits } from '../forge/forgeBuffers';
import { forgeBufferSyscalls } from '../forge/forgeBufferSyscalls';
import { forgeEventSyscalls, type GuestEvent } from '../forge/forgeEventSyscalls';
import type { KvBackend } from '../forge/forgeKvBackend';
import { forgeKvSyscalls } from '../forge/forgeKvSyscalls';
import { forgeSyscalls } from '../forge/forgeSyscalls';
import { deadlineError, runInstance, type RunOutcome } from '../isolation/invokeExport';
import { DeadlineExpired, callWithDeadline } from '../isolation/internal/inlineDeadline';
import { DeadlineMeter } from '../module/deadlineMeter';
import { checkImports, compileModule, type CompiledModule } from '../module/moduleSource';
import type { SyscallDefinition } from '../gate/syscallDefinition';
import { assembleWorld } from '../world/assembleWorld';
import { createWasiPreview1, type WasiPreview1 } from '../wasi/wasiPreview1';
import type { WasiOptions } from '../wasi/wasiOptions';
import { forgeCallPluginSyscall, type PluginCallAnswer } from './callPluginSyscall';
import { parseCapability } from './capability';
import { CapabilityEnforcer } from './capabilityEnforcer';
import { CapabilitySet } from './capabilitySet';
import { parsePluginManifest, type PluginManifest } from './pluginManifest';
import { readPluginPackage, type PluginSource } from './pluginPackage';

/** Bounds on what plugins can make the host do. */
export interface PluginLimits {
  /** Nested forge.call_plugin calls (A calls B calls C...). Default 8. */
  readonly maxCallDepth: number;
  /** Largest input of one invocation. Default 1 MiB. */
  readonly maxInputBytes: number;
  /** Largest output of one invocation. Default 1 MiB. */
  readonly maxOutputBytes: number;
  /** Largest plugin module. Default 16 MiB. */
  readonly maxModuleBytes: number;
  /** Largest linear memory of one plugin instance, in 64 KiB pages (written into the module). Default 256 (16 MiB). */
  readonly maxMemoryPages: number;
  /**
   * Wall-clock deadline of one invocation (its start function included), in ms: past it V8 stops
   * the plugin wherever it is (FORGE_LIMIT_TIMEOUT), and the plugins it was calling with it.
   * Default 1,000.
   */
  readonly timeoutMs: number;
}

export const defaultPluginLimits: PluginLimits = {
  maxCallDepth: 8,
  maxInputBytes: defaultForgeIoLimits.maxInputBytes,
  maxOutputBytes: defaultForgeIoLimits.maxOutputBytes,
  maxModuleBytes: 16 * 1024 * 1024,
  maxMemoryPages: 256,
  timeoutMs: 1000,
};

export interface PluginHostOptions {
  readonly clock: Clock;
  /** Verifies plugin packages; required by `load`. */
  readonly trustRoot?: TrustRoot;
  /** Installed-package versions, for rollback protection when loading packages. */
  readonly versionStore?: VersionStore;
  /** Allows `loadDevelopment` (unsigned manifest and module). Never in production. */
  readonly developmentMode?: boolean;
  /**
   * What the operator grants a plugin. A plugin gets each capability it requires that this covers;
   * nothing it did not ask for. Default: everything it requires.
   */
  readonly grant?: (plugin: PluginManifest) => readonly string[];
  /** The kernel's policy, asked after the capability check passes. Default: capabilities decide alone. */
  readonly enforcer?: (plugin: PluginManifest) => SyscallEnforcerPort;
  /** The plugin's kv namespace; without one the plugin cannot import forge.kv_*. */
  readonly kv?: (plugin: PluginManifest) => KvBackend | undefined;
  /** WASI for the plugin (a fresh world per invocation); paths still need fs: capabilities. */
  readonly wasi?: (plugin: PluginManifest) => WasiOptions | undefined;
  readonly onLog?: (plugin: string, message: string) => void;
  readonly onEvent?: (plugin: string, event: GuestEvent) => void;
  /** Receives the gates' `syscall.decided` and quarantine events. */
  readonly events?: KernelEventBus;
  readonly limits?: Partial<PluginLimits>;
}

/** A loaded plugin as the host reports it. */
export interface PluginInfo {
  readonly name: string;
  readonly version: string;
  readonly containerId: ContainerId;
  /** True when it came from a verified ForgePkg. */
  readonly verified: boolean;
  readonly signers: readonly string[];
  /** Required capabilities the host granted. */
  readonly granted: readonly string[];
  /** Required capabilities the host did not grant (calls needing them are refused). */
  readonly notGranted: readonly string[];
  readonly entryPoints: readonly string[];
  readonly provides: readonly string[];
}

/** How one invocation ended, and what the plugin wrote to its output. */
export interface PluginInvokeResult {
  /** `returned` carries the entry point's i32 result as `value`. */
  readonly outcome: RunOutcome;
  /** The i32 the entry point returned (or the exit code); null when it trapped. */
  readonly code: number | null;
  readonly output: Uint8Array;
}

interface LoadedPlugin {
  readonly info: PluginInfo;
  readonly manifest: PluginManifest;
  readonly compiled: CompiledModule;
  readonly provides: CapabilitySet;
  readonly identity: IdentityContext;
  readonly enforcer: SyscallEnforcerPort;
  readonly recorder: TraceRecorder;
  readonly dna: DnaTracker;
  readonly buffers: ForgeIoBuffers;
  readonly kv: KvBackend | undefined;
  running: boolean;
}

/**
 * Loads plugins (verified ForgePkg, or raw bytes in development mode), invokes their entry points
 * and unloads them. Every invocation gets a fresh instance whose imports go through the plugin's
 * own SyscallGate (wired by assembleWorld, as every guest's world is), with a CapabilityEnforcer in front of the kernel's policy; `forge.call_plugin`
 * lets one plugin call another's provided export only under a granted `plugin:call:` capability.
 * Plugins run inline on the calling thread.
 */
export class PluginHost {
  readonly #options: PluginHostOptions;
  readonly #limits: PluginLimits;
  readonly #plugins = new Map<string, LoadedPlugin>();
  /** The invocations in progress, outermost first (a plugin calling a plugin nests them). */
  readonly #active: {
    readonly plugin: LoadedPlugin;
    readonly wasi: WasiPreview1 | undefined;
    readonly meter: DeadlineMeter | undefined;
  }[] = [];

  constructor(options: PluginHostOptions) {
    this.#options = options;
    this.#limits = { ...defaultPluginLimits, ...options.limits };
  }

  /** Verifies a plugin's ForgePkg against the trust root and loads it. */
  async load(pkg: Uint8Array): Promise<PluginInfo> {
    const trustRoot = this.#options.trustRoot;
    if (trustRoot === undefined) {
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        'this PluginHost has no trustRoot, so it cannot verify plugin packages; pass trustRoot',
      );
    }
    const source = await readPluginPackage(pkg, {
      trustRoot,
      clock: this.#options.clock,
      ...(this.#options.versionStore === undefined ? {} : { store: this.#options.versionStore }),
    });
    return this.#add(source);
  }

  /** Loads an unsigned plugin (manifest object + module bytes); only in development mode. */
  async loadDevelopment(manifest: unknown, module: Uint8Array): Promise<PluginInfo> {
    if (this.#options.developmentMode !== true) {
      throw new ForgeError(
        'FORGE_WASM_UNVERIFIED',
        'raw plugin bytes run only in development mode; ship the plugin as a signed ForgePkg (load) or create the PluginHost with developmentMode: true',
      );
    }
    return this.#add({ manifest: parsePluginManifest(manifest), module, verified: false, signers: [] });
  }

  /** Every loaded plugin. */
  list(): PluginInfo[] {
    return [...this.#plugins.values()].map((p) => p.info);
  }

  /** The trace of every call a plugin made through its gate (all its invocations). */
  trace(name: string): TraceEvent[] {
    return this.#get(name).recorder.events();
  }

  /**
   * Runs entry point `entry` of plugin `name` with `input` and returns how it ended and its output.
   * Guest failures come back in the result; only host misuse throws (unknown plugin or entry,
   * re-entry from a callback, input too large).
   */
  invoke(name: string, entry: string, input: Uint8Array | string = new Uint8Array(0)): PluginInvokeResult {
    const plugin = this.#get(name);
    if (!plugin.manifest.entryPoints.includes(entry)) {
      throw new ForgeError(
        'FORGE_PLUGIN_NOT_FOUND',
        `plugin ${name} has no entry point ${JSON.stringify(entry)} (entry points: ${plugin.manifest.entryPoints.join(', ')})`,
        { details: { plugin: name, entry } },
      );
    }
    if (plugin.running) {
      throw new ForgeError(
        'FORGE_PLUGIN_BUSY',
        `plugin ${name} is running; a host callback cannot re-enter it`,
        {
          details: { plugin: name },
        },
      );
    }
    const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
    if (bytes.byteLength > this.#limits.maxInputBytes) {
      throw new ForgeError(
        'FORGE_INVOKE_ARGS',
        `input of ${bytes.byteLength} bytes is over the plugin input limit of ${this.#limits.maxInputBytes}`,
        { details: { limit: 'maxInputBytes', max: this.#limits.maxInputBytes } },
      );
    }
    return this.#run(plugin, entry, bytes);
  }

  /** Removes a plugin; later calls to it answer NOT_FOUND. Its kv backend is the caller's to flush. */
  unload(name: string): void {
    const plugin = this.#get(name);
    if (plugin.running) {
      throw new ForgeError(
        'FORGE_PLUGIN_BUSY',
        `plugin ${name} is running; unload it after its call returns`,
        {
          details: { plugin: name },
        },
      );
    }
    this.#plugins.delete(name);
  }

  #get(name: string): LoadedPlugin {
    const plugin = this.#plugins.get(name);
    if (plugin === undefined) {
      throw new ForgeError('FORGE_PLUGIN_NOT_FOUND', `no plugin named ${JSON.stringify(name)} is loaded`, {
        details: { plugin: String(name).slice(0, 100) },
      });
    }
    return plugin;
  }

  async #add(source: PluginSource): Promise<PluginInfo> {
    const { manifest } = source;
    if (this.#plugins.has(manifest.name)) {
      throw new ForgeError(
        'FORGE_PLUGIN_EXISTS',
        `plugin ${manifest.name} is already loaded; unload it first`,
        {
          details: { plugin: manifest.name },
        },
      );
    }
    const compiled = await compileModule(source.module, {
      name: `${manifest.name}@${manifest.version}`,
      limits: { maxModuleBytes: this.#limits.maxModuleBytes, memoryPages: this.#limits.maxMemoryPages },
      namespaces: ['forge', 'wasi_snapshot_preview1'],
    });
    for (const entry of manifest.entryPoints) {
      if (!compiled.exports.some((e) => e.name === entry && e.kind === 'function')) {
        throw new ForgeError(
          'FORGE_WASM_EXPORT_MISSING',
          `plugin ${manifest.name} declares entry point ${entry}, which its module does not export as a function`,
          { details: { plugin: manifest.name, export: entry } },
        );
      }
    }
    const policy = CapabilitySet.parse(this.#options.grant?.(manifest) ?? manifest.requires);
    const granted = manifest.requires.filter((c) => policy.covers(parseCapability(c)));
    const notGranted = manifest.requires.filter((c) => !granted.includes(c));
    const grants = CapabilitySet.parse(granted);
    const containerId = newId('container', this.#options.clock.now());
    const identity = IdentityContextSchema.parse({
      subject: `plugin:${manifest.name}@${manifest.version}`,
      assurance: source.verified ? 'medium' : 'none',
      attributes: { plugin: manifest.name, verified: String(source.verified) },
      ...(source.signers[0] === undefined ? {} : { signer: source.signers[0] }),
    });
    const inner = this.#options.enforcer?.(manifest);
    const plugin: LoadedPlugin = {
      info: {
        name: manifest.name,
        version: manifest.version,
        containerId,
        verified: source.verified,
        signers: source.signers,
        granted,
        notGranted,
        entryPoints: manifest.entryPoints,
        provides: manifest.provides,
      },
      manifest,
      compiled,
      provides: CapabilitySet.parse(manifest.provides),
      identity,
      enforcer: new CapabilityEnforcer({
        holder: `plugin ${manifest.name}`,
        grants,
        ...(inner === undefined ? {} : { inner }),
      }),
      recorder: new TraceRecorder(),
      dna: new DnaTracker(containerId),
      buffers: new ForgeIoBuffers({
        maxInputBytes: this.#limits.maxInputBytes,
        maxOutputBytes: this.#limits.maxOutputBytes,
      }),
      kv: this.#options.kv?.(manifest),
      running: false,
    };
    // Refuse a plugin that imports what it will never be given, at load rather than at first call.
    const { definitions, wasi } = this.#definitions(plugin);
    wasi?.close();
    const shape: WebAssembly.Imports = {};
    for (const d of definitions) ((shape[d.module] ??= {}) as Record<string, () => void>)[d.name] = () => {};
    checkImports(compiled, shape);
    this.#plugins.set(manifest.name, plugin);
    return plugin.info;
  }

  #definitions(plugin: LoadedPlugin): { definitions: SyscallDefinition[]; wasi: WasiPreview1 | undefined } {
    const { manifest } = plugin;
    const wasiOptions = this.#options.wasi?.(manifest);
    const wasi = wasiOptions === undefined ? undefined : createWasiPreview1(wasiOptions);
    const definitions = [
      ...forgeSyscalls({
        clock: this.#options.clock,
        onLog: (message) => this.#options.onLog?.(manifest.name, message),
      }),
      ...forgeBufferSyscalls(plugin.buffers),
      ...forgeEventSyscalls({ sink: (event) => this.#options.onEvent?.(manifest.name, event) }),
      ...(plugin.kv === undefined ? [] : forgeKvSyscalls({ backend: plugin.kv })),
      forgeCallPluginSyscall({
        call: (target, input) => this.#callFromPlugin(target, input),
        maxInputBytes: this.#limits.maxInputBytes,
      }),
      ...(wasi?.definitions ?? []),
    ];
    return { definitions, wasi };
  }

  #run(plugin: LoadedPlugin, entry: string, input: Uint8Array): PluginInvokeResult {
    const { definitions, wasi } = this.#definitions(plugin);
    const timeoutMs = this.#limits.timeoutMs;
    // A module with deadline checks compiled in is stopped by them (no watchdog thread per run);
    // its clock starts now, so that a plugin it calls cannot use up its time unnoticed.
    const meter = plugin.compiled.deadlineMetered === true ? new DeadlineMeter() : undefined;
    const world = assembleWorld({
      containerId: plugin.info.containerId,
      identity: plugin.identity,
      enforcer: plugin.enforcer,
      definitions,
      clock: this.#options.clock,
      recorder: plugin.recorder,
      dna: plugin.dna,
      ...(wasi && { wasi }),
      gate: {
        ...(this.#options.events && { events: this.#options.events }),
        // Past its deadline (seen when a plugin it called returned), the next syscall stops it.
        ...(meter && {
          checkpoint: () => {
            if (meter.expired) throw new DeadlineExpired(timeoutMs);
          },
        }),
      },
    });
    plugin.buffers.begin(input);
    plugin.running = true;
    const depth = this.#active.length;
    this.#active.push({ plugin, wasi, meter });
    try {
      const run = () =>
        runInstance({
          compiled: plugin.compiled,
          imports: world.imports,
          memory: world.memory,
          entry,
          ...(meter && { meter }),
        });
      let outcome: RunOutcome;
      const name = plugin.info.name;
      const stopped = () => deadlineError(timeoutMs, entry, `plugin ${name}`, { plugin: name });
      if (meter) {
        meter.arm(timeoutMs);
        meter.start();
        outcome = run();
        if (meter.expired) outcome = { status: 'trapped', exitCode: null, error: stopped() };
      } else {
        try {
          outcome = callWithDeadline(run, timeoutMs);
        } catch (error) {
          if (!(error instanceof DeadlineExpired)) throw error;
          outcome = { status: 'trapped', exitCode: null, error: stopped() };
        }
      }
      const code =
        outcome.status === 'returned'
          ? Number(outcome.value ?? 0) | 0
          : outcome.status === 'exited'
            ? outcome.exitCode
            : null;
      return { outcome, code, output: plugin.buffers.output() };
    } finally {
      // Also ends the invocations this one was calling: when V8's watchdog stops them, it unwinds
      // their frames without running their `finally` blocks.
      this.#unwind(depth);
    }
  }

  /** Ends the invocations above the first `depth`, innermost first. */
  #unwind(depth: number): void {
    while (this.#active.length > depth) {
      const { plugin, wasi } = this.#active.pop()!;
      plugin.running = false;
      wasi?.close();
    }
  }

  #callFromPlugin(target: { plugin: string; export: string }, input: Uint8Array): PluginCallAnswer {
    const callee = this.#plugins.get(target.plugin);
    const offered =
      callee !== undefined &&
      callee.manifest.entryPoints.includes(target.export) &&
      callee.provides.covers({
        kind: 'plugin',
        action: 'call',
        plugin: target.plugin,
        export: target.export,
      });
    if (!offered) return { kind: 'not-found' };
    if (callee.running || this.#active.length >= this.#limits.maxCallDepth) return { kind: 'busy' };
    const result = this.#run(callee, target.export, input);
    // The caller's deadline may have passed while the callee ran: its next syscall or check stops it.
    this.#active.at(-1)?.meter?.pastDeadline();
    if (result.code === null) return { kind: 'failed' };
    return { kind: 'returned', code: result.code, output: result.output };
  }
}
