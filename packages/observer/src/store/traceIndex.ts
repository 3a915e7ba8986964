import { z } from 'zod';
import { ForgeError, storageLimits, type JsonValue, type StorageOps } from '@forgeone/common';
import { EndSchema, HeaderSchema } from '../traceFile/traceFileSchema';
import type { TraceFileHeader } from '../traceFile/traceFileSchema';
import type { SeqRange } from '../traceSummary';

/** Namespace of the per-container index records; key: the container id. */
export const TRACE_INDEX_NAMESPACE = 'traces';

/** What the trace file's header says about a run, without format and version (the export adds them). */
export type StoredTraceHeader = Omit<TraceFileHeader, 'format' | 'version'>;

const Count = z.number().int().min(0);
const Range = z.tuple([z.number().int().min(1), z.number().int().min(1)]);

/** Events the oldest-first retention removed: always the oldest, so one range. */
const TrimmedSchema = z.strictObject({
  fromSeq: z.number().int().min(1),
  toSeq: z.number().int().min(1),
  events: Count,
  bytes: Count,
});

/** Events that never reached the store (the queue was full, or an event was over the entry limit). */
const LostSchema = z.strictObject({
  events: Count,
  /** Inclusive ranges, oldest first; at most 1,000 (later ones are merged into the last). */
  ranges: z.array(Range).max(1000),
});

const { kind: _h, version: _v, format: _f, ...headerFields } = HeaderSchema.shape;
const { kind: _e, dropped: _d, droppedSeqs: _ds, ...endFields } = EndSchema.shape;

export const TraceIndexSchema = z.strictObject({
  v: z.literal(1),
  containerId: z.string().min(1).max(120),
  log: z.string().regex(storageLimits.namePattern),
  header: z.strictObject(headerFields),
  createdAt: z.number().nonnegative(),
  updatedAt: z.number().nonnegative(),
  retention: z.strictObject({ maxEvents: z.number().int().min(1), maxBytes: z.number().int().min(1) }),
  /** The highest seq acknowledged: every event up to it is in the log, trimmed or counted as lost. */
  acknowledgedSeq: Count,
  stored: z.strictObject({ events: Count, bytes: Count, entries: Count }),
  trimmed: TrimmedSchema.nullable(),
  lost: LostSchema.nullable(),
  /** How the run ended; null while it runs (or when it never said: a crash). */
  end: z.strictObject(endFields).nullable(),
});

/** One container's durable trace, as its index record says. */
export type TraceIndex = z.infer<typeof TraceIndexSchema>;
export type TraceTrimmed = z.infer<typeof TrimmedSchema>;
export type TraceLost = z.infer<typeof LostSchema>;

/** The log a container's trace is kept in. */
export function traceLogName(containerId: string): string {
  const log = `trace/${containerId}`;
  if (!storageLimits.namePattern.test(log)) {
    throw new ForgeError(
      'FORGE_TRACE_STORE_INVALID',
      `container id ${JSON.stringify(containerId).slice(0, 80)} cannot name a trace log (letters, digits, ._:/- only, at most 120 characters)`,
      { details: { containerId: containerId.slice(0, 120) } },
    );
  }
  return log;
}

/** The index record read back, checked: a damaged one is FORGE_TRACE_STORE_CORRUPT. */
export function parseTraceIndex(key: string, value: unknown): TraceIndex {
  const result = TraceIndexSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ForgeError(
      'FORGE_TRACE_STORE_CORRUPT',
      `the trace index of container ${JSON.stringify(key).slice(0, 130)} is malformed (${issue?.path.map(String).join('.') || 'record'}: ${issue?.message ?? 'invalid'}); the store was damaged or edited outside ForgeOne`,
      { details: { containerId: key.slice(0, 120) } },
    );
  }
  const index = result.data;
  if (index.containerId !== key || index.log !== `trace/${key}`) {
    throw new ForgeError(
      'FORGE_TRACE_STORE_CORRUPT',
      `the trace index under ${JSON.stringify(key).slice(0, 130)} names another container or log; the store was edited outside ForgeOne`,
      { details: { containerId: key.slice(0, 120) } },
    );
  }
  return index;
}

/** Reads a container's index, or undefined when it has none. */
export async function readTraceIndex(
  store: StorageOps,
  containerId: string,
): Promise<TraceIndex | undefined> {
  const record = await store.getRecord(TRACE_INDEX_NAMESPACE, containerId);
  return record === undefined ? undefined : parseTraceIndex(containerId, record.value);
}

/** The index as stored. */
export function traceIndexJson(index: TraceIndex): JsonValue {
  return index as unknown as JsonValue;
}

/** Adds `[from, to]` to lost ranges (merged with the last when adjacent; capped at 1,000 ranges). */
export function addLostRange(lost: TraceLost | null, from: number, to: number): TraceLost {
  const ranges: SeqRange[] = lost ? [...lost.ranges] : [];
  const last = ranges[ranges.length - 1];
  if (last !== undefined && (last[1] + 1 === from || ranges.length >= 1000))
    ranges[ranges.length - 1] = [last[0], to];
  else ranges.push([from, to]);
  return { events: (lost?.events ?? 0) + (to - from + 1), ranges: ranges as [number, number][] };
}
