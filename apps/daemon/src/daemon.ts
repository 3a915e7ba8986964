import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  ForgeError,
  MemoryStore,
  SqliteStore,
  createLogger,
  type Logger,
  type StoragePort,
} from '@forgeone/common';
import {
  ConfigContext,
  ConfigWatcher,
  defaultConfigSections,
  defineConfigSchema,
  loadConfig,
  type ReloadResult,
} from '@forgeone/config';
import { coreConfigPolicies, coreConfigSections } from '@forgeone/core';
import {
  TokenStore,
  createApiServer,
  createKernel,
  type ApiTlsOptions,
  type Kernel,
  type KernelBootOptions,
  type PolicyDirectorySource,
} from '@forgeone/interface';
import { trustConfigSections } from '@forgeone/trust';
import {
  PolicyDirectoryWatcher,
  readPolicyDirectory,
  removePolicyVersion,
  writePolicyVersion,
  type PolicyReloadResult,
} from './policyDirectory';

export interface DaemonOptions {
  readonly host: string;
  readonly port: number;
  /** Directory for durable state (SQLite). Without it, state lives in memory and is lost on exit. */
  readonly dataDir?: string;
  readonly logger?: Logger;
  /** How the kernel boots (mode, trust root); `forgeone boot` boots the same way, as a check. */
  readonly boot?: KernelBootOptions;
  /**
   * `forgeone.yaml`: the kernel's configuration (with `FORGEONE_*` from `env` over it), watched;
   * each valid change is applied whole (limits, mode, budgets, log level), an invalid one refused.
   */
  readonly configFile?: string;
  /** A directory of policy documents (see choosePolicyFile for which is live), watched: the kernel's live policy. */
  readonly policyDir?: string;
  /** The environment the configuration is read with. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Quiet time after the last write before a changed file is read. Default 100 ms. */
  readonly debounceMs?: number;
  /** Serve HTTPS (with `clientCa`, mutual TLS): see `readTlsFiles`. */
  readonly tls?: ApiTlsOptions;
  /**
   * How long `stop` lets requests in progress finish, ms, before it stops the containers under
   * them (their calls then end and are answered) and closes what is still open. Default 10,000.
   */
  readonly drainMs?: number;
}

export const DEFAULT_DRAIN_MS = 10_000;

/** What a forced reload (SIGHUP) did, per source watched. */
export interface DaemonReload {
  readonly config?: ReloadResult;
  readonly policy?: PolicyReloadResult;
}

export interface RunningDaemon {
  readonly kernel: Kernel;
  /** `http://host:port` the API listens on. */
  readonly address: string;
  /** Reads the config file and the policy directory now (what SIGHUP does), applying or refusing each. */
  reload(trigger?: string): Promise<DaemonReload>;
  /** Stops accepting requests, then shuts the kernel and its store down. Idempotent. */
  stop(reason: string): Promise<void>;
}

/** The daemon's configuration schema: every package's sections. */
const daemonSchema = defineConfigSchema([
  ...defaultConfigSections,
  ...coreConfigSections,
  ...trustConfigSections,
]);
type DaemonContext = Awaited<ReturnType<typeof openContext>>;

/**
 * The daemon's live configuration, its history durable in the daemon's store (log `config:history`).
 * The file is the source of truth: a restart with a changed file applies it over the stored head
 * as one more version (refused whole, with its code, when a change policy refuses it).
 */
async function openContext(
  initial: unknown,
  rules: Awaited<ReturnType<typeof loadConfig>>['rules'],
  store: StoragePort,
) {
  const context = await ConfigContext.open({
    schema: daemonSchema,
    store,
    initial,
    rules,
    policies: [...coreConfigPolicies],
  });
  await context.replace(initial, {
    actor: { id: 'forgeoned', roles: ['system'] },
    reason: 'daemon start: the configuration file',
  });
  return context;
}

/** The daemon's store: SQLite in `<dataDir>/forgeone.db` (made 0700 if missing), or memory. */
export async function openDaemonStore(dataDir: string | undefined): Promise<StoragePort> {
  if (dataDir === undefined) return new MemoryStore();
  const dir = resolve(dataDir);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ForgeError(
      'FORGE_STORAGE_IO',
      `cannot create data directory ${dir}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return SqliteStore.open(join(dir, 'forgeone.db'));
}

export interface ComposedKernel {
  readonly kernel: Kernel;
  readonly context: DaemonContext | undefined;
  readonly rules: Awaited<ReturnType<typeof loadConfig>>['rules'];
}

/**
 * Boots the daemon's kernel on `store`: the config file, the policy directory, the boot (trust
 * anchor, self-test). What serving and `forgeoned check` share; a refusal closes the store and
 * throws its code.
 */
export async function composeKernel(
  options: DaemonOptions,
  store: StoragePort,
  logger: Logger,
): Promise<ComposedKernel> {
  const env = options.env ?? process.env;
  let context: DaemonContext | undefined;
  let rules: Awaited<ReturnType<typeof loadConfig>>['rules'] = [];
  try {
    // A file that does not load (or a policy directory without a policy that compiles) stops the
    // boot with its code: the daemon never runs on half a configuration.
    if (options.configFile !== undefined) {
      const loaded = await loadConfig({ schema: daemonSchema, file: resolve(options.configFile), env });
      rules = loaded.rules;
      const opened = await openContext(loaded.config, rules, store);
      context = opened;
      logger.level = opened.get('log.level');
    }
    const policy =
      options.policyDir === undefined ? undefined : await readPolicyDirectory(resolve(options.policyDir));
    // The boot is audited into the store, as `forgeone boot --state` audits it.
    const kernel = await createKernel({
      store,
      auditStore: store,
      boot: options.boot ?? {},
      ...(context ? { config: context } : {}),
      ...(policy ? { policy } : {}),
    });
    return { kernel, context, rules };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** A loopback address: only this machine can reach a listener there. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h)
  );
}

/**
 * Why listening on `host` may expose the kernel: off loopback without TLS (tokens and data cross
 * the network in the clear) or with no token made yet. Empty on loopback.
 */
export function exposureWarnings(host: string, tls: boolean, tokens: number): string[] {
  if (isLoopback(host)) return [];
  const warnings: string[] = [];
  if (!tls)
    warnings.push(
      `listening on ${host}, reachable from other machines, without TLS: bearer tokens and data cross the network in the clear; give --tls-cert and --tls-key (and --tls-client-ca for mutual TLS), or listen on 127.0.0.1`,
    );
  if (tokens === 0)
    warnings.push(
      `listening on ${host}, reachable from other machines, and no API token exists yet: make one with \`forgeoned token create --role viewer|operator|admin\``,
    );
  return warnings;
}

/** Tokens that still work (neither revoked nor expired). */
export async function liveTokenCount(kernel: Kernel): Promise<number> {
  if (!kernel.store) return 0;
  const now = kernel.clock.now();
  const tokens = await new TokenStore(kernel.store, { clock: kernel.clock }).list();
  return tokens.filter((t) => t.revokedAt === null && (t.expiresAt === null || t.expiresAt > now)).length;
}

/** Composes a kernel with its store and serves the API. The daemon's whole job; main.ts only parses flags. */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const logger = options.logger ?? createLogger({ name: 'forgeoned' });
  const env = options.env ?? process.env;
  const store = await openDaemonStore(options.dataDir);
  const { kernel, context, rules } = await composeKernel(options, store, logger);
  const reloads = watchReloads(kernel, context, rules, options, env, logger);
  let app: ReturnType<typeof createApiServer>;
  let address: string;
  try {
    app = createApiServer({
      kernel,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(reloads.policy
        ? { policyDirectory: directorySource(resolve(options.policyDir!), reloads.policy) }
        : {}),
    });
  } catch (error) {
    reloads.close();
    await kernel.shutdown('api server refused');
    throw error;
  }
  // Counted before listening: between the `listening` line and the caller's signal handlers
  // nothing may wait on I/O (a SIGHUP or SIGTERM sent on that line must find them in place).
  let tokenCount: number;
  try {
    tokenCount = await liveTokenCount(kernel);
  } catch (error) {
    reloads.close();
    await kernel.shutdown('token store unreadable');
    throw error;
  }
  try {
    address = await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    reloads.close();
    await kernel.shutdown('listen failed');
    throw listenError(error, options.host, options.port);
  }
  const tls = options.tls === undefined ? 'none' : options.tls.clientCa === undefined ? 'tls' : 'mutual';
  logger.info(
    {
      address,
      kernel: kernel.id,
      store: store.kind,
      mode: kernel.boot?.mode,
      root: kernel.boot?.root?.version ?? null,
      config: options.configFile ?? null,
      policyVersion: kernel.policies?.version ?? null,
      tls,
    },
    'forgeoned listening',
  );
  for (const warning of exposureWarnings(options.host, tls !== 'none', tokenCount))
    logger.warn({ host: options.host, tls }, warning);
  let stopping: Promise<void> | undefined;
  return {
    kernel,
    address,
    reload: (trigger = 'SIGHUP') => reloads.reload(trigger),
    stop(reason) {
      stopping ??= drain(app, kernel, reloads, logger, reason, options.drainMs ?? DEFAULT_DRAIN_MS);
      return stopping;
    },
  };
}

/**
 * SIGTERM: stop accepting (new connections are refused, a request on a kept-alive one gets 503),
 * let the requests in progress finish for up to `drainMs`, then stop the containers still running
 * under them (their calls end and are answered) and close whatever is left; then the kernel
 * shutdown stops every container, flushes traces and the audit log and closes the store.
 */
async function drain(
  app: ReturnType<typeof createApiServer>,
  kernel: Kernel,
  reloads: { close(): void },
  logger: Logger,
  reason: string,
  drainMs: number,
): Promise<void> {
  const started = Date.now();
  logger.info({ reason, drainMs }, 'forgeoned stopping: draining requests in progress');
  reloads.close();
  const closed = app.close();
  // A kept-alive connection whose request was answered would otherwise hold the close until its
  // keep-alive timeout: closed as soon as it is idle.
  const idle = setInterval(() => app.server.closeIdleConnections(), 50);
  void closed.finally(() => clearInterval(idle)).catch(() => undefined);
  if (!(await settlesWithin(closed, drainMs))) {
    logger.warn(
      { drainMs },
      'drain deadline passed with requests in progress: stopping the containers under them',
    );
    await kernel.runtime.close();
    // Their calls have ended: a second to answer them, then whatever is still open is cut.
    if (!(await settlesWithin(closed, 1000))) app.server.closeAllConnections();
    await closed;
  }
  await kernel.shutdown(reason);
  logger.info({ reason, ms: Date.now() - started }, 'forgeoned stopped');
}

/** Whether `promise` settles within `ms` (the timer never holds the process). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((done) => {
    timer = setTimeout(() => done(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The daemon's watchers: the config file (ConfigWatcher) and the policy directory. Every reload,
 * applied or refused, is one log line (a refusal with its code) and a `config.reload` event; the
 * log level follows `log.level`.
 */
function watchReloads(
  kernel: Kernel,
  context: DaemonContext | undefined,
  rules: Awaited<ReturnType<typeof loadConfig>>['rules'],
  options: DaemonOptions,
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
): {
  reload(trigger: string): Promise<DaemonReload>;
  close(): void;
  readonly policy: PolicyDirectoryWatcher | undefined;
} {
  const debounceMs = options.debounceMs ?? 100;
  const offLevel = context?.subscribe('log.level', (level: unknown) => {
    logger.level = String(level);
  });
  const reportConfig = (result: ReloadResult, trigger: string): void => {
    const file = options.configFile!;
    if (result.applied) {
      kernel.events.emit('config.reload', {
        applied: true,
        source: file,
        version: result.version,
        changed: result.changed,
      });
      logger.info(
        { trigger, file, version: result.version, changed: result.changed },
        'config reload applied',
      );
    } else {
      kernel.events.emit('config.reload', {
        applied: false,
        source: file,
        code: result.code,
        message: result.message,
      });
      logger.warn(
        { trigger, file, code: result.code },
        `config reload refused: ${result.code}: ${result.message}`,
      );
    }
  };
  const reportPolicy = (result: PolicyReloadResult, trigger: string): void => {
    const dir = options.policyDir!;
    if (result.applied) {
      kernel.events.emit('config.reload', {
        applied: true,
        source: result.file,
        version: result.version,
        changed: result.unchanged ? [] : ['policy'],
      });
      logger.info(
        { trigger, file: result.file, version: result.version, unchanged: result.unchanged },
        'policy reload applied',
      );
    } else {
      kernel.events.emit('config.reload', {
        applied: false,
        source: dir,
        code: result.code,
        message: result.message,
      });
      logger.warn(
        { trigger, dir, code: result.code },
        `policy reload refused: ${result.code}: ${result.message}`,
      );
    }
  };
  const config =
    context &&
    new ConfigWatcher({
      file: resolve(options.configFile!),
      context,
      rules,
      env,
      debounceMs,
      onResult: (result) => reportConfig(result, 'watch'),
    });
  const policies = kernel.policies;
  const policy =
    policies &&
    new PolicyDirectoryWatcher({
      dir: resolve(options.policyDir!),
      policies,
      debounceMs,
      onResult: (result) => reportPolicy(result, 'watch'),
    });
  return {
    policy,
    async reload(trigger) {
      const done: { config?: ReloadResult; policy?: PolicyReloadResult } = {};
      if (config) reportConfig((done.config = await config.reload()), trigger);
      if (policy) reportPolicy((done.policy = await policy.reload()), trigger);
      return done;
    },
    close() {
      offLevel?.();
      config?.close();
      policy?.close();
    },
  };
}

/**
 * API uploads into the policy directory: each is written as the next `policy.<N>.yaml` and put in
 * force from there at once (the directory stays the one source; the version outlives a restart).
 * One upload at a time, so two never take the same N; a version the reload refuses is removed.
 */
function directorySource(dir: string, watcher: PolicyDirectoryWatcher): PolicyDirectorySource {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    add(version, meta) {
      const run = queue.then(async () => {
        const written = await writePolicyVersion(dir, version);
        const result = await watcher.reload({
          ...meta,
          reason: meta.reason ?? `uploaded as ${basename(written.file)}`,
        });
        if (!result.applied) {
          await removePolicyVersion(written);
          throw new ForgeError(result.code as never, result.message);
        }
        return watcher.policies.current;
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

/** Why the daemon could not listen, with what to do about it. */
function listenError(error: unknown, host: string, port: number): ForgeError {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  const options = { cause: error, details: { host, port, errno: code ?? null } };
  switch (code) {
    case 'EADDRINUSE':
      return new ForgeError(
        'FORGE_DAEMON_ADDRESS_IN_USE',
        `cannot listen on ${where}: another process is already listening there; pick another --port (--port 0 picks a free one) or stop that process`,
        options,
      );
    case 'EACCES':
    case 'EPERM':
      return new ForgeError(
        'FORGE_DAEMON_ACCESS_DENIED',
        `cannot listen on ${where}: permission denied${port > 0 && port < 1024 ? ` (port ${port} is a privileged port)` : ''}; pick a --port of 1024 or more, or run with the privilege to bind it`,
        options,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ForgeError(
        'FORGE_DAEMON_ADDRESS_UNAVAILABLE',
        `cannot listen on ${where}: ${host} is not an address of this machine; give a local --host such as 127.0.0.1`,
        options,
      );
    default:
      return new ForgeError(
        'FORGE_DAEMON_LISTEN_FAILED',
        `cannot listen on ${where}: ${(error as Error).message ?? String(error)}`,
        options,
      );
  }
}
