import type { LlmSummary } from './llmSummary';
import { grantLine } from './summaryGrant';

type Refusal = LlmSummary['refusals'][number];
type Anomaly = LlmSummary['anomalies'][number];
type Resource = LlmSummary['resources'][number];
type Phase = LlmSummary['phases'][number];
type TopCall = LlmSummary['topCalls'][number];

const number = (n: number) => n.toLocaleString('en-US');

/**
 * A citation as `[#3, #9; #3–#40]`: the calls named, then the range they fall in when the statement
 * covers more calls than it names (`covered`: how many it covers).
 */
export function citation(
  seqs: readonly number[],
  range?: readonly [number, number],
  covered = Infinity,
): string {
  const named = seqs.map((seq) => `#${seq}`);
  if (range !== undefined && covered > seqs.length)
    named.push(range[0] === range[1] ? `#${range[0]}` : `#${range[0]}–#${range[1]}`);
  return `[${seqs.length > 0 && named.length > seqs.length ? `${named.slice(0, -1).join(', ')}; ${named.at(-1)!}` : named.join(', ')}]`;
}

export const sectionTitles = {
  divergence: 'Divergence',
  refusals: 'Refused calls',
  grant: 'What ran',
  anomalies: 'Anomalies',
  resources: 'Files and kv keys',
  phases: 'Phases',
  topCalls: 'Most frequent calls',
} as const;

export type SectionName = keyof typeof sectionTitles;

export function refusalLine(r: Refusal): string {
  const reasons = r.reasons
    .map(
      (reason) =>
        `${reason.policy}${reason.rule === undefined ? '' : `/${reason.rule}`}: "${reason.message}"`,
    )
    .join('; ');
  return `- ${number(r.count)}× ${r.syscall} ${r.action} — ${reasons || 'no reason recorded'} ${citation(r.seqs, r.range, r.count)}`;
}

export function anomalyLine(a: Anomaly): string {
  return `- ${a.kind}: ${a.syscall} — ${a.detail} ${citation(a.seqs)}`;
}

export function resourceLine(r: Resource): string {
  return `- ${r.kind} \`${r.name}\` — ${r.syscalls.join(', ')} ×${number(r.count)} ${citation(r.seqs)}`;
}

export function phaseLine(p: Phase): string {
  const mix = p.mix.map((m) => `${m.syscall} ${Math.round(m.share * 100)}%`).join(', ');
  return `- ${citation([], p.range)} ${number(p.calls)} calls: ${mix}`;
}

export function topCallLine(t: TopCall): string {
  const extra = [
    t.refused > 0 ? `${number(t.refused)} refused` : '',
    t.bytes === undefined ? '' : `${number(t.bytes)} bytes`,
  ].filter((part) => part !== '');
  return `- ${t.syscall} ×${number(t.calls)}${extra.length > 0 ? ` (${extra.join(', ')})` : ''} ${citation([], t.range)}`;
}

/** The lines of a summary's head: what ran and how it ended (always shown). */
export function headLines(s: Pick<LlmSummary, 'run' | 'outcome'>): string[] {
  const { run, outcome } = s;
  const ended =
    outcome.status === 'unfinished'
      ? 'did not finish (the trace has no end record)'
      : outcome.status === 'trapped'
        ? `trapped${outcome.code === undefined ? '' : ` with ${outcome.code}`}`
        : `${outcome.status} with code ${String(outcome.exitCode)}`;
  const lines = [
    '# Run summary',
    `- Ran \`${run.entry}\`(${run.args.join(', ')}) of module ${run.module.slice(0, 16)}… in container ${run.containerId}, recorded ${run.recordedAt}.`,
    `- It ${ended} after ${number(outcome.calls)} calls, ${number(outcome.refused)} refused ${citation([], [1, Math.max(1, outcome.last)])}.`,
  ];
  if (outcome.dropped > 0)
    lines.push(
      `- The recorder dropped ${number(outcome.dropped)} calls (${(outcome.droppedSeqs ?? []).map(([a, b]) => `#${a}–#${b}`).join(', ')}): the trace cannot be replayed.`,
    );
  return lines;
}

/** The Markdown text of a summary: its head, each section that holds something, what was cut. */
export function renderMarkdown(s: LlmSummary): string {
  const lines = headLines(s);
  if (s.divergence !== undefined) {
    const d = s.divergence;
    lines.push(
      `## ${sectionTitles.divergence}`,
      `- Replay diverged at #${d.seq} (${d.kind}): expected ${d.expected}, got ${d.actual} [#${d.seq}]`,
    );
  }
  const section = <T>(name: SectionName, items: readonly T[], line: (item: T) => string) => {
    if (items.length > 0) lines.push(`## ${sectionTitles[name]}`, ...items.map(line));
  };
  section('refusals', s.refusals, refusalLine);
  section('grant', s.grant, grantLine);
  section('anomalies', s.anomalies, anomalyLine);
  section('resources', s.resources, resourceLine);
  section('phases', s.phases, phaseLine);
  section('topCalls', s.topCalls, topCallLine);
  if (s.cut.length > 0)
    lines.push(
      '## Cut for the budget',
      `- ${s.cut.map((c) => `${c.section}: ${number(c.omitted)} more`).join('; ')}`,
    );
  lines.push(`(${number(s.tokens)} of ${number(s.budget)} tokens, ${s.tokenizer})`);
  return `${lines.join('\n')}\n`;
}
