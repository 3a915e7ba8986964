import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { ForgeError } from '@forgeone/common';
import type { ReplayDivergence } from '@forgeone/execution';
import { createKernel } from '@forgeone/interface';
import { readTraceFile, type RecordedTrace } from '@forgeone/observer';
import { CliExit, printJson, type CliIo } from '../cliIo';
import { parseDumpRange, parseUntil, type DumpRange } from './replayFlags';
import { divergenceLines, stopPointJson, stopPointLines } from './replayReport';
import { replaySummary, summaryBudgetFlag, summaryLines } from './replaySummary';

interface ReplayFlags {
  readonly until?: string;
  readonly dumpMemory: string[];
  readonly summary?: boolean;
  readonly budget?: string;
}

/** What `--summary` asks for: a summary of the trace within `budget`, its divergence included. */
interface SummaryAsk {
  readonly budget: number;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `forgeone replay <trace.jsonl> <module>`: re-run a module from its recorded trace. */
export function registerReplay(program: Command, io: CliIo): void {
  program
    .command('replay')
    .description(
      're-run a module from a trace written by `run --trace`: recorded results, no world; reports the first divergence',
    )
    .argument('<trace.jsonl>', 'trace written by `forgeone run --trace`')
    .argument('<module>', 'the .wasm or .wat file that was recorded')
    .option(
      '--until <seq|syscall>',
      "stop right after this call (a seq, or the first call of a syscall such as wasi.fd_write) and show the guest's globals, fd table and memory there",
    )
    .option(
      '--dump-memory <OFFSET:LEN>',
      'with --until: show this region of guest memory (decimal or 0x hex, at most 1 MiB); repeatable',
      collect,
      [],
    )
    .option(
      '--summary',
      'also summarise the recorded run (as `trace summarize` does), with the first divergence when the replay departed from it',
    )
    .option('--budget <tokens>', 'with --summary: most tokens the summary takes (default 2,000)')
    .option('--json', 'print the replay report as JSON')
    .action(async (tracePath: string, modulePath: string, flags: ReplayFlags) => {
      // Flags are checked before anything is read or run: a bad one is one coded line.
      const until = flags.until === undefined ? undefined : parseUntil(flags.until);
      if (flags.budget !== undefined && flags.summary !== true)
        throw new ForgeError('FORGE_INVALID_INPUT', '--budget sizes the --summary: give --summary too', {
          details: { field: 'budget' },
        });
      if (flags.summary === true && until !== undefined)
        throw new ForgeError(
          'FORGE_INVALID_INPUT',
          '--summary summarises a whole replay: it cannot be given with --until',
          { details: { field: 'summary' } },
        );
      const summary: SummaryAsk | undefined =
        flags.summary === true ? { budget: summaryBudgetFlag(flags.budget) } : undefined;
      const dumps = flags.dumpMemory.map(parseDumpRange);
      if (until === undefined && dumps.length > 0) {
        throw new ForgeError(
          'FORGE_INVALID_INPUT',
          '--dump-memory needs --until: memory is shown at a stop point',
          {
            details: { field: 'dump-memory' },
          },
        );
      }
      // Every field is checked (bounds and hash chain included) before the module is even read: a
      // bad trace is one FORGE_TRACE_INVALID (or _TAMPERED) line naming its line, and nothing runs.
      const trace = await readTraceFile(resolve(io.cwd, tracePath));
      const kernel = await createKernel();
      try {
        const options = { file: resolve(io.cwd, modulePath), name: basename(modulePath), trace };
        if (until !== undefined) {
          const context = await kernel.runtime.forensics(options);
          context.resolve(until);
          const step = await context.step(until);
          printOutput(io, step);
          if (step.kind === 'diverged') {
            return await diverged(io, trace, step.divergence, step, {
              replayed: step.replayed,
              status: step.outcome.status,
              exitCode: step.outcome.exitCode,
            });
          }
          const regions = dumps.map((d: DumpRange) => step.readMemory(d.offset, d.length));
          const message = `stopped after call #${step.reached.seq} of ${trace.events.length} (${step.reached.syscall})`;
          if (io.json) {
            printJson(io, {
              ok: true,
              code: 'OK',
              message,
              module: trace.header.module,
              replayed: step.replayed,
              recorded: trace.events.length,
              ...stopPointJson(step, regions),
              ...outputJson(step),
            });
          } else {
            for (const line of stopPointLines(step, trace.events.length, regions)) io.out(line);
          }
          return;
        }
        const result = await kernel.runtime.replay(options);
        const { outcome, divergence, instance } = result;
        const output = { stdout: instance.stdout(), stderr: instance.stderr(), logs: instance.logs() };
        printOutput(io, output);
        if (divergence) {
          return await diverged(
            io,
            trace,
            divergence,
            output,
            {
              replayed: result.replayed,
              status: outcome.status,
              exitCode: outcome.exitCode,
            },
            summary,
          );
        }
        const summarised =
          summary && (await replaySummary(trace, undefined, summary.budget, io.json ? 'json' : 'text'));
        const message = `replayed ${result.replayed} of ${trace.events.length} call(s); ${outcome.status} with code ${outcome.status === 'trapped' ? outcome.error.code : outcome.exitCode}`;
        if (io.json) {
          printJson(io, {
            ok: true,
            code: 'OK',
            message,
            module: trace.header.module,
            replayed: result.replayed,
            recorded: trace.events.length,
            status: outcome.status,
            exitCode: outcome.exitCode,
            ...outputJson(output),
            ...(summarised ? { summary: summarised } : {}),
          });
        } else {
          io.out(`--- ${message} ---`);
          if (summarised) for (const line of summaryLines(summarised)) io.out(line);
        }
        if (outcome.status === 'trapped') {
          // As `run` does: the code and message of how the guest ended, on one line.
          if (!io.json) io.err(outcome.error.toLine());
          throw new CliExit(1, outcome.error.code);
        }
        if (outcome.exitCode !== 0) throw new CliExit(outcome.exitCode);
      } finally {
        await kernel.shutdown();
      }
    });
}

interface GuestOutput {
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  readonly logs: readonly string[];
}

const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

function outputJson(output: GuestOutput) {
  return { logs: output.logs, stdout: utf8(output.stdout), stderr: utf8(output.stderr) };
}

/** The guest's logs and output, as text (JSON carries them in its document). */
function printOutput(io: CliIo, output: GuestOutput): void {
  if (io.json) return;
  const stdout = utf8(output.stdout);
  const stderr = utf8(output.stderr);
  for (const line of output.logs) io.out(line);
  if (stdout !== '') for (const line of stdout.replace(/\n$/, '').split('\n')) io.out(line);
  if (stderr !== '') for (const line of stderr.replace(/\n$/, '').split('\n')) io.err(line);
}

/**
 * Reports a divergence (both sides and the calls before it, and with `--summary` the recorded run's
 * summary with the divergence in it) and ends with FORGE_REPLAY_DIVERGED.
 */
async function diverged(
  io: CliIo,
  trace: RecordedTrace,
  divergence: ReplayDivergence,
  output: GuestOutput,
  run: { readonly replayed: number; readonly status: string; readonly exitCode: number | null },
  summary?: SummaryAsk,
): Promise<never> {
  const summarised =
    summary && (await replaySummary(trace, divergence, summary.budget, io.json ? 'json' : 'text'));
  const message = `replay diverged at call #${divergence.seq} (${divergence.kind}): expected ${divergence.expected}, got ${divergence.actual}`;
  if (io.json) {
    printJson(io, {
      ok: false,
      code: 'FORGE_REPLAY_DIVERGED',
      message,
      module: trace.header.module,
      replayed: run.replayed,
      recorded: trace.events.length,
      divergence,
      status: run.status,
      exitCode: run.exitCode,
      ...outputJson(output),
      ...(summarised ? { summary: summarised } : {}),
    });
    throw new CliExit(1, 'FORGE_REPLAY_DIVERGED');
  }
  // The report on stdout; stderr keeps its one coded line.
  for (const line of divergenceLines(divergence)) io.out(line);
  if (summarised) for (const line of summaryLines(summarised)) io.out(line);
  throw new ForgeError('FORGE_REPLAY_DIVERGED', message, {
    details: { seq: divergence.seq, kind: divergence.kind },
  });
}
