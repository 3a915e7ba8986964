import { Option, type Command } from 'commander';
import { ForgeError } from '@forgeone/common';
import type { CliIo } from '../cliIo';
import { baseProgram, exitOverrideAll } from '../program';
import { remoteRegistrations } from './remoteCommands';
import { NoRemoteForm } from './noRemoteForm';
import { remoteRefusal } from './remoteRefusals';
import { openRemoteSession, type RemoteSession } from './remoteSession';
import { TOKEN_ENV, URL_ENV, type RemoteFlags } from './remoteTarget';

/** What a scan of the command line (before `--`) found of the global remote flags. */
export interface GlobalFlagScan {
  readonly remote: boolean;
  readonly tokenFile: boolean;
  readonly remoteTimeout: boolean;
  readonly token: boolean;
}

/** Finds the global remote flags anywhere before `--` (commander takes them after the command too). */
export function scanGlobalFlags(argv: readonly string[]): GlobalFlagScan {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  const has = (flag: string) => head.some((a) => a === flag || a.startsWith(`${flag}=`));
  return {
    remote: has('--remote'),
    tokenFile: has('--token-file'),
    remoteTimeout: has('--remote-timeout'),
    token: has('--token'),
  };
}

/** Adds the global flags of remote mode to a program (listed by `forgeone --help`). */
export function addRemoteOptions(program: Command): Command {
  return program
    .option('--remote <url>', `talk to the forgeoned daemon at <url> (default: $${URL_ENV})`)
    .option(
      '--token-file <file>',
      `read the API token from <file> (mode 600; default: the token in $${TOKEN_ENV})`,
    )
    .option('--remote-timeout <ms>', 'deadline of each API call, ms (default 30000)');
}

/** The local-only options copied onto a remote command, refused when given. */
const refusedOptions = new WeakMap<Command, Option[]>();

/**
 * The program of remote mode: every command with a remote form (remoteCommands), each also
 * knowing the options of its local form so that one given is refused with a code, not reported
 * as unknown; and every command without a remote form, which throws NoRemoteForm.
 */
export function buildRemoteProgram(io: CliIo, local: Command): Command {
  const program = addRemoteOptions(baseProgram(io));
  let session: RemoteSession | undefined;
  const sessionOf = () => (session ??= openRemoteSession(io, program.opts<RemoteFlags>()));
  for (const register of remoteRegistrations) register(program, io, sessionOf);
  mirror(
    local,
    program,
    (path) => {
      throw new NoRemoteForm(path);
    },
    { refuseOptions: true },
  );
  program.hook('preAction', (_program, action) => {
    for (const option of refusedOptions.get(action) ?? [])
      if (action.getOptionValueSource(option.attributeName()) === 'cli')
        throw remoteRefusal(option.long ?? option.flags, commandPath(action));
  });
  exitOverrideAll(program);
  return program;
}

/** Adds to the local program a refusing stand-in for each command that exists only remotely. */
export function addRemoteOnlyStubs(io: CliIo, local: Command): void {
  const remote = baseProgram(io);
  for (const register of remoteRegistrations)
    register(remote, io, () => {
      throw new Error('a stand-in has no session');
    });
  mirror(
    remote,
    local,
    (path) => {
      throw new ForgeError(
        'FORGE_CLI_REMOTE_REQUIRED',
        `\`forgeone ${path}\` talks to a daemon: give --remote URL (or set $${URL_ENV})`,
        { details: { command: path } },
      );
    },
    { visible: true },
  );
}

/**
 * Walks `from`: each command `into` lacks gets a stand-in whose action is `missing`; a command
 * both have, without subcommands, gets `from`'s options `into`'s form does not take (refused
 * when given, see buildRemoteProgram).
 */
function mirror(
  from: Command,
  into: Command,
  missing: (path: string) => never,
  options: { visible?: boolean; refuseOptions?: boolean } = {},
): void {
  for (const sub of from.commands) {
    const have = into.commands.find((c) => c.name() === sub.name());
    if (have === undefined) {
      const stub = into
        .command(sub.name(), { hidden: options.visible !== true })
        .description(`${sub.description()}${options.visible ? ' (with --remote)' : ''}`)
        .argument('[arguments...]')
        .allowUnknownOption()
        .allowExcessArguments()
        .action((_args: unknown, _flags: unknown, command: Command) => missing(commandPath(command)));
      stub.exitOverride();
      continue;
    }
    if (sub.commands.length > 0 && have.commands.length > 0) {
      mirror(sub, have, missing, options);
      continue;
    }
    if (sub.commands.length > 0 || have.commands.length > 0 || options.refuseOptions !== true) continue;
    const own = new Set(have.options.map((o) => o.long));
    const copied = sub.options
      .filter((o) => o.long !== undefined && !own.has(o.long) && o.long !== '--help')
      .map((o) => new Option(o.flags, o.description).hideHelp());
    for (const option of copied) have.addOption(option);
    if (copied.length > 0) refusedOptions.set(have, copied);
  }
}

/** `quarantine ls`: a command's words after `forgeone`. */
function commandPath(command: Command): string {
  const words: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) words.unshift(c.name());
  return words.join(' ');
}
