import type { DecisionAction } from '@forgeone/common';
import type { TraceEvent } from './traceEvent';

/** Per-syscall counts of a trace, for summaries. */
export interface TraceSummaryRow {
  readonly syscall: string;
  readonly calls: number;
  readonly byAction: Readonly<Partial<Record<DecisionAction, number>>>;
}

/** An inclusive range of sequence numbers, `[from, to]`. */
export type SeqRange = readonly [from: number, to: number];

/**
 * The sequence numbers from 1 to `lastSeq` that are not among `events` (in seq order, as a
 * recorder holds them), as inclusive ranges: what a record that dropped calls says it lost.
 */
export function droppedSeqRanges(events: readonly { readonly seq: number }[], lastSeq: number): SeqRange[] {
  const ranges: SeqRange[] = [];
  let next = 1;
  for (const { seq } of events) {
    if (seq > next) ranges.push([next, seq - 1]);
    if (seq >= next) next = seq + 1;
  }
  if (lastSeq >= next) ranges.push([next, lastSeq]);
  return ranges;
}

/** Calls per syscall and decision of a list of events, in order of first appearance. */
export function traceCallCounts(events: readonly TraceEvent[]): TraceSummaryRow[] {
  const rows = new Map<string, { calls: number; byAction: Partial<Record<DecisionAction, number>> }>();
  for (const event of events) {
    let row = rows.get(event.syscall);
    if (!row) {
      row = { calls: 0, byAction: {} };
      rows.set(event.syscall, row);
    }
    row.calls += 1;
    row.byAction[event.action] = (row.byAction[event.action] ?? 0) + 1;
  }
  return [...rows].map(([syscall, row]) => ({ syscall, ...row }));
}
