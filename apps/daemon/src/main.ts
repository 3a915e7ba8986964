import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createLogger, toForgeError } from '@forgeone/common';
import { bootModes, type BootMode } from '@forgeone/core';
import { startDaemon } from './daemon';
import { registerTokenCommand } from './tokenCommand';

const logger = createLogger({ name: 'forgeoned' });

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

const program = new Command('forgeoned')
  .description('ForgeOne reference daemon: a kernel behind the /v1 HTTP API')
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
};

async function main(): Promise<void> {
  program.action((flags: ServeFlags) => serve(flags));
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

async function serve(flags: ServeFlags): Promise<void> {
  const { root, mode, config, policyDir, ...listen } = flags;
  const daemon = await startDaemon({
    ...listen,
    ...(config === undefined ? {} : { configFile: config }),
    ...(policyDir === undefined ? {} : { policyDir }),
    logger,
    boot: { mode, ...(root === undefined ? {} : { rootPath: resolve(root), rootSource: root }) },
  });
  // The address on stdout lets supervisors and tests find a daemon started with --port 0.
  process.stdout.write(`forgeoned listening on ${daemon.address}\n`);
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
}

main().catch((error: unknown) => {
  process.stderr.write(`${toForgeError(error).toLine()}\n`);
  process.exit(1);
});
