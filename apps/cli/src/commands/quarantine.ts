import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ForgeError, openStateStore, type SqliteStore } from '@forgeone/common';
import { Redzone, redzoneStates, type QuarantineRecord, type RedzoneState } from '@forgeone/trust';
import { printResult, usageError, type CliIo } from '../cliIo';
import { STATE_ENV, cliPath } from '../flagValues';

interface StateFlags {
  state?: string;
}

/** Where runs keep their records when neither --state nor $FORGEONE_STATE names a state (as `run` does). */
const DEFAULT_STATE_DIR = '.forgeone';
/** Most syscalls of a record's DNA that `show` lists. */
const TOP_CALLS = 10;
/** A record id is a container id: letters, digits and a few separators, not a path or a query. */
const RECORD_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * `forgeone quarantine ls|show|release|terminate`: the redzone records of a state directory —
 * runs and containers a policy (or an operator) quarantined, why, the rules that fired, their DNA.
 */
export function registerQuarantine(program: Command, io: CliIo): void {
  const quarantine = program
    .command('quarantine')
    .description('list, inspect, release or terminate the quarantine records of a state directory');
  const stateOption = () =>
    new Option(
      '--state <dir>',
      `the state holding the records (default: $${STATE_ENV}, else ./${DEFAULT_STATE_DIR}, where \`run --policy\` keeps them)`,
    );

  quarantine
    .command('ls')
    .description('list the quarantine records, newest first')
    .addOption(stateOption())
    .addOption(new Option('--status <state>', 'only records in this state').choices([...redzoneStates]))
    .option('--json', 'print the records as JSON')
    .action(async (flags: StateFlags & { status?: RedzoneState }) =>
      withRedzone(io, flags, async (redzone) => {
        const records = (await redzone.list(flags.status ? { state: flags.status } : {})).sort(
          (a, b) => b.quarantinedAt - a.quarantinedAt,
        );
        printResult(io, {
          message: `${records.length} quarantine record(s)`,
          lines: records.length === 0 ? ['no quarantine records'] : records.map(recordLine),
          data: { records: records.map(recordSummary) },
        });
      }),
    );

  quarantine
    .command('show')
    .description('show one record: reason, rules that fired, history, the DNA at the time')
    .argument('<id>', 'the record id (the container id `run` printed)')
    .addOption(stateOption())
    .option('--json', 'print the record as JSON')
    .action(async (id: string, flags: StateFlags) =>
      withRedzone(io, flags, async (redzone) => {
        const record = await found(redzone, id);
        printResult(io, { message: recordLine(record), lines: recordDetail(record), data: { record } });
      }),
    );

  quarantine
    .command('release')
    .description('release a held record: its container (if one still lives) runs again')
    .argument('<id>', 'the record id')
    .addOption(stateOption())
    .option('--by <name>', 'who releases it (kept in the history)', 'cli')
    .option('--note <text>', 'why (kept in the history)')
    .option('--json', 'print the record as JSON')
    .action(async (id: string, flags: StateFlags & { by: string; note?: string }) =>
      withRedzone(io, flags, async (redzone) => {
        await found(redzone, id);
        const record = await redzone.release(id, flags.by, flags.note);
        printResult(io, { message: `released ${id}`, data: { record: recordSummary(record) } });
      }),
    );

  quarantine
    .command('terminate')
    .description('terminate a held record: its container (if one still lives) is stopped')
    .argument('<id>', 'the record id')
    .addOption(stateOption())
    .option('--by <name>', 'who terminates it (kept in the history)', 'cli')
    .option('--reason <text>', 'why (kept in the history)', 'terminated by an operator')
    .option('--json', 'print the record as JSON')
    .action(async (id: string, flags: StateFlags & { by: string; reason: string }) =>
      withRedzone(io, flags, async (redzone) => {
        await found(redzone, id);
        const record = await redzone.terminate(id, flags.reason, flags.by);
        printResult(io, { message: `terminated ${id}`, data: { record: recordSummary(record) } });
      }),
    );
}

/** Opens the state's redzone (an existing state only: a read never creates one), runs `work`, closes it. */
async function withRedzone(
  io: CliIo,
  flags: StateFlags,
  work: (redzone: Redzone) => Promise<void>,
): Promise<void> {
  const dir = cliPath(io, flags.state ?? (io.env(STATE_ENV) || DEFAULT_STATE_DIR));
  if (!existsSync(dir)) {
    throw new ForgeError(
      'FORGE_REDZONE_NOT_FOUND',
      `no state at ${dir}: nothing was quarantined there (give --state <dir>, the one the run used)`,
      { details: { state: dir } },
    );
  }
  const store: SqliteStore = await openStateStore(dir);
  try {
    await work(new Redzone(store));
  } finally {
    await store.close();
  }
}

async function found(redzone: Redzone, id: string): Promise<QuarantineRecord> {
  if (!RECORD_ID.test(id))
    throw usageError(`a record id is a container id, got ${JSON.stringify(id.slice(0, 80))}`);
  const record = await redzone.get(id);
  if (record === undefined) {
    throw new ForgeError('FORGE_REDZONE_NOT_FOUND', `no quarantine record ${id} in this state`, {
      details: { containerId: id },
    });
  }
  return record;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Guest-influenced text (a policy's reason may quote guest input) on one line, control characters escaped. */
function oneLine(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

function recordLine(record: QuarantineRecord): string {
  return `${record.containerId}  ${record.state.padEnd(11)}  ${iso(record.quarantinedAt)}  ${oneLine(record.reason)}`;
}

function recordSummary(record: QuarantineRecord) {
  return {
    id: record.containerId,
    state: record.state,
    reason: record.reason,
    firedRules: record.firedRules,
    quarantinedAt: record.quarantinedAt,
    deadline: record.deadline,
    count: record.count,
  };
}

function recordDetail(record: QuarantineRecord): string[] {
  const held = record.state === 'active' || record.state === 'analyzing' || record.state === 'remediating';
  const top = Object.entries(record.dna.syscallCounts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP_CALLS);
  return [
    `record       ${record.containerId}`,
    `state        ${record.state}${held ? ` (terminated at ${iso(record.deadline)} unless released)` : ''}`,
    `reason       ${oneLine(record.reason)}`,
    `rules        ${record.firedRules.map(oneLine).join(', ') || 'none named'}`,
    `quarantined  ${iso(record.quarantinedAt)} (stay ${record.count})`,
    `calls        ${record.dna.totalCalls} (${record.dna.deniedCalls} refused)`,
    ...top.map(([name, count]) => `  ${oneLine(name).padEnd(24)} ${count}`),
    'history',
    ...record.history.map(
      (h) =>
        `  ${iso(h.at)}  ${h.from ?? '-'} -> ${h.to} (${h.action}${h.by ? ` by ${oneLine(h.by)}` : ''})${h.note ? `: ${oneLine(h.note)}` : ''}`,
    ),
  ];
}
