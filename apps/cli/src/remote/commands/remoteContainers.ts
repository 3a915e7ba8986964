import { Option, type Command } from 'commander';
import { containerStates } from '@forgeone/core';
import { printResult, type CliIo } from '../../cliIo';
import { integerFlag } from '../../flagValues';
import { containerLine } from '../remoteFormat';
import type { SessionOf } from '../remoteSession';

/** `forgeone --remote URL ps|pause|resume|stop`: the daemon's container registry. */
export function registerRemoteContainers(program: Command, io: CliIo, session: SessionOf): void {
  program
    .command('ps')
    .description("list the daemon's containers, oldest first")
    .addOption(new Option('--state <state>', 'only containers in this state').choices([...containerStates]))
    .option('--name <name>', 'only containers of this name')
    .option('--limit <n>', 'at most n containers (default 1000)', integerFlag('--limit', 1, 1000))
    .option('--json', 'print the containers as JSON')
    .action(async (flags: { state?: (typeof containerStates)[number]; name?: string; limit?: number }) => {
      const { containers } = await session().call('listContainers', {
        query: {
          ...(flags.state === undefined ? {} : { state: flags.state }),
          ...(flags.name === undefined ? {} : { name: flags.name }),
          ...(flags.limit === undefined ? {} : { limit: flags.limit }),
        },
      });
      printResult(io, {
        message: `${containers.length} container(s)`,
        lines: containers.length === 0 ? ['no containers'] : containers.map(containerLine),
        data: { containers },
      });
    });

  const action = (name: 'pause' | 'resume' | 'stop', description: string) =>
    program
      .command(name)
      .description(description)
      .argument('<id>', 'the container id (ps lists them)')
      .option('--json', 'print the container as JSON');

  action('pause', 'pause a running container (its next call waits)').action(async (id: string) => {
    const container = await session().call('pauseContainer', { params: { id } });
    printResult(io, { message: `paused ${container.id} (${container.state})`, data: { container } });
  });
  action('resume', 'resume a paused container').action(async (id: string) => {
    const container = await session().call('resumeContainer', { params: { id } });
    printResult(io, { message: `resumed ${container.id} (${container.state})`, data: { container } });
  });
  action('stop', 'stop a container (the call in flight gets --deadline ms to finish)')
    .option(
      '--deadline <ms>',
      'how long the call in flight may take to finish',
      integerFlag('--deadline', 0, 600_000),
    )
    .action(async (id: string, flags: { deadline?: number }) => {
      const container = await session().call('stopContainer', {
        params: { id },
        query: flags.deadline === undefined ? {} : { deadlineMs: flags.deadline },
      });
      printResult(io, { message: `stopped ${container.id} (${container.state})`, data: { container } });
    });
}
