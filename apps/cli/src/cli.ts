import { CommanderError, type Command } from 'commander';
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
import { baseProgram, exitOverrideAll } from './program';
import { NoRemoteForm } from './remote/noRemoteForm';
import {
  addRemoteOnlyStubs,
  addRemoteOptions,
  buildRemoteProgram,
  scanGlobalFlags,
} from './remote/remoteProgram';
import { URL_ENV } from './remote/remoteTarget';

export { CLI_VERSION } from './program';

/** Codes of a command line that cannot work as written: exit 2, like commander's own errors. */
const USAGE_CODES: ReadonlySet<string> = new Set([
  'FORGE_CLI_USAGE',
  'FORGE_CLI_UNSUPPORTED_OPTION',
  'FORGE_CLI_NO_REMOTE_FORM',
  'FORGE_CLI_REMOTE_REQUIRED',
  'FORGE_CLI_TOKEN_ON_COMMAND_LINE',
]);

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

/** The local commands only: what remote mode mirrors (see remoteProgram). */
function localCommands(io: CliIo): Command {
  const program = baseProgram(io);
  for (const register of registrations) register(program, io);
  return program;
}

/**
 * Builds the commander program of local work. Each command throws ForgeError on failure; nothing
 * prints a stack. The commands that work only against a daemon are listed, and refused without one.
 */
export function buildProgram(io: CliIo): Command {
  const program = addRemoteOptions(localCommands(io));
  addRemoteOnlyStubs(io, program);
  exitOverrideAll(program);
  return program;
}

/**
 * Which program parses the command line: `--remote` anywhere before `--` means remote work (a
 * command without a remote form is refused); $FORGEONE_URL alone makes the commands that have a
 * remote form talk to that daemon, and leaves the others local.
 */
async function parse(argv: readonly string[], io: CliIo): Promise<void> {
  const scan = scanGlobalFlags(argv);
  if (scan.token)
    throw new ForgeError(
      'FORGE_CLI_TOKEN_ON_COMMAND_LINE',
      'a token on the command line can be read by other users (ps, shell history): put it in a file (chmod 600) and give --token-file <file>, or set $FORGEONE_TOKEN',
    );
  const envUrl = io.env(URL_ENV);
  if (!scan.remote && (envUrl === undefined || envUrl === '')) {
    if (scan.tokenFile || scan.remoteTimeout)
      throw new ForgeError(
        'FORGE_CLI_REMOTE_REQUIRED',
        `${scan.tokenFile ? '--token-file' : '--remote-timeout'} applies to a daemon: give --remote URL (or set $${URL_ENV})`,
      );
    await buildProgram(io).parseAsync([...argv], { from: 'user' });
    return;
  }
  try {
    await buildRemoteProgram(io, localCommands(io)).parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof NoRemoteForm)) throw error;
    if (scan.remote) throw error.toForgeError();
    await buildProgram(io).parseAsync([...argv], { from: 'user' });
  }
}

/** Runs the CLI with `argv` (without `node` and the script) and returns the process exit code. */
export async function runCli(argv: readonly string[], given: CliIo): Promise<number> {
  // Every line printed from here on is escaped for terminals (see escapingIo).
  const io = escapingIo(given);
  try {
    await parse(argv, io);
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
