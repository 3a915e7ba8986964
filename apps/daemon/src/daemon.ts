import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ForgeError,
  MemoryStore,
  SqliteStore,
  createLogger,
  type Logger,
  type StoragePort,
} from '@forgeone/common';
import { createApiServer, createKernel, type Kernel, type KernelBootOptions } from '@forgeone/interface';

export interface DaemonOptions {
  readonly host: string;
  readonly port: number;
  /** Directory for durable state (SQLite). Without it, state lives in memory and is lost on exit. */
  readonly dataDir?: string;
  readonly logger?: Logger;
  /** How the kernel boots (mode, trust root); `forgeone boot` boots the same way, as a check. */
  readonly boot?: KernelBootOptions;
}

export interface RunningDaemon {
  readonly kernel: Kernel;
  /** `http://host:port` the API listens on. */
  readonly address: string;
  /** Stops accepting requests, then shuts the kernel and its store down. Idempotent. */
  stop(reason: string): Promise<void>;
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
  let kernel: Kernel;
  try {
    // The boot is audited into the store, as `forgeone boot --state` audits it.
    kernel = await createKernel({ store, auditStore: store, boot: options.boot ?? {} });
  } catch (error) {
    await store.close();
    throw error;
  }
  const app = createApiServer({ kernel });
  let address: string;
  try {
    address = await app.listen({ host: options.host, port: options.port });
  } catch (error) {
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
    },
    'forgeoned listening',
  );
  let stopping: Promise<void> | undefined;
  return {
    kernel,
    address,
    stop(reason) {
      stopping ??= (async () => {
        logger.info({ reason }, 'forgeoned stopping');
        await app.close();
        await kernel.shutdown(reason);
      })();
      return stopping;
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
