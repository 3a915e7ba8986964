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
  createApiServer,
  createKernel,
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
}

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

/** Composes a kernel with its store and serves the API. The daemon's whole job; main.ts only parses flags. */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const logger = options.logger ?? createLogger({ name: 'forgeoned' });
  let store: StoragePort;
  if (options.dataDir) {
    const dir = resolve(options.dataDir);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new ForgeError(
        'FORGE_STORAGE_IO',
        `cannot create data directory ${dir}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    store = await SqliteStore.open(join(dir, 'forgeone.db'));
  } else {
    store = new MemoryStore();
  }
  const env = options.env ?? process.env;
  let kernel: Kernel;
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
    kernel = await createKernel({
      store,
      auditStore: store,
      boot: options.boot ?? {},
      ...(context ? { config: context } : {}),
      ...(policy ? { policy } : {}),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const reloads = watchReloads(kernel, context, rules, options, env, logger);
  const app = createApiServer({
    kernel,
    ...(reloads.policy
      ? { policyDirectory: directorySource(resolve(options.policyDir!), reloads.policy) }
      : {}),
  });
  let address: string;
  try {
    address = await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    reloads.close();
    await kernel.shutdown('listen failed');
    throw listenError(error, options.host, options.port);
  }
  logger.info(
    {
      address,
      kernel: kernel.id,
      store: store.kind,
      mode: kernel.boot?.mode,
      root: kernel.boot?.root?.version ?? null,
      config: options.configFile ?? null,
      policyVersion: kernel.policies?.version ?? null,
    },
    'forgeoned listening',
  );
  let stopping: Promise<void> | undefined;
  return {
    kernel,
    address,
    reload: (trigger = 'SIGHUP') => reloads.reload(trigger),
    stop(reason) {
      stopping ??= (async () => {
        logger.info({ reason }, 'forgeoned stopping');
        reloads.close();
        await app.close();
        await kernel.shutdown(reason);
      })();
      return stopping;
    },
  };
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
