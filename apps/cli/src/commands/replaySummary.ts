import type { ReplayDivergence } from '@forgeone/execution';
import {
  DEFAULT_SUMMARY_BUDGET,
  formatSummary,
  summarizeTrace,
  summaryBudgetLimits,
  type LlmSummary,
  type RecordedTrace,
  type TraceRecord,
} from '@forgeone/observer';
import { parseIntegerFlag } from '../flagValues';

/** The budget `replay --summary --budget N` asked for, checked before anything runs. */
export function summaryBudgetFlag(text: string | undefined): number {
  return text === undefined
    ? DEFAULT_SUMMARY_BUDGET
    : parseIntegerFlag(text, '--budget', summaryBudgetLimits.min, summaryBudgetLimits.max);
}

function* recordsOf(trace: RecordedTrace): Generator<TraceRecord> {
  yield { kind: 'header', header: trace.header };
  for (const event of trace.events) yield { kind: 'call', event };
  if (trace.end) yield { kind: 'end', end: trace.end };
}

/**
 * The summary of a replayed trace (`trace summarize`'s), with the replay's first divergence when
 * there was one: what the recorded run did, and where the module at hand departed from it.
 */
export function replaySummary(
  trace: RecordedTrace,
  divergence: ReplayDivergence | undefined,
  budget: number,
  format: 'text' | 'json',
): Promise<LlmSummary> {
  return summarizeTrace(recordsOf(trace), {
    budget,
    format,
    ...(divergence === undefined
      ? {}
      : {
          divergence: {
            seq: divergence.seq,
            kind: divergence.kind,
            expected: divergence.expected,
            actual: divergence.actual,
          },
        }),
  });
}

/** A summary's Markdown lines, for a text report. */
export function summaryLines(summary: LlmSummary): string[] {
  return formatSummary(summary, 'text').replace(/\n$/, '').split('\n');
}
