import { Command, CommanderError } from 'commander';
import { ForgeError, isForgeError } from '@forgeone/common';
import { CliExit, escapingIo, printFailure, type CliIo } from './cliIo';
import { registerRun } from './commands/run';
import { registerReplay } from './commands/replay';
import { registerKeygen } from './commands/keygen';
import { registerRoot } from './commands/root';
import { registerPack } from './commands/pack';
import { registerSign } from './commands/sign';
import { registerVerify } from './commands/verify';
import { registerInspect } from './commands/inspect';
import { registerPolicy } from './commands/policy';
import { registerAudit } from './commands/audit';
import { registerSchedule } from './commands/schedule';
import { registerBoot } from './commands/boot';
import { registerQuarantine } from './commands/quarantine';
import { registerTrace } from './commands/trace';
import { registerSnapshot } from './commands/snapshot';
import { registerConfig } from './commands/config';
import { registerSecret } from './commands/secret';

export const CLI_VERSION = '0.1.0';

/** Codes of a command line that cannot work as written: exit 2, like commander's own errors. */
const USAGE_CODES: ReadonlySet<string> = new Set(['FORGE_CLI_USAGE', 'FORGE_CLI_UNSUPPORTED_OPTION']);

/** Every command, in the order `forgeone --help` lists them. */
const registrations: ReadonlyArray<(program: Command, io: CliIo) => void> = [
  registerRun,
  registerReplay,
  registerKeygen,
  registerRoot,
  registerPack,
  registerSign,
  registerVerify,
  registerInspect,
  registerPolicy,
  registerAudit,
  registerSchedule,
  registerBoot,
  registerQuarantine,
  registerTrace,
  registerSnapshot,
  registerConfig,
  registerSecret,
];

/** Builds the commander program. Each command throws ForgeError on failure; nothing prints a stack. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('forgeone')
    .description('ForgeOne: run untrusted WebAssembly under a zero-trust kernel')
    .version(CLI_VERSION, '-V, --version')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (text) =>
        text
          .replace(/\n$/, '')
          .split('\n')
          .forEach((line) => io.out(line)),
      // Commander's own error text is replaced by our one-line form in runCli.
      writeErr: () => undefined,
    });
  for (const register of registrations) register(program, io);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI with `argv` (without `node` and the script) and returns the process exit code. */
export async function runCli(argv: readonly string[], given: CliIo): Promise<number> {
  // Every line printed from here on is escaped for terminals (see escapingIo).
  const io = escapingIo(given);
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CliExit) return error.exitCode;
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help, --version
      // A command group called without its subcommand (e.g. `forgeone policy`).
      const message =
        error.code === 'commander.help'
          ? `'${argv.filter((a) => !a.startsWith('-')).join(' ')}' needs a subcommand; see forgeone ${argv[0] ?? ''} --help`
          : error.message.replace(/^error:\s*/i, '');
      return printFailure(io, new ForgeError('FORGE_CLI_USAGE', message), 2);
    }
    if (isForgeError(error) && USAGE_CODES.has(error.code)) return printFailure(io, error, 2);
    return printFailure(io, error, 1);
  }
}
