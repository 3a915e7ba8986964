import { z } from 'zod';
import { decisionActions } from '@forgeone/common';

/**
 * A citation: the sequence numbers a statement rests on — a few calls, and for a statement about
 * many calls the first and last of them (`[from, to]`).
 */
const Seqs = z.array(z.number().int().min(1)).max(16);
const SeqRange = z.tuple([z.number().int().min(1), z.number().int().min(1)]);

const Reason = z.strictObject({
  policy: z.string(),
  rule: z.string().optional(),
  message: z.string(),
});

/** The published shape of a run's summary (`summarizeTrace`, `forgeone trace summarize --format json`). */
export const LlmSummarySchema = z.strictObject({
  format: z.literal('forgeone-summary'),
  version: z.literal(1),
  /** The tokenizer the budget was counted with. */
  tokenizer: z.string(),
  budget: z.number().int().positive(),
  /** Tokens of this summary as printed (its Markdown text, or its JSON text), never above `budget`. */
  tokens: z.number().int().nonnegative(),
  run: z.strictObject({
    module: z.string(),
    entry: z.string(),
    /** The export's arguments, each cut and escaped (bytes as their length and a short hex prefix). */
    args: z.array(z.string()),
    containerId: z.string(),
    recordedAt: z.string(),
  }),
  outcome: z.strictObject({
    status: z.enum(['returned', 'exited', 'trapped', 'unfinished']),
    exitCode: z.number().int().nullable(),
    code: z.string().optional(),
    calls: z.number().int().nonnegative(),
    refused: z.number().int().nonnegative(),
    /** Calls the recorder dropped, and where (the trace cannot be replayed then). */
    dropped: z.number().int().nonnegative(),
    droppedSeqs: z.array(SeqRange).max(16).optional(),
    last: z.number().int().min(0),
  }),
  /** A replay's first divergence, when the summary is of one. */
  divergence: z
    .strictObject({
      seq: z.number().int().min(1),
      kind: z.string(),
      expected: z.string(),
      actual: z.string(),
    })
    .optional(),
  /**
   * What the run was and was allowed (from the trace header, when it records it): the package and
   * the keys that signed it, the identity, the granted capabilities, who decided, the limits.
   */
  grant: z.array(
    z.strictObject({
      kind: z.enum(['package', 'signers', 'identity', 'capabilities', 'decider', 'limits']),
      values: z.array(z.string()).max(16),
      /** Values past the first 16, counted. */
      more: z.number().int().positive().optional(),
    }),
  ),
  /** Every refused call, grouped by syscall, decision and reasons, rarest first. */
  refusals: z.array(
    z.strictObject({
      syscall: z.string(),
      action: z.enum(decisionActions),
      reasons: z.array(Reason),
      count: z.number().int().positive(),
      seqs: Seqs,
      range: SeqRange,
    }),
  ),
  /** Calls that ended the guest abnormally, hit a limit, or are rare in the run. */
  anomalies: z.array(
    z.strictObject({
      kind: z.enum(['fault', 'limit', 'rare']),
      syscall: z.string(),
      detail: z.string(),
      seqs: Seqs,
    }),
  ),
  /** Files (a `path` argument) and kv keys (a `key` argument) the run touched. */
  resources: z.array(
    z.strictObject({
      kind: z.enum(['file', 'kv']),
      name: z.string(),
      syscalls: z.array(z.string()),
      count: z.number().int().positive(),
      seqs: Seqs,
    }),
  ),
  /** Stretches of the run with one mix of calls, in order. */
  phases: z.array(
    z.strictObject({
      range: SeqRange,
      calls: z.number().int().positive(),
      mix: z.array(z.strictObject({ syscall: z.string(), share: z.number().min(0).max(1) })),
    }),
  ),
  /** The most frequent calls, with how many bytes their `bytes` or `len` arguments add up to. */
  topCalls: z.array(
    z.strictObject({
      syscall: z.string(),
      calls: z.number().int().positive(),
      refused: z.number().int().nonnegative(),
      bytes: z.number().nonnegative().optional(),
      range: SeqRange,
    }),
  ),
  /** What the budget left out, per section. */
  cut: z.array(z.strictObject({ section: z.string(), omitted: z.number().int().positive() })),
});

/** A run's summary, for a person or a language model: every statement cites its sequence numbers. */
export type LlmSummary = z.output<typeof LlmSummarySchema>;
