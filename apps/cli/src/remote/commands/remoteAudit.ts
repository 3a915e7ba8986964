import type { Command } from 'commander';
import { printJson, type CliIo } from '../../cliIo';
import { integerFlag } from '../../flagValues';
import type { RemoteSession, SessionOf } from '../remoteSession';
import { followUntilInterrupted } from '../stopSignal';

/** Records asked for per page (the route's most). */
const PAGE = 1000;
/** How often `--follow` asks for new records, ms. */
const FOLLOW_INTERVAL_MS = 500;

type AuditRecord = { seq: number; prev: string; hash: string; entry: Record<string, unknown> };

/** `forgeone --remote URL audit tail`: the last records of the daemon's audit log, and new ones. */
export function registerRemoteAudit(program: Command, io: CliIo, session: SessionOf): void {
  const audit = program.command('audit').description("read the daemon's hash-chained audit log");
  audit
    .command('tail')
    .description(
      'print the last records of the audit log; --follow keeps printing new ones until interrupted',
    )
    .option(
      '-n, --lines <n>',
      'how many of the last records (default 10)',
      integerFlag('--lines', 0, 100_000),
      10,
    )
    .option('-f, --follow', 'keep printing records as they are appended (until Ctrl-C)')
    .option('--json', 'print each record as one JSON line')
    .action(async (flags: { lines: number; follow?: boolean }) => {
      const remote = session();
      // Pages from the first record: the route reads forward only, so the tail is the last n seen.
      const last: AuditRecord[] = [];
      let next = 1;
      for (;;) {
        const page = await readPage(remote, next);
        for (const record of page.records) {
          last.push(record);
          if (last.length > flags.lines) last.shift();
          next = record.seq + 1;
        }
        if (page.nextSeq === null) break;
        next = page.nextSeq;
      }
      for (const record of last) printRecord(io, record);
      if (flags.follow !== true) return;
      let printed = last.length;
      const stop = followUntilInterrupted(io, () => `${printed} audit record(s) printed`);
      while (!stop.signal.aborted) {
        const page = await readPage(remote, next);
        for (const record of page.records) {
          printRecord(io, record);
          printed += 1;
          next = record.seq + 1;
        }
        if (page.nextSeq === null) await stop.sleep(FOLLOW_INTERVAL_MS);
      }
    });
}

async function readPage(remote: RemoteSession, fromSeq: number) {
  return remote.call('readAudit', { query: { fromSeq, limit: PAGE } });
}

function printRecord(io: CliIo, record: AuditRecord): void {
  if (io.json) {
    printJson(io, { ok: true, code: 'OK', message: `audit record ${record.seq}`, ...record });
    return;
  }
  const { entry } = record;
  const head = ['kernel', 'kind', 'action', 'subject', 'syscall']
    .map((key) => entry[key])
    .filter((value): value is string => typeof value === 'string');
  io.out(`#${record.seq}  ${head.join('  ')}  ${JSON.stringify(entry)}`);
}
