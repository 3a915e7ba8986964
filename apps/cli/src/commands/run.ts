import type { Command } from 'commander';
import type { CliIo } from '../cliIo';

export function registerRun(program: Command, _io: CliIo): void {
  program.command('run <module>').description('run a WebAssembly module');
}
