import { grantItems } from './summaryGrant';
import { displayText, type DecisionAction, type JsonValue, type SyscallArg } from '@forgeone/common';
import type { TraceEvent } from '../traceEvent';
import type { TraceRecord } from '../traceFile/traceReader';
import type { TraceFileEnd, TraceFileHeader } from '../traceFile/traceFileSchema';
import type { LlmSummary } from './llmSummary';
import { PhaseTracker } from './summaryPhases';

/** Longest piece of guest-influenced text a summary quotes. */
const MAX_TEXT = 96;
/** Sequence numbers a statement cites (the first ones; a range covers the rest). */
const CITED = 6;
/** Distinct syscalls, refusal groups and resources tracked; past these, calls are counted, not itemised. */
const MAX_SYSCALLS = 4096;
const MAX_GROUPS = 1024;
const MAX_RESOURCES = 1024;
const MAX_ANOMALIES = 256;
const MAX_PHASES = 12;
/** In a run of at least this many calls, a syscall made at most `RARE_CALLS` times is an anomaly. */
const RARE_RUN = 100;
const RARE_CALLS = 3;

/** What a summary is built from, besides the trace. */
export interface SummaryInput {
  /** Values that must never appear (secrets, env values marked secret): replaced by `[redacted]`. */
  readonly secrets?: readonly string[];
  /** A replay's first divergence, when the trace is of one. */
  readonly divergence?: { seq: number; kind: string; expected: string; actual: string };
}

interface SyscallFacts {
  calls: number;
  refused: number;
  bytes: number;
  hasBytes: boolean;
  first: number;
  last: number;
  seqs: number[];
}

interface Group {
  syscall: string;
  action: DecisionAction;
  reasons: { policy: string; rule?: string; message: string }[];
  count: number;
  seqs: number[];
  first: number;
  last: number;
}

/** Every section a summary can hold, in full (before the budget chooses), and the text cleaner. */
export type SummaryFacts = Omit<
  LlmSummary,
  'format' | 'version' | 'tokenizer' | 'budget' | 'tokens' | 'cut'
> & {
  /** Items a section could not track at all (past its bound), for the `cut` list. */
  readonly untracked: Record<string, number>;
};

const cite = (seqs: number[], seq: number) => {
  if (seqs.length < CITED) seqs.push(seq);
};

/**
 * Gathers the facts of a run from its trace records, one record at a time, in memory bounded by the
 * number of distinct syscalls, refusal groups and resources (each capped), never by its length.
 */
export class SummaryFactsBuilder {
  #header: TraceFileHeader | undefined;
  #end: TraceFileEnd | undefined;
  #calls = 0;
  #refused = 0;
  readonly #syscalls = new Map<string, SyscallFacts>();
  readonly #groups = new Map<string, Group>();
  readonly #resources = new Map<string, LlmSummary['resources'][number] & { set: Set<string> }>();
  readonly #anomalies: LlmSummary['anomalies'] = [];
  readonly #phases = new PhaseTracker();
  readonly #untracked: Record<string, number> = {};
  readonly #secrets: readonly string[];

  constructor(readonly input: SummaryInput = {}) {
    // Longest first, so that a secret containing another is redacted whole.
    this.#secrets = [...new Set(input.secrets ?? [])]
      .filter((s) => s.length > 0)
      .sort((a, b) => b.length - a.length);
  }

  /** Guest-influenced text as a summary may quote it: secrets redacted, escaped, cut. */
  clean(text: string, max = MAX_TEXT): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join('[redacted]');
    return displayText(out, max);
  }

  #skip(section: string): void {
    this.#untracked[section] = (this.#untracked[section] ?? 0) + 1;
  }

  add(record: TraceRecord): void {
    if (record.kind === 'header') this.#header = record.header;
    else if (record.kind === 'end') this.#end = record.end;
    else if (record.kind === 'call') this.#call(record.event);
  }

  #call(event: TraceEvent): void {
    const seq = event.seq;
    this.#calls += 1;
    const refused = event.action !== 'allow';
    const syscall =
      this.#syscalls.size < MAX_SYSCALLS || this.#syscalls.has(event.syscall) ? event.syscall : '(other)';
    let facts = this.#syscalls.get(syscall);
    if (facts === undefined) {
      facts = { calls: 0, refused: 0, bytes: 0, hasBytes: false, first: seq, last: seq, seqs: [] };
      this.#syscalls.set(syscall, facts);
    }
    facts.calls += 1;
    facts.last = seq;
    cite(facts.seqs, seq);
    const bytes = event.args['bytes'] ?? event.args['len'];
    if (typeof bytes === 'number' && bytes >= 0) {
      facts.bytes += bytes;
      facts.hasBytes = true;
    }
    this.#phases.add(seq, syscall);
    if (refused) {
      this.#refused += 1;
      facts.refused += 1;
      this.#refusal(event);
    }
    if (event.outcome === 'fault' || event.outcome === 'limit') this.#anomaly(event);
    this.#resource(event, 'path', 'file');
    this.#resource(event, 'key', 'kv');
  }

  #refusal(event: TraceEvent): void {
    const reasons = event.reasons.map((r) => ({
      policy: r.policy,
      ...(r.rule === undefined ? {} : { rule: r.rule }),
      message: r.message,
    }));
    const key = JSON.stringify([event.syscall, event.action, reasons]);
    let group = this.#groups.get(key);
    if (group === undefined) {
      if (this.#groups.size >= MAX_GROUPS) return this.#skip('refusals');
      group = {
        syscall: event.syscall,
        action: event.action,
        reasons,
        count: 0,
        seqs: [],
        first: event.seq,
        last: event.seq,
      };
      this.#groups.set(key, group);
    }
    group.count += 1;
    group.last = event.seq;
    cite(group.seqs, event.seq);
  }

  #anomaly(event: TraceEvent): void {
    if (this.#anomalies.length >= MAX_ANOMALIES) return this.#skip('anomalies');
    const kind = event.outcome === 'fault' ? 'fault' : 'limit';
    const detail =
      kind === 'fault'
        ? `the call faulted (result ${String(event.result)})`
        : `a limit stopped the guest at this call${event.reasons[0] ? `: ${this.clean(event.reasons[0].message)}` : ''}`;
    this.#anomalies.push({ kind, syscall: event.syscall, detail, seqs: [event.seq] });
  }

  #resource(event: TraceEvent, arg: string, kind: 'file' | 'kv'): void {
    const value: SyscallArg | undefined = event.args[arg];
    if (typeof value !== 'string') return;
    const id = `${kind}:${value}`;
    let resource = this.#resources.get(id);
    if (resource === undefined) {
      if (this.#resources.size >= MAX_RESOURCES) return this.#skip('resources');
      resource = { kind, name: this.clean(value), syscalls: [], count: 0, seqs: [], set: new Set() };
      this.#resources.set(id, resource);
    }
    resource.count += 1;
    if (!resource.set.has(event.syscall)) {
      resource.set.add(event.syscall);
      resource.syscalls.push(event.syscall);
    }
    cite(resource.seqs, event.seq);
  }

  #argText(arg: JsonValue): string {
    const typed = arg as { type?: string; value?: JsonValue };
    if (typed.type === 'bytes' && typeof typed.value === 'string') {
      const bytes = Buffer.from(typed.value, 'base64');
      return `bytes(${bytes.length}: ${bytes.subarray(0, 8).toString('hex')}${bytes.length > 8 ? '…' : ''})`;
    }
    return this.clean(
      `${typed.type ?? '?'}:${typeof typed.value === 'string' ? typed.value : JSON.stringify(typed.value)}`,
      48,
    );
  }

  /** The facts, every section in full (bounded), ordered as a summary lists them. */
  facts(): SummaryFacts {
    const header = this.#header;
    const end = this.#end;
    const syscalls = [...this.#syscalls.entries()];
    const rare =
      this.#calls >= RARE_RUN
        ? syscalls
            .filter(([, f]) => f.calls <= RARE_CALLS)
            .map(([syscall, f]) => ({
              kind: 'rare' as const,
              syscall,
              detail: `${f.calls} of ${this.#calls} calls`,
              seqs: f.seqs.slice(0, RARE_CALLS),
            }))
        : [];
    const divergence = this.input.divergence;
    return {
      run: {
        module: header?.module ?? '',
        entry: this.clean(header?.entry ?? ''),
        args: (header?.args ?? []).slice(0, 16).map((arg) => this.#argText(arg as JsonValue)),
        containerId: this.clean(header?.containerId ?? ''),
        recordedAt: new Date(header?.recordedAt ?? 0).toISOString(),
      },
      outcome: {
        status: end?.status ?? 'unfinished',
        exitCode: end?.exitCode ?? null,
        ...(end?.code === undefined ? {} : { code: end.code }),
        calls: this.#calls,
        refused: this.#refused,
        dropped: end?.dropped ?? 0,
        ...(end?.droppedSeqs === undefined
          ? {}
          : { droppedSeqs: end.droppedSeqs.slice(0, 16).map(([a, b]) => [a, b] as [number, number]) }),
        last: this.#calls + (end?.dropped ?? 0),
      },
      ...(divergence === undefined
        ? {}
        : {
            divergence: {
              seq: divergence.seq,
              kind: this.clean(divergence.kind),
              expected: this.clean(divergence.expected),
              actual: this.clean(divergence.actual),
            },
          }),
      grant: grantItems(header?.run, (text, max) => this.clean(text, max)),
      // Rarest first: a refusal seen once is never crowded out by one seen a million times.
      refusals: [...this.#groups.values()]
        .sort((a, b) => a.count - b.count || a.first - b.first)
        .map((g) => ({
          syscall: g.syscall,
          action: g.action,
          reasons: g.reasons.map((r) => ({
            policy: this.clean(r.policy),
            ...(r.rule === undefined ? {} : { rule: this.clean(r.rule) }),
            message: this.clean(r.message, 160),
          })),
          count: g.count,
          seqs: g.seqs,
          range: [g.first, g.last] as [number, number],
        })),
      anomalies: [...this.#anomalies, ...rare],
      resources: [...this.#resources.values()].map(({ set: _set, ...resource }) => resource),
      phases: this.#phases.phases(MAX_PHASES).map((phase) => ({
        range: [phase.from, phase.to] as [number, number],
        calls: phase.calls,
        mix: [...phase.counts.entries()]
          .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
          .slice(0, 4)
          .map(([syscall, count]) => ({ syscall, share: Math.round((count / phase.calls) * 1000) / 1000 })),
      })),
      topCalls: syscalls
        .sort((a, b) => b[1].calls - a[1].calls || (a[0] < b[0] ? -1 : 1))
        .map(([syscall, f]) => ({
          syscall,
          calls: f.calls,
          refused: f.refused,
          ...(f.hasBytes ? { bytes: f.bytes } : {}),
          range: [f.first, f.last] as [number, number],
        })),
      untracked: this.#untracked,
    };
  }
}
