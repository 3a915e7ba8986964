import {
  ForgeError,
  enforcementModes,
  isForgeError,
  systemClock,
  type Clock,
  type EnforcementMode,
  type KernelEventBus,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import { compilePolicy } from './compilePolicy';
import type { EnforcerHooks, EnforcerSpec } from './createSyscallEnforcer';
import { registerLiveDocument } from './internal/liveSpecs';
import { parseSourceText, type ParsedSource } from './policySource';
import { parsePolicyTests, runPolicyTests } from './policyTests';
import { SwappableEnforcer, type LivePolicyState, type PlainEnforcerBuilder } from './swappableEnforcer';

/**
 * A policy version as given: a policy document (parsed, or its YAML/JSON text), with the test
 * cases it must pass before it goes live; or an allow-list, turned into the equivalent document.
 */
export type LivePolicyInput =
  | {
      readonly document: unknown;
      /** Where it came from (a file), for messages and the history. */
      readonly source?: string;
      /** A PolicyTests document (parsed or text): every case must pass, else the version is refused. */
      readonly tests?: unknown;
      readonly testsSource?: string;
    }
  | { readonly allow: readonly string[]; readonly ask?: readonly string[]; readonly source?: string };

/** Who made a change and why (kept in the history). */
export interface LivePolicyMeta {
  readonly actor?: string;
  readonly reason?: string;
}

/**
 * One version: a document and a mode. `initial`, `swap` and `mode` versions went live as they
 * were made; a `stored` one waits for `activate`; an `activate` version is an older version's
 * document put live again (a rollback: `from` names it).
 */
export interface PolicyVersion {
  readonly version: number;
  readonly kind: 'initial' | 'swap' | 'mode' | 'stored' | 'activate';
  readonly at: number;
  readonly digest: string;
  readonly mode: EnforcementMode;
  readonly source: string | undefined;
  readonly actor: string | undefined;
  readonly reason: string | undefined;
  /** Test cases the version passed before it went live. */
  readonly testsPassed: number;
  /** An `activate` version: the version whose document it put live again. */
  readonly from?: number;
}

/** A version as `versions()` lists it: whether it is the one in force, and whether it ever was. */
export interface PolicyVersionInfo extends PolicyVersion {
  readonly active: boolean;
  readonly wentLive: boolean;
}

export interface LivePolicyOptions {
  /** Every syscall that exists: a version naming another is refused (FORGE_POLICY_UNKNOWN_SYSCALL). */
  readonly knownSyscalls?: Iterable<string>;
  /** The live mode at start (launches that give none follow it). Default `enforce`. */
  readonly mode?: EnforcementMode;
  readonly clock?: Clock;
  /** Told of each new version (`policy.reloaded`). */
  readonly events?: KernelEventBus;
  /** Versions kept in `history()`. Default 64. */
  readonly historyLimit?: number;
}

/** What a version holds besides its history entry. */
interface LiveVersion {
  readonly entry: PolicyVersion;
  readonly state: LivePolicyState;
  /** The launch specs' documents (frozen copies, registered): following the live mode, and not. */
  readonly following: object;
  readonly fixed: object;
}

/**
 * A kernel's live policy: a versioned policy document that launches without a policy of their own
 * run under (containers and runs, inline and in workers; a package's manifest bound still applies).
 * `swap` compiles the next version and runs its test cases before it goes live; a refusal
 * (FORGE_POLICY_SWAP_REFUSED, naming the first problem's own code) changes nothing. Each version,
 * and each change of the live mode, is put in force for every guest launched under the policy:
 * their cached and reused decisions are withdrawn, and their next calls are decided by the new
 * version (a call in flight finishes under the one that admitted it).
 */
export class LivePolicy {
  readonly #known: readonly string[] | undefined;
  readonly #clock: Clock;
  readonly #events: KernelEventBus | undefined;
  readonly #limit: number;
  readonly #history: PolicyVersion[] = [];
  /** Every version kept (stored and live), by number: its document, for `documentOf` and `activate`. */
  readonly #versions = new Map<number, { entry: PolicyVersion; document: unknown; wentLive: boolean }>();
  /** The number the next version (stored or live) takes: numbers only grow. */
  #next = 1;
  /** Enforcers of guests on this thread (weakly: a guest that ended is collected). */
  readonly #enforcers = new Set<WeakRef<SwappableEnforcer>>();
  #pruneAt = 1024;
  /** Subscribers to each new version (isolation workers' lanes). */
  readonly #subscribers = new Set<(state: LivePolicyState) => void>();
  #current: LiveVersion;

  constructor(initial: LivePolicyInput, options: LivePolicyOptions = {}) {
    this.#known = options.knownSyscalls === undefined ? undefined : Object.freeze([...options.knownSyscalls]);
    this.#clock = options.clock ?? systemClock;
    this.#events = options.events;
    this.#limit = Math.max(1, options.historyLimit ?? 64);
    const mode = checkMode(options.mode ?? 'enforce');
    const prepared = this.#prepare(initial, 1);
    this.#current = this.#version(prepared, this.#next++, mode, 'initial', {}, sourceOf(initial));
  }

  /** The version in force. */
  get version(): number {
    return this.#current.entry.version;
  }

  /** The live mode (launches that gave no mode of their own follow it). */
  get mode(): EnforcementMode {
    return this.#current.state.mode;
  }

  /** The version in force, as the history records it. */
  get current(): PolicyVersion {
    return this.#current.entry;
  }

  /** The document in force (frozen). */
  get document(): unknown {
    return this.#current.state.document;
  }

  /** The versions that went live, oldest first (the last `historyLimit`). */
  history(): readonly PolicyVersion[] {
    return [...this.#history];
  }

  /**
   * Compiles `input` and runs its test cases, without putting it in force: what `swap` would
   * refuse, it throws (FORGE_POLICY_SWAP_REFUSED). Returns the number of test cases it passed.
   */
  check(input: LivePolicyInput): number {
    return this.#prepare(input, this.#next).testsPassed;
  }

  /**
   * Puts a new version in force for every guest under the policy, or refuses it whole. The
   * document in force already (same digest) makes no version: the current one is returned.
   */
  swap(input: LivePolicyInput, meta: LivePolicyMeta = {}): PolicyVersion {
    const prepared = this.#prepare(input, this.#next);
    // The document in force again (a file saved unchanged, a forced reload): no new version.
    if (prepared.digest === this.#current.state.digest) return this.current;
    return this.#goLive(this.#version(prepared, this.#next++, this.mode, 'swap', meta, sourceOf(input)));
  }

  /**
   * Keeps a new version without putting it in force (compiled and its test cases run first, as
   * `swap` does; a refusal, FORGE_POLICY_SWAP_REFUSED, keeps nothing). `activate` makes it live.
   */
  store(input: LivePolicyInput, meta: LivePolicyMeta = {}): PolicyVersion {
    const prepared = this.#prepare(input, this.#next);
    const version = this.#next++;
    const entry: PolicyVersion = Object.freeze({
      version,
      kind: 'stored',
      at: this.#clock.now(),
      digest: prepared.digest,
      mode: this.mode,
      source: sourceOf(input),
      actor: meta.actor,
      reason: meta.reason,
      testsPassed: prepared.testsPassed,
    });
    this.#keep(entry, deepFreeze(structuredClone(prepared.document)), false);
    this.#events?.emit('policy.stored', {
      version: String(version),
      digest: entry.digest,
      ...(meta.actor === undefined ? {} : { by: meta.actor }),
    });
    return entry;
  }

  /**
   * Puts a kept version's document in force (FORGE_POLICY_VERSION_NOT_FOUND when it is not kept).
   * A stored version newer than the one in force goes live as itself (nothing was made after it,
   * so its mode is the live mode); an older one (a rollback) goes live as a new `activate`
   * version with its document in the live mode, so the live version number only grows and each
   * number names one document and mode. Activating the version in force changes nothing.
   */
  activate(version: number, meta: LivePolicyMeta = {}): PolicyVersion {
    const kept = Number.isSafeInteger(version) ? this.#versions.get(version) : undefined;
    if (kept === undefined)
      throw new ForgeError(
        'FORGE_POLICY_VERSION_NOT_FOUND',
        `policy version ${String(version)} is not kept (kept: ${[...this.#versions.keys()].join(', ')})`,
        { details: { version: Number.isSafeInteger(version) ? version : String(version) } },
      );
    if (version === this.version) return this.current;
    const { entry, document } = kept;
    const prepared = { document, digest: entry.digest, testsPassed: entry.testsPassed };
    if (version > this.version && !kept.wentLive)
      return this.#goLive(
        this.#version(prepared, version, this.mode, 'stored', meta, entry.source, true, entry),
      );
    const next = this.#next++;
    return this.#goLive(
      this.#version(prepared, next, this.mode, 'activate', meta, entry.source, true, undefined, version),
    );
  }

  /** Every version kept, stored and live, oldest first, with the one in force marked. */
  versions(): PolicyVersionInfo[] {
    return [...this.#versions.values()].map(({ entry, wentLive }) => ({
      ...entry,
      active: entry.version === this.version,
      wentLive,
    }));
  }

  /** The document of a kept version (frozen), or undefined. */
  documentOf(version: number): unknown {
    return this.#versions.get(version)?.document;
  }

  /** Changes the live mode: a new version with the same document. */
  setMode(mode: EnforcementMode, meta: LivePolicyMeta = {}): PolicyVersion {
    checkMode(mode);
    if (mode === this.mode) return this.current;
    const { state, entry } = this.#current;
    const prepared = { document: state.document, digest: state.digest, testsPassed: entry.testsPassed };
    return this.#goLive(
      this.#version(prepared, this.#next++, mode, 'mode', meta, entry.source, /* frozen */ true),
    );
  }

  /**
   * The spec a launch without a policy of its own runs under: the version in force; its enforcer
   * (inline, or in a worker through its lane) then follows every later version. `mode`: the
   * launch's own mode, kept through swaps; absent, the guest follows the live mode.
   */
  launchSpec(mode?: EnforcementMode): EnforcerSpec {
    const current = this.#current;
    return {
      mode: mode ?? current.state.mode,
      policy: {
        kind: 'document',
        document: mode === undefined ? current.following : current.fixed,
        source: `live policy v${current.entry.version}`,
      },
    };
  }

  /** Told of every new version (after the guests on this thread took it); returns the unsubscribe. */
  subscribe(fn: (state: LivePolicyState) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** The version in force as plain data (what a worker's lane sends). */
  get state(): LivePolicyState {
    return this.#current.state;
  }

  #goLive(next: LiveVersion): PolicyVersion {
    this.#current = next;
    for (const ref of this.#enforcers) {
      const enforcer = ref.deref();
      if (enforcer === undefined) this.#enforcers.delete(ref);
      // Compiled already: a guest's own rebuild can fail only on its own spec, which compiled at launch.
      else swapQuietly(enforcer, next.state);
    }
    for (const fn of [...this.#subscribers]) fn(next.state);
    this.#events?.emit('policy.reloaded', { version: String(next.entry.version) });
    return next.entry;
  }

  /** The enforcer of one guest launched under one of this policy's specs. */
  #attach(
    spec: EnforcerSpec,
    hooks: EnforcerHooks,
    build: PlainEnforcerBuilder,
    followMode: boolean,
  ): SyscallEnforcerPort {
    const enforcer = new SwappableEnforcer(spec, this.#current.state, hooks, build, followMode);
    // Guests that ended are collected; their refs are dropped here too, not only at the next swap.
    if (this.#enforcers.size >= this.#pruneAt) {
      for (const ref of this.#enforcers) if (ref.deref() === undefined) this.#enforcers.delete(ref);
      this.#pruneAt = Math.max(1024, this.#enforcers.size * 2);
    }
    this.#enforcers.add(new WeakRef(enforcer));
    return enforcer;
  }

  #version(
    prepared: { document: unknown; digest: string; testsPassed: number },
    version: number,
    mode: EnforcementMode,
    kind: PolicyVersion['kind'],
    meta: LivePolicyMeta,
    source: string | undefined,
    frozen = false,
    stored?: PolicyVersion,
    from?: number,
  ): LiveVersion {
    const document = frozen ? prepared.document : deepFreeze(structuredClone(prepared.document));
    const state: LivePolicyState = Object.freeze({ version, document, mode, digest: prepared.digest });
    const entry: PolicyVersion =
      stored ??
      Object.freeze({
        version,
        kind,
        at: this.#clock.now(),
        digest: prepared.digest,
        mode,
        source,
        actor: meta.actor,
        reason: meta.reason,
        testsPassed: prepared.testsPassed,
        ...(from === undefined ? {} : { from }),
      });
    const following = deepFreeze(structuredClone(document as object));
    const fixed = deepFreeze(structuredClone(document as object));
    const owner = (followMode: boolean) => ({
      version,
      followMode,
      state: () => this.#current.state,
      subscribe: (fn: (state: LivePolicyState) => void) => this.subscribe(fn),
      attach: (s: EnforcerSpec, h: EnforcerHooks, b: PlainEnforcerBuilder) =>
        this.#attach(s, h, b, followMode),
    });
    registerLiveDocument(following, owner(true));
    registerLiveDocument(fixed, owner(false));
    this.#history.push(entry);
    if (this.#history.length > this.#limit) this.#history.splice(0, this.#history.length - this.#limit);
    this.#keep(entry, document, true);
    return { entry, state, following, fixed };
  }

  /** Keeps a version's document (the last `historyLimit` versions, never the one in force). */
  #keep(entry: PolicyVersion, document: unknown, wentLive: boolean): void {
    this.#versions.set(entry.version, { entry, document, wentLive });
    for (const number of this.#versions.keys()) {
      if (this.#versions.size <= this.#limit) break;
      if (number !== entry.version && number !== this.#current?.entry.version) this.#versions.delete(number);
    }
  }

  /** Compiles a version and runs its tests; every failure is FORGE_POLICY_SWAP_REFUSED with the cause's code. */
  #prepare(
    input: LivePolicyInput,
    version: number,
  ): { document: unknown; digest: string; testsPassed: number } {
    try {
      if (typeof input !== 'object' || input === null)
        throw new ForgeError(
          'FORGE_POLICY_INVALID',
          'a live policy version is a { document } or an { allow } list',
        );
      const source = sourceOf(input);
      let parsed: ParsedSource | undefined;
      let document: unknown;
      if ('allow' in input) document = allowListDocument(input.allow, input.ask ?? []);
      else if (typeof input.document === 'string') {
        parsed = parseSourceText(input.document, source);
        document = parsed.value;
      } else document = input.document;
      const graph = compilePolicy(document, {
        ...(source === undefined ? {} : { file: source }),
        ...(parsed ? { locate: parsed.locate } : {}),
        ...(this.#known ? { knownSyscalls: this.#known } : {}),
      });
      let testsPassed = 0;
      if ('document' in input && input.tests !== undefined) {
        const testsFile = input.testsSource;
        const tests = parsePolicyTests(
          typeof input.tests === 'string'
            ? parseSourceText(input.tests, testsFile)
            : { value: input.tests, ...(testsFile ? { file: testsFile } : {}), locate: () => undefined },
        );
        const report = runPolicyTests(graph, tests, testsFile);
        const failed = report.results.find((r) => !r.passed);
        if (failed !== undefined) {
          throw new ForgeError(
            'FORGE_POLICY_TEST_FAILED',
            `${report.failed} of ${report.results.length} test cases failed; first: "${failed.name}" expected ${failed.expected.action}${failed.expected.rule ? ` by ${failed.expected.rule}` : ''}, got ${failed.actual.action} by ${failed.actual.rule}`,
          );
        }
        testsPassed = report.passed;
      }
      return { document, digest: graph.digest, testsPassed };
    } catch (error) {
      if (!isForgeError(error)) throw error;
      throw new ForgeError(
        'FORGE_POLICY_SWAP_REFUSED',
        `policy version ${version} refused, version ${this.#current?.entry.version ?? 'none'} stays: ${error.code}: ${error.message}`,
        { cause: error, details: { cause: error.code, version } },
      );
    }
  }
}

function swapQuietly(enforcer: SwappableEnforcer, state: LivePolicyState): void {
  try {
    enforcer.swap(state);
  } catch {
    // That guest stays under the version it had; every other guest moves on.
  }
}

function sourceOf(input: LivePolicyInput): string | undefined {
  return typeof input === 'object' && input !== null && typeof input.source === 'string'
    ? input.source
    : undefined;
}

function checkMode(mode: EnforcementMode): EnforcementMode {
  if (!(enforcementModes as readonly string[]).includes(mode))
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      `mode must be one of ${enforcementModes.join(', ')}, not ${String(mode)}`,
      {
        details: { field: 'mode' },
      },
    );
  return mode;
}

/** An allow-list as a policy document: the listed syscalls allowed, `ask` ones asked (over allow), the rest denied. */
function allowListDocument(allow: readonly string[], ask: readonly string[]): unknown {
  const rules: unknown[] = [];
  if (allow.length > 0) rules.push({ id: 'allow', action: 'allow', match: { syscall: [...allow] } });
  if (ask.length > 0) rules.push({ id: 'ask', action: 'ask', weight: 1, match: { syscall: [...ask] } });
  return {
    apiVersion: 'forgeone.dev/v1',
    kind: 'Policy',
    metadata: { name: 'allow-list' },
    spec: { nodes: [{ name: 'allow-list', rules }] },
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
