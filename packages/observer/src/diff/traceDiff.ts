import type { DecisionAction, ExecutionDNA, SyscallArg } from '@forgeone/common';
import type { TraceEvent } from '../traceEvent';
import { TraceDna } from '../traceDna';
import type { TraceRecord } from '../traceFile/traceReader';
import type { TraceFileEnd, TraceFileHeader } from '../traceFile/traceFileSchema';
import { alignSequences, type AlignOptions } from './sequenceAlignment';

/** One call as a diff shows it. */
export interface DiffCall {
  readonly seq: number;
  readonly syscall: string;
  readonly args: Readonly<Record<string, SyscallArg>>;
  readonly action: DecisionAction;
  readonly executed: boolean;
  readonly result: number | string | null;
}

/** What differs about a call present on both sides. */
export type DiffField = 'args' | 'action' | 'executed' | 'result';

/** One difference: a call only in `a` (deleted), only in `b` (inserted), or changed between them. */
export type TraceDiffEntry =
  | { readonly kind: 'deleted'; readonly a: DiffCall }
  | { readonly kind: 'inserted'; readonly b: DiffCall }
  | {
      readonly kind: 'changed';
      readonly a: DiffCall;
      readonly b: DiffCall;
      readonly fields: readonly DiffField[];
    };

/** A syscall (or transition `x>y`) whose count differs between the runs. */
export interface CountDelta {
  readonly name: string;
  readonly a: number;
  readonly b: number;
}

/** How two recorded runs differ. */
export interface TraceDiff {
  readonly a: DiffSideSummary;
  readonly b: DiffSideSummary;
  /** Calls aligned and identical (syscall, arguments, decision, result). */
  readonly same: number;
  readonly inserted: number;
  readonly deleted: number;
  readonly changed: number;
  /** Changed calls whose decision (action) differs. */
  readonly decisionChanges: number;
  /** The differences in call order, the first `limit` of them. */
  readonly entries: readonly TraceDiffEntry[];
  /** Differences beyond `limit`, counted, not listed. */
  readonly omitted: number;
  /** True when part of the runs was too different to align exactly (see `alignSequences`). */
  readonly approximate: boolean;
  readonly dna: {
    readonly totalCalls: readonly [number, number];
    readonly deniedCalls: readonly [number, number];
    readonly syscalls: readonly CountDelta[];
    readonly transitions: readonly CountDelta[];
  };
}

/** One side of a diff: what ran and how it ended. */
export interface DiffSideSummary {
  readonly module: string;
  readonly entry: string;
  readonly containerId: string;
  readonly calls: number;
  readonly end: TraceFileEnd | undefined;
}

/** How `diffTraces` works. */
export interface DiffOptions extends AlignOptions {
  /** Most differences listed (default 1,000); the rest are counted in `omitted`. */
  readonly limit?: number;
}

/** Interns strings as small integers, shared by both sides so that equal calls get equal ids. */
export class Interner {
  readonly #ids = new Map<string, number>();
  readonly values: string[] = [];

  id(text: string): number {
    let id = this.#ids.get(text);
    if (id === undefined) {
      id = this.values.length;
      this.#ids.set(text, id);
      this.values.push(text);
    }
    return id;
  }
}

/**
 * One side of a diff, gathered from a stream of records: each call kept as two interned ids (what
 * was asked: syscall and arguments; what came of it: decision, execution, result), so two long runs
 * are compared in a few bytes a call.
 */
export class DiffSide {
  #asked = new Int32Array(1024);
  #outcome = new Int32Array(1024);
  #calls = 0;
  #header: TraceFileHeader | undefined;
  #end: TraceFileEnd | undefined;
  #dna: TraceDna | undefined;

  constructor(
    readonly keys: Interner,
    readonly outcomes: Interner,
  ) {}

  /** Takes the next record of this side's trace. */
  add(record: TraceRecord): void {
    if (record.kind === 'header') {
      this.#header = record.header;
      this.#dna = new TraceDna(record.header.containerId);
    } else if (record.kind === 'call') this.#call(record.event);
    else if (record.kind === 'end') this.#end = record.end;
  }

  #call(event: TraceEvent): void {
    if (this.#calls === this.#asked.length) {
      const grow = (array: Int32Array) => {
        const bigger = new Int32Array(array.length * 2);
        bigger.set(array);
        return bigger;
      };
      this.#asked = grow(this.#asked);
      this.#outcome = grow(this.#outcome);
    }
    this.#asked[this.#calls] = this.keys.id(JSON.stringify([event.syscall, event.args]));
    this.#outcome[this.#calls] = this.outcomes.id(
      JSON.stringify([event.action, event.executed, event.result]),
    );
    this.#calls += 1;
    this.#dna?.observe(event);
  }

  get asked(): Int32Array {
    return this.#asked.subarray(0, this.#calls);
  }

  outcomeAt(index: number): number {
    return this.#outcome[index]!;
  }

  /** The call at `index` (0-based), rebuilt from its ids. */
  call(index: number): DiffCall {
    const [syscall, args] = JSON.parse(this.keys.values[this.#asked[index]!]!) as [
      string,
      Record<string, SyscallArg>,
    ];
    const [action, executed, result] = JSON.parse(this.outcomes.values[this.#outcome[index]!]!) as [
      DecisionAction,
      boolean,
      number | string | null,
    ];
    return { seq: index + 1, syscall, args, action, executed, result };
  }

  summary(): DiffSideSummary {
    const header = this.#header!;
    return {
      module: header.module,
      entry: header.entry,
      containerId: header.containerId,
      calls: this.#calls,
      end: this.#end,
    };
  }

  dna(): ExecutionDNA {
    return this.#dna!.snapshot();
  }
}

/** Two sides that share their interners, ready to be filled and diffed. */
export function diffSides(): [DiffSide, DiffSide] {
  const keys = new Interner();
  const outcomes = new Interner();
  return [new DiffSide(keys, outcomes), new DiffSide(keys, outcomes)];
}

function countDeltas(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): CountDelta[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names
    .map((name) => ({ name, a: a[name] ?? 0, b: b[name] ?? 0 }))
    .filter((delta) => delta.a !== delta.b);
}

function fieldsOf(a: DiffCall, b: DiffCall): DiffField[] {
  const fields: DiffField[] = [];
  if (JSON.stringify(a.args) !== JSON.stringify(b.args)) fields.push('args');
  if (a.action !== b.action) fields.push('action');
  if (a.executed !== b.executed) fields.push('executed');
  if (a.result !== b.result) fields.push('result');
  return fields;
}

/**
 * Compares two recorded runs (both sides filled from their traces): their calls are aligned as
 * sequences of (syscall, arguments), so one inserted call shifts nothing after it. Aligned calls
 * whose decision or result differ are changed; within a gap of the alignment, a deleted and an
 * inserted call of the same syscall, in order, are one call changed (its arguments); the rest are
 * deleted or inserted. Adds how the runs' DNA differs.
 */
export function diffTraces(a: DiffSide, b: DiffSide, options: DiffOptions = {}): TraceDiff {
  const limit = options.limit ?? 1000;
  const alignment = alignSequences(a.asked, b.asked, options);
  const entries: TraceDiffEntry[] = [];
  const counts = { inserted: 0, deleted: 0, changed: 0, decisionChanges: 0, same: 0, omitted: 0 };
  const emit = (entry: TraceDiffEntry) => {
    counts[entry.kind] += 1;
    if (entry.kind === 'changed' && entry.fields.includes('action')) counts.decisionChanges += 1;
    if (entries.length < limit) entries.push(entry);
    else counts.omitted += 1;
  };
  const runs = alignment.runs;
  for (let r = 0; r < runs.length; r += 1) {
    const run = runs[r]!;
    if (run.kind === 'same') {
      for (let i = 0; i < run.length; i += 1) {
        const ai = run.aStart + i;
        const bi = run.bStart + i;
        if (a.outcomeAt(ai) === b.outcomeAt(bi)) counts.same += 1;
        else {
          const [callA, callB] = [a.call(ai), b.call(bi)];
          emit({ kind: 'changed', a: callA, b: callB, fields: fieldsOf(callA, callB) });
        }
      }
      continue;
    }
    // A gap: the deletes and inserts between two kept runs, paired by syscall in order.
    const deleted: number[] = [];
    const inserted: number[] = [];
    for (; r < runs.length && runs[r]!.kind !== 'same'; r += 1) {
      const gap = runs[r]!;
      for (let i = 0; i < gap.length; i += 1)
        (gap.kind === 'delete' ? deleted : inserted).push(
          gap.kind === 'delete' ? gap.aStart + i : gap.bStart + i,
        );
    }
    r -= 1;
    const pending = new Map<string, number[]>();
    const insertedCalls = inserted.map((bi) => b.call(bi));
    insertedCalls.forEach((call, index) => {
      const list = pending.get(call.syscall) ?? [];
      list.push(index);
      pending.set(call.syscall, list);
    });
    const pairedWith = new Map<number, number>(); // inserted index -> deleted call index
    const deletedCalls = deleted.map((ai) => a.call(ai));
    const unpaired: TraceDiffEntry[] = [];
    let lastPaired = -1;
    for (const [d, call] of deletedCalls.entries()) {
      const list = pending.get(call.syscall);
      // In order: a pair never crosses an earlier one.
      while (list !== undefined && list.length > 0 && list[0]! <= lastPaired) list.shift();
      const match = list?.shift();
      if (match === undefined) unpaired.push({ kind: 'deleted', a: call });
      else {
        pairedWith.set(match, d);
        lastPaired = match;
      }
    }
    // Emit in b's order, the deleted calls that were not paired first (they came before).
    for (const entry of unpaired) emit(entry);
    insertedCalls.forEach((call, index) => {
      const d = pairedWith.get(index);
      if (d === undefined) emit({ kind: 'inserted', b: call });
      else emit({ kind: 'changed', a: deletedCalls[d]!, b: call, fields: fieldsOf(deletedCalls[d]!, call) });
    });
  }
  const dnaA = a.dna();
  const dnaB = b.dna();
  return {
    a: a.summary(),
    b: b.summary(),
    same: counts.same,
    inserted: counts.inserted,
    deleted: counts.deleted,
    changed: counts.changed,
    decisionChanges: counts.decisionChanges,
    entries,
    omitted: counts.omitted,
    approximate: alignment.approximate,
    dna: {
      totalCalls: [dnaA.totalCalls, dnaB.totalCalls],
      deniedCalls: [dnaA.deniedCalls, dnaB.deniedCalls],
      syscalls: countDeltas(dnaA.syscallCounts, dnaB.syscallCounts),
      transitions: countDeltas(dnaA.transitions, dnaB.transitions),
    },
  };
}
