import type { DiffCall, TraceDiff, TraceDiffEntry } from '@forgeone/observer';
import { terminalSafe } from '../terminalText';

/** Longest argument list shown for one call (guest-influenced text, so cut and escaped). */
const MAX_ARGS_CHARS = 160;

function argsText(call: DiffCall): string {
  const text = JSON.stringify(call.args);
  return text.length > MAX_ARGS_CHARS ? `${text.slice(0, MAX_ARGS_CHARS)}…` : text;
}

function callText(call: DiffCall): string {
  return `${call.syscall} ${argsText(call)} ${call.action}${call.executed ? '' : ' (not run)'} -> ${String(call.result)}`;
}

function entryLine(entry: TraceDiffEntry): string {
  if (entry.kind === 'inserted') return `+ b#${entry.b.seq}  ${callText(entry.b)}`;
  if (entry.kind === 'deleted') return `- a#${entry.a.seq}  ${callText(entry.a)}`;
  const changes = entry.fields.map((field) => {
    if (field === 'args') return `args ${argsText(entry.a)} -> ${argsText(entry.b)}`;
    return `${field} ${String(entry.a[field])} -> ${String(entry.b[field])}`;
  });
  return `~ a#${entry.a.seq} b#${entry.b.seq}  ${entry.a.syscall}: ${changes.join('; ')}`;
}

/** The lines `forgeone trace diff` prints: a summary, each difference, then the DNA deltas. */
export function traceDiffLines(nameA: string, nameB: string, diff: TraceDiff): string[] {
  const lines = [
    `${nameA} (${diff.a.calls} calls) -> ${nameB} (${diff.b.calls} calls): ${diff.same} same, ${diff.inserted} inserted, ${diff.deleted} deleted, ${diff.changed} changed (${diff.decisionChanges} with another decision)${diff.approximate ? '; part of the runs was too different to align exactly' : ''}`,
  ];
  if (diff.a.module !== diff.b.module)
    lines.push(`modules differ: a ${diff.a.module.slice(0, 16)}…, b ${diff.b.module.slice(0, 16)}…`);
  const endOf = (side: TraceDiff['a']) =>
    side.end === undefined ? 'no end record' : `${side.end.status} ${String(side.end.exitCode)}`;
  if (endOf(diff.a) !== endOf(diff.b)) lines.push(`ended: a ${endOf(diff.a)}, b ${endOf(diff.b)}`);
  for (const entry of diff.entries) lines.push(entryLine(entry));
  if (diff.omitted > 0) lines.push(`… ${diff.omitted} more difference(s) not listed (--limit)`);
  const [deniedA, deniedB] = diff.dna.deniedCalls;
  if (deniedA !== deniedB) lines.push(`dna: refused calls ${deniedA} -> ${deniedB}`);
  for (const delta of diff.dna.syscalls) lines.push(`dna: ${delta.name} ${delta.a} -> ${delta.b}`);
  const transitions = diff.dna.transitions;
  if (transitions.length > 0)
    lines.push(
      `dna: ${transitions.length} transition count(s) differ: ${transitions
        .slice(0, 5)
        .map((delta) => `${delta.name} ${delta.a} -> ${delta.b}`)
        .join(', ')}${transitions.length > 5 ? ', …' : ''}`,
    );
  return lines.map(terminalSafe);
}
