import type { Command } from 'commander';
import { readPrivateKeyFile, readPublicKeyFile } from '@forgeone/crypto';
import {
  DEFAULT_SUMMARY_BUDGET,
  diffTraceFiles,
  formatSummary,
  signTraceFile,
  summarizeTrace,
  summarizeTraceFile,
  summaryBudgetLimits,
  verifyTraceFile,
  type TraceVerification,
} from '@forgeone/observer';
import { Option } from 'commander';
import { printResult, type CliIo } from '../cliIo';
import { cliPath, parseIntegerFlag } from '../flagValues';
import { traceDiffLines } from './traceDiffReport';
import { passphraseSource } from '../passphrase';
import {
  checkSummarySource,
  registerTraceStateCommands,
  stateFlagHelp,
  withTraceStore,
  gapLines,
} from './traceState';

/** What a verification found, in one line. */
function verifiedLine(path: string, result: TraceVerification): string {
  const signature = result.signature;
  const signed =
    signature === undefined
      ? 'not signed'
      : signature.verified
        ? `signed by ${signature.algorithm} key ${signature.keyId.slice(0, 16)}… (verified)`
        : `signed by ${signature.algorithm} key ${signature.keyId.slice(0, 16)}… (not checked: give --key)`;
  return `${path}: intact, ${result.calls} call(s) in ${result.records} chained record(s), head ${result.head.slice(0, 16)}…; ${signed}`;
}

const verificationData = (path: string, result: TraceVerification) => ({
  path,
  records: result.records,
  calls: result.calls,
  head: result.head,
  signature: result.signature ?? null,
});

/** Most differences `trace diff` lists by default. */
const DEFAULT_DIFF_LIMIT = 200;

/** `forgeone trace verify|sign|diff|summarize`: trace files written by `run --trace`. */
export function registerTrace(program: Command, io: CliIo): void {
  const trace = program
    .command('trace')
    .description(
      'verify, sign, compare and summarise trace files written by `run --trace`; list, query and export the traces runs kept in a state (`run --state`)',
    );

  trace
    .command('verify')
    .description(
      'check a trace file: every record against its hash chain, the end record, and with --key the signature; exits 0 only when it holds',
    )
    .argument('<trace.jsonl>', 'trace written by `forgeone run --trace`')
    .option('--key <file.pub>', 'the kernel public key the trace must be signed by')
    .option('--json', 'print a JSON result')
    .action(async (file: string, flags: { key?: string }) => {
      const path = cliPath(io, file);
      const key = flags.key === undefined ? undefined : await readPublicKeyFile(cliPath(io, flags.key));
      const result = await verifyTraceFile(path, key === undefined ? {} : { key });
      printResult(io, { message: verifiedLine(file, result), data: verificationData(path, result) });
    });

  trace
    .command('sign')
    .description('sign a trace file in place with a kernel key, after checking its chain')
    .argument('<trace.jsonl>', 'trace written by `forgeone run --trace`')
    .requiredOption('--key <file.key>', 'the kernel private key')
    .option('--json', 'print a JSON result')
    .action(async (file: string, flags: { key: string }) => {
      const path = cliPath(io, file);
      const key = await readPrivateKeyFile(cliPath(io, flags.key), { passphrase: passphraseSource(io) });
      const result = await signTraceFile(path, key);
      printResult(io, { message: verifiedLine(file, result), data: verificationData(path, result) });
    });

  trace
    .command('diff')
    .description(
      'compare two traces: calls aligned as sequences (one inserted call shifts nothing after it), then inserted, deleted and changed calls, decision changes and DNA deltas',
    )
    .argument('<a.jsonl>', 'the first trace')
    .argument('<b.jsonl>', 'the trace to compare it with')
    .option('--limit <n>', `most differences listed (default ${DEFAULT_DIFF_LIMIT})`)
    .option('--json', 'print the diff as JSON')
    .action(async (fileA: string, fileB: string, flags: { limit?: string }) => {
      const limit =
        flags.limit === undefined
          ? DEFAULT_DIFF_LIMIT
          : parseIntegerFlag(flags.limit, '--limit', 0, 1_000_000);
      const diff = await diffTraceFiles(cliPath(io, fileA), cliPath(io, fileB), { limit });
      const lines = traceDiffLines(fileA, fileB, diff);
      printResult(io, { message: lines[0]!, lines, data: { ...diff } });
    });

  trace
    .command('summarize')
    .description(
      'summarise a run for a person or a language model, within a token budget: what ran, how it ended, refused calls with their reasons, anomalies, files and kv keys, phases, frequent calls — each citing its sequence numbers',
    )
    .argument('[trace.jsonl]', 'trace written by `forgeone run --trace` (or give --container and --state)')
    .option('--container <id>', 'summarise the trace a run kept in --state instead (its container id)')
    .option('--state <dir>', stateFlagHelp)
    .option(
      '--budget <tokens>',
      `most tokens the summary takes, counted with o200k_base (default ${DEFAULT_SUMMARY_BUDGET}; ${summaryBudgetLimits.min} to ${summaryBudgetLimits.max})`,
    )
    .addOption(
      new Option('--format <format>', 'Markdown text or JSON (schema LlmSummarySchema)')
        .choices(['text', 'json'])
        .default('text'),
    )
    .option('--secret-env <name...>', 'environment variables whose values must never appear in the summary')
    .action(
      async (
        file: string | undefined,
        flags: {
          budget?: string;
          format: 'text' | 'json';
          secretEnv?: string[];
          container?: string;
          state?: string;
        },
      ) => {
        checkSummarySource(file, flags.container);
        const budget =
          flags.budget === undefined
            ? DEFAULT_SUMMARY_BUDGET
            : parseIntegerFlag(flags.budget, '--budget', summaryBudgetLimits.min, summaryBudgetLimits.max);
        const secrets = (flags.secretEnv ?? [])
          .map((name) => io.env(name) ?? '')
          .filter((value) => value !== '');
        const options = { budget, format: flags.format, secrets };
        const container = flags.container;
        const summary =
          container === undefined
            ? await summarizeTraceFile(cliPath(io, file!), options)
            : await withTraceStore(io, flags, async (traces) => {
                // What retention trimmed or a full queue lost is said, not left out in silence.
                for (const line of gapLines(await traces.info(container))) io.err(line);
                return summarizeTrace(traces.records(container), options);
              });
        for (const line of formatSummary(summary, flags.format).replace(/\n$/, '').split('\n')) io.out(line);
      },
    );

  registerTraceStateCommands(trace, io);
}
