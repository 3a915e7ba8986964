import { Option, type Command } from 'commander';
import { redzoneStates, type RedzoneState } from '@forgeone/trust';
import { printResult, type CliIo } from '../../cliIo';
import { containerLine, oneLine } from '../remoteFormat';
import type { SessionOf } from '../remoteSession';

interface RecordJson {
  containerId: string;
  state: string;
  reason: string;
  firedRules: string[];
  quarantinedAt: number;
  deadline: number;
  count: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One record, in the words of the local `quarantine ls`. */
function recordLine(record: RecordJson): string {
  return `${record.containerId}  ${record.state.padEnd(11)}  ${iso(record.quarantinedAt)}  ${oneLine(record.reason)}`;
}

/**
 * `forgeone --remote URL quarantine ls|show|release|terminate`: the daemon's redzone, with the
 * words and flags of the local command (the daemon attributes a release to the token, not --by).
 */
export function registerRemoteQuarantine(program: Command, io: CliIo, session: SessionOf): void {
  const quarantine = program
    .command('quarantine')
    .description("list, inspect, release or terminate the daemon's quarantine records");

  quarantine
    .command('ls')
    .description('list the quarantine records, newest first')
    .addOption(new Option('--status <state>', 'only records in this state').choices([...redzoneStates]))
    .option('--json', 'print the records as JSON')
    .action(async (flags: { status?: RedzoneState }) => {
      const { records } = await session().call('listQuarantine', {
        query: flags.status === undefined ? {} : { state: flags.status },
      });
      const sorted = [...records].sort((a, b) => b.quarantinedAt - a.quarantinedAt);
      printResult(io, {
        message: `${sorted.length} quarantine record(s)`,
        lines: sorted.length === 0 ? ['no quarantine records'] : sorted.map(recordLine),
        data: { records: sorted },
      });
    });

  quarantine
    .command('show')
    .description('show one record: reason, rules that fired, deadline')
    .argument('<id>', 'the record id (the container id)')
    .option('--json', 'print the record as JSON')
    .action(async (id: string) => {
      const record = await session().call('getQuarantine', { params: { id } });
      printResult(io, {
        message: recordLine(record),
        lines: [
          `record       ${record.containerId}`,
          `state        ${record.state}`,
          `reason       ${oneLine(record.reason)}`,
          `rules        ${record.firedRules.map(oneLine).join(', ') || 'none named'}`,
          `quarantined  ${iso(record.quarantinedAt)} (stay ${record.count})`,
          `deadline     ${iso(record.deadline)}`,
        ],
        data: { record },
      });
    });

  quarantine
    .command('release')
    .description('release a held container: it runs again')
    .argument('<id>', 'the record id')
    .option('--note <text>', 'why (kept in the history)')
    .option('--json', 'print the container as JSON')
    .action(async (id: string, flags: { note?: string }) => {
      const container = await session().call('releaseQuarantine', {
        params: { id },
        body: flags.note === undefined ? {} : { note: flags.note },
      });
      printResult(io, {
        message: `released ${id}`,
        lines: [`released ${id}`, containerLine(container)],
        data: { container },
      });
    });

  quarantine
    .command('terminate')
    .description('terminate a held container: it is stopped')
    .argument('<id>', 'the record id')
    .option('--reason <text>', 'why (kept in the history)')
    .option('--json', 'print the container as JSON')
    .action(async (id: string, flags: { reason?: string }) => {
      const container = await session().call('terminateQuarantine', {
        params: { id },
        body: flags.reason === undefined ? {} : { note: flags.reason },
      });
      printResult(io, {
        message: `terminated ${id}`,
        lines: [`terminated ${id}`, containerLine(container)],
        data: { container },
      });
    });
}
