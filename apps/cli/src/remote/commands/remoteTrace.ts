import { Option, type Command } from 'commander';
import { decisionActions } from '@forgeone/common';
import { printResult, type CliIo } from '../../cliIo';
import { integerFlag } from '../../flagValues';
import { NoRemoteForm } from '../noRemoteForm';
import { isCallEvent, traceEventLine } from '../remoteFormat';
import type { SessionOf } from '../remoteSession';

/** Events asked for per page (the route's most is 10,000). */
const PAGE = 1000;
/** Events `trace` prints without --limit. */
const DEFAULT_LIMIT = 10_000;

interface TraceFlags {
  fromSeq?: number;
  limit?: number;
  syscall?: string;
  decision?: (typeof decisionActions)[number];
}

/** `forgeone --remote URL trace|logs <id>`: a container's durable trace, page after page. */
export function registerRemoteTrace(program: Command, io: CliIo, session: SessionOf): void {
  program
    .command('trace')
    .alias('logs')
    .description("print a container's trace kept by the daemon: every call, its decision and result")
    .argument('<id>', 'the container id (ps lists them)')
    .option('--from-seq <n>', 'start at this call', integerFlag('--from-seq', 1, Number.MAX_SAFE_INTEGER))
    .option('--limit <n>', `at most n calls (default ${DEFAULT_LIMIT})`, integerFlag('--limit', 1, 1_000_000))
    .option('--syscall <name>', 'only calls of this syscall')
    .addOption(
      new Option('--decision <action>', 'only calls with this decision').choices([...decisionActions]),
    )
    .option('--json', 'print the calls as JSON')
    .action(async (id: string, flags: TraceFlags) => {
      // `trace verify|sign|diff|summarize|list|query|export` work on local files only.
      if (/^[a-z]+$/.test(id)) throw new NoRemoteForm(`trace ${id}`);
      const limit = flags.limit ?? DEFAULT_LIMIT;
      const events: Record<string, unknown>[] = [];
      let cursor: string | undefined;
      do {
        const page = await session().call('getContainerTrace', {
          params: { id },
          query: {
            limit: Math.min(PAGE, limit - events.length),
            ...(cursor === undefined && flags.fromSeq !== undefined ? { fromSeq: flags.fromSeq } : {}),
            ...(cursor === undefined ? {} : { cursor }),
            ...(flags.syscall === undefined ? {} : { syscall: flags.syscall }),
            ...(flags.decision === undefined ? {} : { decision: flags.decision }),
          },
        });
        events.push(...page.events.filter(isCallEvent));
        cursor = page.next;
      } while (cursor !== undefined && events.length < limit);
      const shown = events.slice(0, limit);
      const width = Math.max(8, ...shown.map((e) => String(e['syscall']).length));
      const more =
        cursor !== undefined ? ` (more after #${String(shown[shown.length - 1]?.['seq'])}: --from-seq)` : '';
      printResult(io, {
        message: `${shown.length} call(s) of ${id}${more}`,
        lines: [
          `--- trace of ${id}: ${shown.length} call(s)${more} ---`,
          ...shown.map((e) => traceEventLine(e, width)),
        ],
        data: { containerId: id, calls: shown, ...(cursor === undefined ? {} : { next: cursor }) },
      });
    });
}
