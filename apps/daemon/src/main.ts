import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createLogger, toForgeError } from '@forgeone/common';
import { bootModes, type BootMode } from '@forgeone/core';
import { checkDaemon } from './checkDaemon';
import { DEFAULT_DRAIN_MS, startDaemon, type DaemonOptions } from './daemon';
import { readTlsFiles } from './daemonTls';
import { registerTokenCommand } from './tokenCommand';

const logger = createLogger({ name: 'forgeoned' });

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!/^\d{1,9}$/.test(value) || n < 1) throw new InvalidArgumentError('expected milliseconds, 1 or more');
  return n;
}

/** The options of serving, which `check` takes too (it checks exactly what serving would do). */
function serveOptions(command: Command): Command {
  return command
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', port, 7460)
    .option('--data-dir <dir>', 'directory for durable state (SQLite); memory only when omitted')
    .option('--root <root.json>', 'the trust root to boot on (default: none, a development kernel)')
    .option(
      '--config <forgeone.yaml>',
      'the kernel configuration (FORGEONE_* variables over it), watched and reloaded',
    )
    .option(
      '--policy-dir <dir>',
      'policy documents: the highest policy.<N>.yaml is the live policy, watched and reloaded',
    )
    .addOption(
      new Option('--mode <mode>', 'the boot mode (check a boot first with `forgeone boot`)')
        .choices([...bootModes])
        .default('normal'),
    )
    .option('--tls-cert <cert.pem>', 'serve HTTPS with this PEM certificate chain (needs --tls-key)')
    .option('--tls-key <key.pem>', 'the PEM private key of --tls-cert')
    .option(
      '--tls-client-ca <ca.pem>',
      'mutual TLS: refuse, at the handshake, clients without a certificate this CA signed',
    )
    .option(
      '--drain-timeout <ms>',
      'on SIGTERM, how long requests in progress may finish before their containers are stopped',
      milliseconds,
      DEFAULT_DRAIN_MS,
    );
}

const program = serveOptions(
  new Command('forgeoned').description('ForgeOne reference daemon: a kernel behind the /v1 HTTP API'),
)
  // Serving options before a subcommand only: `token create --data-dir` is the subcommand's.
  .enablePositionalOptions()
  .exitOverride()
  .configureOutput({ writeErr: () => undefined });

type ServeFlags = {
  host: string;
  port: number;
  dataDir?: string;
  root?: string;
  mode: BootMode;
  config?: string;
  policyDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  drainTimeout: number;
};

/** The flags as the daemon's options (the TLS files read and checked). */
function daemonOptions(flags: ServeFlags): DaemonOptions {
  const { root, mode, config, policyDir, tlsCert, tlsKey, tlsClientCa, drainTimeout, ...listen } = flags;
  const tls = readTlsFiles({
    ...(tlsCert === undefined ? {} : { certFile: tlsCert }),
    ...(tlsKey === undefined ? {} : { keyFile: tlsKey }),
    ...(tlsClientCa === undefined ? {} : { clientCaFile: tlsClientCa }),
  });
  return {
    ...listen,
    ...(config === undefined ? {} : { configFile: config }),
    ...(policyDir === undefined ? {} : { policyDir }),
    ...(tls === undefined ? {} : { tls }),
    drainMs: drainTimeout,
    logger,
    boot: { mode, ...(root === undefined ? {} : { rootPath: resolve(root), rootSource: root }) },
  };
}

async function main(): Promise<void> {
  program.action((flags: ServeFlags) => serve(flags));
  serveOptions(
    program
      .command('check')
      .description(
        'check that the daemon would boot with these options (nothing served, nothing changed); exit 0 when it would',
      ),
  ).action((flags: ServeFlags) => check(flags));
  registerTokenCommand(program, (text) => process.stdout.write(text));
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.exitCode === 0) return;
    process.stderr.write(`FORGE_CLI_USAGE: ${error.message.replace(/^error:\s*/i, '')}\n`);
    process.exitCode = 2;
  }
}

async function check(flags: ServeFlags): Promise<void> {
  const { logger: _unused, ...options } = daemonOptions(flags);
  const found = await checkDaemon(options);
  for (const warning of found.warnings) process.stdout.write(`warning: ${warning}\n`);
  process.stdout.write(
    `ok: forgeoned would boot (mode ${found.mode ?? 'normal'}, root ${found.root === null ? 'none' : `v${found.root}`}, ` +
      `config ${found.configVersion === null ? 'defaults' : `v${found.configVersion}`}, ` +
      `policy ${found.policyVersion === null ? 'none' : `v${found.policyVersion}`}, tls ${found.tls}, ${found.tokens} live tokens)\n`,
  );
}

async function serve(flags: ServeFlags): Promise<void> {
  const daemon = await startDaemon(daemonOptions(flags));
  // SIGHUP forces a reload of the config file and the policy directory (each logged, applied or refused).
  process.on('SIGHUP', () => {
    daemon.reload('SIGHUP').catch((error: unknown) => {
      process.stderr.write(`${toForgeError(error).toLine()}\n`);
    });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      daemon.stop(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`${toForgeError(error).toLine()}\n`);
          process.exit(1);
        },
      );
    });
  }
  // The address on stdout lets supervisors and tests find a daemon started with --port 0. Printed
  // once the signal handlers are in place: a SIGTERM sent on reading it is a drain, not a kill.
  process.stdout.write(`forgeoned listening on ${daemon.address}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${toForgeError(error).toLine()}\n`);
  process.exit(1);
});
