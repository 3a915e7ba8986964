import type { countTokens as CountTokensFn } from 'gpt-tokenizer';
import { ForgeError } from '@forgeone/common';
import { traceFileRecords } from '../traceFile/traceFileStream';
import type { TraceRecord } from '../traceFile/traceReader';
import type { LlmSummary } from './llmSummary';
import { grantLine } from './summaryGrant';
import { SummaryFactsBuilder, type SummaryFacts, type SummaryInput } from './summaryFacts';
import {
  anomalyLine,
  phaseLine,
  refusalLine,
  renderMarkdown,
  resourceLine,
  topCallLine,
  type SectionName,
} from './summaryRender';

/** The tokenizer budgets are counted with (gpt-tokenizer's default encoding, as GPT-4o counts). */
export const SUMMARY_TOKENIZER = 'o200k_base';
export const DEFAULT_SUMMARY_BUDGET = 2000;
/**
 * The budget's bounds: the smallest always holds a shortened head and the line saying what was cut
 * (as JSON too); the largest is above any context window.
 */
export const summaryBudgetLimits = { min: 256, max: 1_000_000 } as const;

/** How a summary is written. */
export interface SummaryOptions extends SummaryInput {
  /** Most tokens the printed summary may take (default 2,000). */
  readonly budget?: number;
  /** The form the budget is counted on: the Markdown text (default) or the JSON text. */
  readonly format?: 'text' | 'json';
}

type CountTokens = typeof CountTokensFn;
/** The tokenizer, loaded on first use: its tables take a few hundred ms to load, and most kernels never summarise. */
let tokenizer: Promise<CountTokens> | undefined;
let countTokens: CountTokens | undefined;
async function loadTokenizer(): Promise<void> {
  tokenizer ??= import('gpt-tokenizer').then((module) => module.countTokens);
  countTokens = await tokenizer;
}

/** Counts tokens of any text: a guest's `<|endoftext|>` is text, never a special token. */
const tokens = (text: string) => countTokens!(text, { disallowedSpecial: new Set() });

type ListSection = Exclude<SectionName, 'divergence'>;
/** The sections in the order the budget fills them: rare and decisive facts before frequent ones. */
const ORDER: readonly ListSection[] = ['refusals', 'grant', 'anomalies', 'resources', 'phases', 'topCalls'];
const LINES: { [K in ListSection]: (item: LlmSummary[K][number]) => string } = {
  refusals: refusalLine,
  grant: grantLine,
  anomalies: anomalyLine,
  resources: resourceLine,
  phases: phaseLine,
  topCalls: topCallLine,
};

/** The summary as printed: Markdown text or one line of JSON. */
export function formatSummary(summary: LlmSummary, format: 'text' | 'json' = 'text'): string {
  return format === 'json' ? `${JSON.stringify(summary)}\n` : renderMarkdown(summary);
}

/** Sets `tokens` to the count of the summary as printed (the count is part of what is printed). */
function counted(summary: LlmSummary, format: 'text' | 'json'): LlmSummary {
  let current = summary;
  for (let i = 0; i < 4; i += 1) {
    const n = tokens(formatSummary(current, format));
    if (n === current.tokens) return current;
    current = { ...current, tokens: n };
  }
  return current;
}

type Head = Omit<SummaryFacts, 'untracked' | ListSection>;

/** A summary of `head` with every section empty. */
function emptyOf(head: Head, budget: number): LlmSummary {
  return {
    format: 'forgeone-summary',
    version: 1,
    tokenizer: SUMMARY_TOKENIZER,
    budget,
    tokens: 0,
    ...head,
    refusals: [],
    grant: [],
    anomalies: [],
    resources: [],
    phases: [],
    topCalls: [],
    cut: [],
  };
}

const cutOf = (omitted: Record<string, number>) =>
  Object.entries(omitted)
    .filter(([, n]) => n > 0)
    .map(([section, n]) => ({ section, omitted: n }));

/** Longest name a shortened head keeps (entry, container id). */
const SHORT_NAME = 40;

/** The head shortened for a small budget: no export arguments, short names, two dropped ranges. */
function compactHead(head: Head): Head {
  const short = (text: string) => (text.length > SHORT_NAME ? `${text.slice(0, SHORT_NAME - 1)}…` : text);
  const { droppedSeqs, ...outcome } = head.outcome;
  return {
    ...head,
    run: { ...head.run, entry: short(head.run.entry), containerId: short(head.run.containerId), args: [] },
    outcome: droppedSeqs === undefined ? head.outcome : { ...outcome, droppedSeqs: droppedSeqs.slice(0, 2) },
  };
}

/**
 * Chooses what fits `budget`: the head (what ran, how it ended) and a replay's divergence always
 * (a head too long for the budget is shortened first: see `compactHead`; what it lost is counted
 * under `cut`); then the items of each section in order, refusals first, frequent calls last, each
 * item kept only when it fits whole (the head is measured with the line that says everything else
 * was cut, so that line always fits). Every item left out is counted in `cut`. The printed summary
 * is counted again at the end and items are dropped from the last section until it fits: the
 * budget is never exceeded.
 */
function fit(facts: SummaryFacts, budget: number, format: 'text' | 'json'): LlmSummary {
  const { untracked: tracked, ...full } = facts;
  const untracked: Record<string, number> = { ...tracked };
  // The least a summary can be: its head, and the line saying that everything else was cut.
  const everything = () => {
    const all: Record<string, number> = { ...untracked };
    for (const name of ORDER) all[name] = (all[name] ?? 0) + facts[name].length;
    return all;
  };
  let head: Head = full;
  if (counted({ ...emptyOf(head, budget), cut: cutOf(everything()) }, format).tokens > budget) {
    head = compactHead(head);
    if (full.run.args.length > 0) untracked['args'] = full.run.args.length;
    const dropped = (full.outcome.droppedSeqs?.length ?? 0) - (head.outcome.droppedSeqs?.length ?? 0);
    if (dropped > 0) untracked['droppedSeqs'] = dropped;
  }
  const empty = emptyOf(head, budget);
  const base = counted({ ...empty, cut: cutOf(everything()) }, format).tokens;
  const kept = { refusals: [], grant: [], anomalies: [], resources: [], phases: [], topCalls: [] } as {
    [K in ListSection]: LlmSummary[K][number][];
  };
  const omitted: Record<string, number> = { ...untracked };
  let used = base;
  for (const name of ORDER) {
    const items = facts[name] as LlmSummary[typeof name][number][];
    const line = LINES[name] as (item: (typeof items)[number]) => string;
    let header = tokens(`## ${name}\n`);
    for (const item of items) {
      const cost =
        header + (format === 'json' ? tokens(JSON.stringify(item)) + 1 : tokens(`${line(item)}\n`));
      if (used + cost <= budget) {
        (kept[name] as (typeof items)[number][]).push(item);
        used += cost;
        header = 0;
      } else omitted[name] = (omitted[name] ?? 0) + 1;
    }
  }
  const build = () =>
    counted(
      {
        ...empty,
        ...kept,
        cut: cutOf(omitted),
      },
      format,
    );
  let summary = build();
  // The estimate sums items apart; the printed whole is what counts.
  for (let i = ORDER.length - 1; summary.tokens > budget && i >= 0;) {
    const list = kept[ORDER[i]!];
    if (list.length === 0) {
      i -= 1;
      continue;
    }
    list.pop();
    omitted[ORDER[i]!] = (omitted[ORDER[i]!] ?? 0) + 1;
    summary = build();
  }
  // Not reached (the least summary was measured to fit), but the budget is a promise.
  if (summary.tokens > budget)
    throw new ForgeError(
      'FORGE_SUMMARY_BUDGET',
      `the summary does not fit ${budget} tokens: give a larger --budget`,
      {
        details: { budget, needed: summary.tokens },
      },
    );
  return summary;
}

function checkBudget(budget: number): number {
  if (!Number.isInteger(budget) || budget < summaryBudgetLimits.min || budget > summaryBudgetLimits.max)
    throw new ForgeError(
      'FORGE_SUMMARY_BUDGET',
      `the budget must be a whole number of tokens from ${summaryBudgetLimits.min} to ${summaryBudgetLimits.max}, got ${String(budget)}`,
      { details: { budget: String(budget) } },
    );
  return budget;
}

/**
 * One deterministic summary of a recorded run of any length, for a person or a language model
 * (`LlmSummary`, schema `LlmSummarySchema`): what ran, how it ended, every refused call grouped with
 * its policy reasons, anomalies (faults, limits, rare calls), files and kv keys touched, phases
 * where the mix of calls changes, the most frequent calls. Every statement cites its sequence
 * numbers; the whole never exceeds `budget` tokens as printed; secrets given are never printed.
 * `records` is streamed: memory does not grow with the run.
 */
export async function summarizeTrace(
  records: Iterable<TraceRecord> | AsyncIterable<TraceRecord>,
  options: SummaryOptions = {},
): Promise<LlmSummary> {
  const budget = checkBudget(options.budget ?? DEFAULT_SUMMARY_BUDGET);
  await loadTokenizer();
  const builder = new SummaryFactsBuilder(options);
  for await (const record of records) builder.add(record);
  return fit(builder.facts(), budget, options.format ?? 'text');
}

/** Summarises a trace file (streamed and checked as `traceFileRecords` checks it). */
export async function summarizeTraceFile(path: string, options: SummaryOptions = {}): Promise<LlmSummary> {
  checkBudget(options.budget ?? DEFAULT_SUMMARY_BUDGET);
  return summarizeTrace(traceFileRecords(path), options);
}
