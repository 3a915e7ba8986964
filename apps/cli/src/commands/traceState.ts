import { closeSync, existsSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ForgeError, SqliteStore, STATE_DB_FILE, decisionActions } from '@forgeone/common';
import { readPrivateKeyFile } from '@forgeone/crypto';
import { TraceStore, type StoredTraceInfo, type TraceEvent, type TraceQuery } from '@forgeone/observer';
import { printJson, printResult, usageError, type CliIo } from '../cliIo';
import { STATE_ENV, cliPath, parseIntegerFlag } from '../flagValues';
import { passphraseSource } from '../passphrase';

/** Where runs keep their state when neither --state nor $FORGEONE_STATE names one (as `run` does). */
const DEFAULT_STATE_DIR = '.forgeone';
/** Events `trace query` prints by default (one page). */
const DEFAULT_QUERY_LIMIT = 1000;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export interface StateFlags {
  state?: string;
}

export const stateFlagHelp = `the state the run kept its trace in: a directory (holding kernel.db) or a .db file (default: $${STATE_ENV}, else ./${DEFAULT_STATE_DIR})`;

/**
 * Opens the state's traces read-only (a read never creates or changes a state), runs `work`, closes
 * it. A missing state is FORGE_TRACE_STORE_NOT_FOUND.
 */
export async function withTraceStore<T>(
  io: CliIo,
  flags: StateFlags,
  work: (traces: TraceStore) => Promise<T>,
): Promise<T> {
  const path = cliPath(io, flags.state ?? (io.env(STATE_ENV) || DEFAULT_STATE_DIR));
  const stat = statSync(path, { throwIfNoEntry: false });
  const file = stat?.isDirectory() ? join(path, STATE_DB_FILE) : path;
  if (!existsSync(file)) {
    throw new ForgeError(
      'FORGE_TRACE_STORE_NOT_FOUND',
      `no state at ${path}: no trace is kept there (give --state <dir>, the one the run used)`,
      { details: { state: path } },
    );
  }
  const store = await SqliteStore.openReadOnly(file);
  try {
    return await work(new TraceStore(store));
  } finally {
    await store.close();
  }
}

/** A time flag: ms since the epoch, or an ISO 8601 date. */
function timeFlag(text: string, flag: string): number {
  if (/^[0-9]{1,16}$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (!/^[0-9]{4}-/.test(text) || Number.isNaN(ms) || ms < 0)
    throw usageError(
      `${flag} takes ms since the epoch or an ISO 8601 time, got ${JSON.stringify(text.slice(0, 60))}`,
    );
  return ms;
}

/** The gaps of a stored trace, in one line each: what was trimmed or lost is never silent. */
export function gapLines(info: StoredTraceInfo): string[] {
  const lines: string[] = [];
  if (info.trimmed)
    lines.push(
      `trimmed: seq ${info.trimmed.fromSeq}..${info.trimmed.toSeq}, ${info.trimmed.events} events (${info.trimmed.bytes} bytes) removed by retention (at most ${info.retention.maxEvents} events, ${info.retention.maxBytes} bytes)`,
    );
  if (info.lost) {
    const ranges = info.lost.ranges.slice(0, 5).map(([a, b]) => (a === b ? `${a}` : `${a}..${b}`));
    lines.push(
      `lost: ${info.lost.events} events never reached the store (seq ${ranges.join(', ')}${info.lost.ranges.length > 5 ? ', …' : ''})`,
    );
  }
  if (info.end === null)
    lines.push('not ended: the run did not finish writing its trace (still running, or killed)');
  return lines;
}

function infoLine(info: StoredTraceInfo): string {
  const ended =
    info.end === null
      ? 'not ended'
      : info.end.status === 'trapped'
        ? `trapped${info.end.code ? ` (${info.end.code})` : ''}`
        : `${info.end.status}${info.end.exitCode === null ? '' : `, exit ${info.end.exitCode}`}`;
  const gaps = [
    ...(info.trimmed ? [`${info.trimmed.events} trimmed`] : []),
    ...(info.lost ? [`${info.lost.events} lost`] : []),
  ];
  return `${info.containerId}  ${new Date(info.header.recordedAt).toISOString()}  ${String(info.stored.events).padStart(8)} call(s)  acknowledged ${info.acknowledgedSeq}  ${ended}${gaps.length > 0 ? `  (${gaps.join(', ')})` : ''}`;
}

function eventLine(event: TraceEvent): string {
  const why = event.reasons[0]?.message ?? '';
  return `#${event.seq}  ${new Date(event.time).toISOString()}  ${event.syscall}  ${event.action}  -> ${event.result ?? '-'}${why ? `  ${why.replace(/\s+/g, ' ').slice(0, 120)}` : ''}`;
}

function eventJson(event: TraceEvent) {
  return {
    seq: event.seq,
    time: event.time,
    syscall: event.syscall,
    action: event.action,
    executed: event.executed,
    result: event.result,
    args: event.args,
    reasons: event.reasons,
    ...(event.outcome ? { outcome: event.outcome } : {}),
  };
}

interface QueryFlags extends StateFlags {
  container: string;
  syscall?: string[];
  decision?: string[];
  fromSeq?: string;
  toSeq?: string;
  since?: string;
  until?: string;
  limit?: string;
  cursor?: string;
}

/** `forgeone trace list|query|export`: traces runs kept in a state (`run --state`). */
export function registerTraceStateCommands(trace: Command, io: CliIo): void {
  trace
    .command('list')
    .description(
      'list the traces kept in a state: container, start, calls kept, acknowledged seq, how it ended, gaps',
    )
    .option('--state <dir>', stateFlagHelp)
    .option('--json', 'print JSON')
    .action(async (flags: StateFlags) => {
      const infos = await withTraceStore(io, flags, async (traces) => {
        const all: StoredTraceInfo[] = [];
        for (
          let page = await traces.list();
          page.length > 0;
          page = await traces.list({ after: page.at(-1)!.containerId })
        )
          all.push(...page);
        return all;
      });
      printResult(io, {
        message: `${infos.length} trace(s)`,
        lines: infos.length === 0 ? ['no trace kept in this state'] : infos.map(infoLine),
        data: { traces: infos },
      });
    });

  trace
    .command('query')
    .description(
      'print the calls of a kept trace that match every filter given, in seq order, a page at a time',
    )
    .requiredOption('--container <id>', 'the container (run) id `run --state` printed')
    .option('--state <dir>', stateFlagHelp)
    .option('--syscall <name...>', 'only these syscalls (e.g. wasi.fd_write)')
    .option('--decision <action...>', `only these decisions (${decisionActions.join(', ')})`)
    .option('--from-seq <n>', 'first seq (inclusive)')
    .option('--to-seq <n>', 'last seq (inclusive)')
    .option('--since <time>', 'calls at or after this time (ms since the epoch or ISO 8601)')
    .option('--until <time>', 'calls at or before this time')
    .option(
      '--limit <n>',
      `most calls printed (default ${DEFAULT_QUERY_LIMIT}; at most 10000); the next page's cursor is printed`,
    )
    .option('--cursor <cursor>', 'go on where a page stopped')
    .option('--json', 'print JSON')
    .action(async (flags: QueryFlags) => {
      const query: TraceQuery = {
        containerId: flags.container,
        ...(flags.syscall ? { syscall: flags.syscall } : {}),
        ...(flags.decision ? { decision: flags.decision as TraceQuery['decision'] & string[] } : {}),
        ...(flags.fromSeq === undefined
          ? {}
          : { fromSeq: parseIntegerFlag(flags.fromSeq, '--from-seq', 1, MAX_SAFE) }),
        ...(flags.toSeq === undefined
          ? {}
          : { toSeq: parseIntegerFlag(flags.toSeq, '--to-seq', 1, MAX_SAFE) }),
        ...(flags.since === undefined ? {} : { since: timeFlag(flags.since, '--since') }),
        ...(flags.until === undefined ? {} : { until: timeFlag(flags.until, '--until') }),
        limit:
          flags.limit === undefined
            ? DEFAULT_QUERY_LIMIT
            : parseIntegerFlag(flags.limit, '--limit', 1, 10_000),
        ...(flags.cursor === undefined ? {} : { cursor: flags.cursor }),
      };
      const { info, page } = await withTraceStore(io, flags, async (traces) => {
        const info = await traces.info(flags.container);
        return { info, page: await traces.page(query) };
      });
      if (io.json) {
        printJson(io, {
          ok: true,
          code: 'OK',
          message: `${page.events.length} call(s)`,
          containerId: info.containerId,
          acknowledgedSeq: info.acknowledgedSeq,
          trimmed: info.trimmed,
          lost: info.lost,
          ended: info.end !== null,
          calls: page.events.map(eventJson),
          next: page.next ?? null,
        });
        return;
      }
      for (const line of gapLines(info)) io.err(line);
      for (const event of page.events) io.out(eventLine(event));
      io.out(
        `--- ${page.events.length} call(s)${page.next === undefined ? '' : `; more: --cursor ${page.next}`} ---`,
      );
    });

  trace
    .command('export')
    .description(
      'write a kept trace as a trace file (format 2, hash-chained; signed with --key) for verify, diff, summarize and replay',
    )
    .requiredOption('--container <id>', 'the container (run) id `run --state` printed')
    .option('--state <dir>', stateFlagHelp)
    .requiredOption('-o, --out <file>', 'the trace file to write')
    .option('--key <file.key>', 'a kernel private key that signs the trace (the run must have ended)')
    .option('--json', 'print a JSON result')
    .action(async (flags: StateFlags & { container: string; out: string; key?: string }) => {
      const out = cliPath(io, flags.out);
      const key =
        flags.key === undefined
          ? undefined
          : await readPrivateKeyFile(cliPath(io, flags.key), { passphrase: passphraseSource(io) });
      // Written next to the target and renamed at the end: a failure leaves nothing behind.
      const partial = `${out}.partial-${process.pid}`;
      let lines = 0;
      const info = await withTraceStore(io, flags, async (traces) => {
        const info = await traces.info(flags.container);
        const fd = openSync(partial, 'w', 0o600);
        try {
          for await (const line of traces.exportLines(flags.container, key ? { sign: key } : {})) {
            writeSync(fd, `${line}\n`);
            lines += 1;
          }
        } catch (error) {
          closeSync(fd);
          rmSync(partial, { force: true });
          throw error;
        }
        closeSync(fd);
        return info;
      });
      renameSync(partial, out);
      for (const line of gapLines(info)) io.err(line);
      printResult(io, {
        message: `${flags.out}: ${info.stored.events} call(s) of ${info.containerId} exported in ${lines} record(s)${key ? `, signed by ${key.algorithm} key ${key.keyId.slice(0, 16)}…` : ''}`,
        data: {
          path: out,
          containerId: info.containerId,
          calls: info.stored.events,
          records: lines,
          trimmed: info.trimmed,
          lost: info.lost,
        },
      });
    });
}

/** `trace summarize` reads a trace file or a kept trace: exactly one of them. */
export function checkSummarySource(file: string | undefined, container: string | undefined): void {
  if (file !== undefined && container !== undefined)
    throw usageError('give a trace file or --container (with --state), not both');
  if (file === undefined && container === undefined)
    throw usageError('give a trace file, or --container <id> with --state <dir>');
}

/** The line `run` prints about the trace it kept: where, and the id to query it by. */
export function storedTraceLine(
  stored: { containerId: string; acknowledgedSeq: number; trimmed: number; lost: number },
  stateDir: string,
): string {
  const gaps = [
    ...(stored.trimmed > 0 ? [`${stored.trimmed} trimmed`] : []),
    ...(stored.lost > 0 ? [`${stored.lost} lost`] : []),
  ];
  return `--- trace kept in ${stateDir}: container ${stored.containerId}, ${stored.acknowledgedSeq} call(s) acknowledged${gaps.length > 0 ? ` (${gaps.join(', ')})` : ''}; forgeone trace query --container ${stored.containerId} --state ${stateDir} ---`;
}
