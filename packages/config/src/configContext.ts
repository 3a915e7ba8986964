import {
  ForgeError,
  MemoryStore,
  isForgeError,
  parseWith,
  systemClock,
  type Clock,
  type JsonValue,
  type StoragePort,
} from '@forgeone/common';
import {
  ChangeMetaSchema,
  type ChangeKind,
  type ChangeMeta,
  type ChangePolicy,
  type ConfigChange,
  touches,
} from './changePolicy';
import { ConfigHistory, type ConfigHistoryEntry } from './configHistory';
import type { ConfigPath, ConfigPathValue } from './configPaths';
import { displayPath, type ConfigSchema } from './configSchema';
import { secretReferenceName, type RevealedSecret, type SecretResolver } from './configSecret';
import { compileChangePolicyRules, type ChangePolicyRule } from './declarativePolicy';
import { deepFreeze, diffLeaves, pathTable, withPath, type LeafChange } from './internal/leafMap';

/** Called with a subscriber's new value, its old value, and the change that made it. */
export type ConfigSubscriber<V, T> = (newValue: V, oldValue: V, change: ConfigChange<T>) => unknown;

/** A subscriber that threw (or rejected): the change went through, and the others were called. */
export interface SubscriberFailure {
  readonly path: string;
  readonly version: number;
  readonly error: unknown;
}

export interface ConfigContextOptions<T extends Record<string, unknown>> {
  readonly schema: ConfigSchema<T>;
  /** Where history lives; default a fresh MemoryStore (history then lasts as long as the process). */
  readonly store?: StoragePort;
  /** Name of the history (namespace `name`, log `name:history`). Default `config`. */
  readonly name?: string;
  /** The configuration of version 1 when the store has no history yet (ignored when it has). */
  readonly initial?: unknown;
  /** Who made version 1. Default the actor `system`. */
  readonly initialMeta?: ChangeMeta;
  /** Code policies (more can be added with addPolicy). */
  readonly policies?: readonly ChangePolicy<NoInfer<T>>[];
  /** Declarative rules (a file's `changePolicies`). */
  readonly rules?: readonly ChangePolicyRule[];
  readonly secrets?: SecretResolver;
  /** Told of every subscriber that throws; default: a process warning. */
  readonly onSubscriberError?: (failure: SubscriberFailure) => void;
  readonly clock?: Clock;
}

/** What a change did: the version it made (the current one when nothing changed) and the changed leaves. */
export interface ConfigChangeResult {
  readonly version: number;
  readonly changes: readonly LeafChange[];
}

/**
 * What a consumer that only reads needs of a live configuration, whatever its sections: any
 * ConfigContext is one (a ConfigContext<T> is not assignable to ConfigContext<Record<...>>, since T
 * is also an input of its methods).
 */
export interface LiveConfig {
  readonly version: number;
  value(): Readonly<Record<string, unknown>>;
  /** Called after every applied change of `path` (or below it); returns the unsubscribe. */
  subscribe(path: string, fn: (value: unknown) => void): () => void;
}

const SYSTEM: ChangeMeta = { actor: { id: 'system', roles: ['system'] }, reason: 'initial configuration' };

function defaultReport(failure: SubscriberFailure): void {
  const message = failure.error instanceof Error ? failure.error.message : String(failure.error);
  process.emitWarning(
    `config subscriber for ${failure.path} failed at version ${failure.version}: ${message}`,
    'ForgeConfigWarning',
  );
}

/**
 * The live configuration of one kernel: typed reads by path, validated changes that pass every
 * change policy, subscribers, and a durable history with rollback. Every change is all or nothing:
 * the whole next configuration is validated, checked and stored before it replaces the current
 * one, which is a frozen tree with a precomputed path table (a read is one property load).
 */
export class ConfigContext<T extends Record<string, unknown>> implements LiveConfig {
  readonly schema: ConfigSchema<T>;
  readonly #history: ConfigHistory;
  readonly #policies: ChangePolicy<T>[];
  readonly #secrets: SecretResolver | undefined;
  readonly #report: (failure: SubscriberFailure) => void;
  readonly #clock: Clock;
  readonly #subscribers = new Map<string, Set<ConfigSubscriber<unknown, T>>>();
  #value: T;
  #table: Record<string, unknown>;
  /** The table's values by slot (slots numbered once, per schema path), for readers. */
  #slots: unknown[];
  readonly #slotOf = new Map<string, number>();
  #version: number;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    options: ConfigContextOptions<T>,
    history: ConfigHistory,
    value: T,
    version: number,
    policies: ChangePolicy<T>[],
  ) {
    this.schema = options.schema;
    this.#history = history;
    this.#policies = policies;
    this.#secrets = options.secrets;
    this.#report = options.onSubscriberError ?? defaultReport;
    this.#clock = options.clock ?? systemClock;
    this.#value = value;
    this.#table = pathTable(value);
    for (const path of options.schema.paths.keys()) this.#slotOf.set(path, this.#slotOf.size);
    this.#slots = this.#slotsOf(this.#table);
    this.#version = version;
  }

  #slotsOf(table: Record<string, unknown>): unknown[] {
    const slots = new Array<unknown>(this.#slotOf.size);
    for (const [path, slot] of this.#slotOf) slots[slot] = table[path];
    return slots;
  }

  /**
   * Opens the configuration: resumes at the store's last version when it has history, else
   * validates `initial` (and the value rules of the policies) and stores it as version 1.
   */
  static async open<T extends Record<string, unknown>>(
    options: ConfigContextOptions<T>,
  ): Promise<ConfigContext<T>> {
    const store = options.store ?? new MemoryStore();
    const history = new ConfigHistory(store, options.name);
    const policies: ChangePolicy<T>[] = [
      ...(compileChangePolicyRules(options.schema as ConfigSchema, options.rules ?? []) as ChangePolicy<T>[]),
      ...(options.policies ?? []),
    ];
    const head = await history.head();
    if (head > 0) {
      const stored = await history.read(head);
      const value = parseStored(options.schema, stored.config, head);
      return new ConfigContext(options, history, value, head, policies);
    }
    const value = deepFreeze(options.schema.parse(options.initial ?? {}));
    const meta = parseWith(ChangeMetaSchema, options.initialMeta ?? SYSTEM, 'change metadata');
    const context = new ConfigContext(options, history, value, 0, policies);
    const change: ConfigChange<T> = {
      kind: 'initial',
      version: 1,
      actor: meta.actor,
      reason: meta.reason,
      changes: diffLeaves({}, value),
      before: value,
      after: value,
    };
    await context.#check(change);
    await history.append({
      ...change,
      time: context.#clock.now(),
      config: value as unknown as Record<string, JsonValue>,
    });
    context.#version = 1;
    return context;
  }

  /** The current version (1 for the first configuration). */
  get version(): number {
    return this.#version;
  }

  /** The whole current configuration (frozen; secrets are references). */
  value(): T {
    return this.#value;
  }

  /** The value at `path`; a path the schema does not have is FORGE_CONFIG_UNKNOWN_PATH. */
  get<P extends ConfigPath<T>>(path: P): ConfigPathValue<T, P> {
    const value = this.#table[path];
    if (value !== undefined) return value as ConfigPathValue<T, P>;
    this.schema.pathInfo(path); // throws for an unknown path; a known one is just absent (optional)
    return undefined as ConfigPathValue<T, P>;
  }

  /**
   * A function that reads the current value at `path` (checked once, here): for hot paths that
   * read the same setting again and again, where it costs one array load instead of a lookup by name.
   */
  reader<P extends ConfigPath<T>>(path: P): () => ConfigPathValue<T, P> {
    this.schema.pathInfo(path);
    const slot = this.#slotOf.get(path)!;
    return () => this.#slots[slot] as ConfigPathValue<T, P>;
  }

  /** Sets one value (validated as part of the whole next configuration) when every policy lets it. */
  set<P extends ConfigPath<T>>(
    path: P,
    value: ConfigPathValue<T, P>,
    meta: ChangeMeta,
  ): Promise<ConfigChangeResult>;
  set(path: string, value: unknown, meta: ChangeMeta): Promise<ConfigChangeResult>;
  set(path: string, value: unknown, meta: ChangeMeta): Promise<ConfigChangeResult> {
    return this.#serial(async () => {
      this.schema.pathInfo(path);
      return this.#apply('set', withPath(this.#value, path, value), meta);
    });
  }

  /** Replaces the whole configuration at once (defaults filled in): all of it or none of it. */
  replace(next: unknown, meta: ChangeMeta): Promise<ConfigChangeResult> {
    return this.#serial(() => this.#apply('replace', next, meta));
  }

  /** Makes the configuration of `version` current again, as a new version (policies apply). */
  rollback(version: number, meta: ChangeMeta): Promise<ConfigChangeResult> {
    return this.#serial(async () => {
      const stored = await this.#history.read(version);
      return this.#apply('rollback', parseStored(this.schema, stored.config, version), meta);
    });
  }

  /** Every version, oldest first; with `path`, only the versions that changed it (or under it). */
  async history(path?: ConfigPath<T> | string): Promise<ConfigHistoryEntry[]> {
    if (path !== undefined) this.schema.pathInfo(path);
    const entries = await this.#history.entries();
    return path === undefined ? entries : entries.filter((entry) => touches(entry, path));
  }

  /** Calls `fn` after every change of `path` (or anything under it); returns the unsubscribe function. */
  subscribe<P extends ConfigPath<T>>(path: P, fn: ConfigSubscriber<ConfigPathValue<T, P>, T>): () => void;
  subscribe(path: string, fn: ConfigSubscriber<unknown, T>): () => void;
  subscribe(path: string, fn: ConfigSubscriber<never, T>): () => void {
    this.schema.pathInfo(path);
    let set = this.#subscribers.get(path);
    if (!set) this.#subscribers.set(path, (set = new Set()));
    const entry = fn as ConfigSubscriber<unknown, T>; // values come from the path table, typed by P
    set.add(entry);
    return () => void set.delete(entry);
  }

  /** Adds a code policy every later change must pass; returns the function that removes it. */
  addPolicy(policy: ChangePolicy<T>): () => void {
    this.#policies.push(policy);
    return () => {
      const at = this.#policies.indexOf(policy);
      if (at >= 0) this.#policies.splice(at, 1);
    };
  }

  /** Resolves the secret referenced at `path` through the context's SecretResolver. */
  async resolveSecret(path: ConfigPath<T> | string): Promise<RevealedSecret> {
    const info = this.schema.pathInfo(path);
    const name = secretReferenceName(this.#table[path]);
    if (!info.secret || name === undefined) {
      throw new ForgeError('FORGE_CONFIG_UNKNOWN_PATH', `${displayPath(path)} holds no secret reference`, {
        details: { path },
      });
    }
    return this.#resolve(path, name);
  }

  /** Checks that every secret reference in the configuration names a defined secret. */
  async checkSecrets(): Promise<void> {
    for (const [path, info] of this.schema.paths) {
      const name = info.secret ? secretReferenceName(this.#table[path]) : undefined;
      if (name !== undefined) await this.#resolve(path, name);
    }
  }

  async #resolve(path: string, name: string): Promise<RevealedSecret> {
    if (!this.#secrets) {
      throw new ForgeError(
        'FORGE_CONFIG_SECRET_NO_RESOLVER',
        `${path} references secret ${name}, but no secret store was given`,
        {
          details: { path, secret: name },
        },
      );
    }
    let secret: RevealedSecret | undefined;
    try {
      secret = await this.#secrets.resolve(name);
    } catch (cause) {
      // The store's own "no such secret" becomes this side's code, naming the referencing path;
      // any other ForgeError (wrong key, tampered ciphertext) keeps its code.
      if (isForgeError(cause) && cause.code !== 'FORGE_SECRET_NOT_FOUND') throw cause;
      throw undefinedSecret(path, name, cause);
    }
    if (secret === undefined || secret === null || typeof secret.reveal !== 'function')
      throw undefinedSecret(path, name);
    return secret;
  }

  #serial<R>(op: () => Promise<R>): Promise<R> {
    const run = this.#queue.then(op, op);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #apply(kind: ChangeKind, input: unknown, givenMeta: ChangeMeta): Promise<ConfigChangeResult> {
    const meta = parseWith(ChangeMetaSchema, givenMeta, 'change metadata');
    const next = deepFreeze(this.schema.parse(input));
    const changes = diffLeaves(this.#value, next);
    if (changes.length === 0) return { version: this.#version, changes };
    const before = this.#value;
    const change: ConfigChange<T> = {
      kind,
      version: this.#version + 1,
      actor: meta.actor,
      reason: meta.reason,
      changes,
      before,
      after: next,
    };
    await this.#check(change);
    await this.#history.append({
      ...change,
      time: this.#clock.now(),
      config: next as unknown as Record<string, JsonValue>,
    });
    // The swap: one assignment each, after everything that can fail.
    const oldTable = this.#table;
    this.#value = next;
    this.#table = pathTable(next);
    this.#slots = this.#slotsOf(this.#table);
    this.#version = change.version;
    this.#notify(change, oldTable);
    return { version: change.version, changes };
  }

  async #check(change: ConfigChange<T>): Promise<void> {
    for (const policy of [...this.#policies]) {
      let verdict: unknown;
      try {
        verdict = await policy.check(change);
      } catch (cause) {
        verdict = `the rule failed: ${cause instanceof Error ? cause.message : String(cause)}`;
      }
      if (verdict === true || verdict === undefined) continue;
      const why = typeof verdict === 'string' ? verdict : 'refused';
      throw new ForgeError('FORGE_CONFIG_CHANGE_REFUSED', `change refused by rule ${policy.name}: ${why}`, {
        details: { rule: policy.name, version: change.version },
      });
    }
  }

  #notify(change: ConfigChange<T>, oldTable: Record<string, unknown>): void {
    for (const [path, fns] of this.#subscribers) {
      if (!touches(change, path)) continue;
      for (const fn of [...fns]) {
        try {
          const result = fn(this.#table[path], oldTable[path], change);
          if (result instanceof Promise)
            result.catch((error: unknown) => this.#failed(path, change.version, error));
        } catch (error) {
          this.#failed(path, change.version, error);
        }
      }
    }
  }

  #failed(path: string, version: number, error: unknown): void {
    try {
      this.#report({ path, version, error });
    } catch {
      // A failing reporter must not break the change either.
    }
  }
}

function undefinedSecret(path: string, name: string, cause?: unknown): ForgeError {
  return new ForgeError(
    'FORGE_CONFIG_SECRET_UNDEFINED',
    `${path} references secret ${name}, which is not defined`,
    {
      ...(cause === undefined ? {} : { cause }),
      details: { path, secret: name },
    },
  );
}

function parseStored<T extends Record<string, unknown>>(
  schema: ConfigSchema<T>,
  config: unknown,
  version: number,
): T {
  try {
    return deepFreeze(schema.parse(config));
  } catch (cause) {
    throw new ForgeError(
      'FORGE_CONFIG_HISTORY_INVALID',
      `stored configuration version ${version} no longer validates: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause, details: { version } },
    );
  }
}
