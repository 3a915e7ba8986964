import { Command } from 'commander';
import type { CliIo } from './cliIo';

export const CLI_VERSION = '0.1.0';

/** An empty `forgeone` program: its name, version and output, without commands. */
export function baseProgram(io: CliIo): Command {
  return new Command('forgeone')
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
}

/** Sets exitOverride on every command of a tree (commander sets it per command). */
export function exitOverrideAll(command: Command): void {
  for (const sub of command.commands) {
    sub.exitOverride();
    exitOverrideAll(sub);
  }
}
