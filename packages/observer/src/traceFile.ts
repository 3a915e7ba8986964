import { z } from 'zod';
import { ForgeError, decisionActions, type JsonValue } from '@forgeone/common';
import type { TraceEvent } from './traceEvent';
import type { SeqRange } from './traceRecorder';

/** What a trace file says about the run it recorded (its first line). */
export interface TraceFileHeader {
  readonly format: 'forgeone-trace';
  readonly version: 1;
  /** SHA-256 of the module that ran: replay refuses another one. */
  readonly module: string;
  /** Export that was called and its arguments (JSON form of the typed values). */
  readonly entry: string;
  readonly args: readonly JsonValue[];
  readonly containerId: string;
  /** Wall-clock time the run started (ms since the epoch). */
  readonly recordedAt: number;
}

/** How the recorded run ended (the last line). */
export interface TraceFileEnd {
  readonly status: 'returned' | 'exited' | 'trapped';
  readonly exitCode: number | null;
  /** The error code of a trap. */
  readonly code?: string;
  /** Events that fell out of the recorder before they were written: the trace cannot be replayed. */
  readonly dropped: number;
  /** Which sequence numbers were dropped, as inclusive `[from, to]` ranges (present when `dropped` > 0). */
  readonly droppedSeqs?: readonly SeqRange[];
}

/** A whole recorded run: header, every call in order, and how it ended. */
export interface RecordedTrace {
  readonly header: TraceFileHeader;
  readonly events: readonly TraceEvent[];
  readonly end: TraceFileEnd | undefined;
}

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const JsonSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([Scalar, z.array(JsonSchema), z.record(z.string(), JsonSchema)]),
);

const HeaderSchema = z.strictObject({
  kind: z.literal('header'),
  format: z.literal('forgeone-trace'),
  version: z.literal(1),
  module: z.string().regex(/^[0-9a-f]{64}$/),
  entry: z.string().max(1024),
  args: z.array(JsonSchema).max(1024),
  containerId: z.string().max(256),
  recordedAt: z.number(),
});

const EventSchema = z.strictObject({
  kind: z.literal('call'),
  seq: z.number().int().min(1),
  syscall: z.string().max(256),
  args: z.record(z.string(), Scalar),
  params: z
    .array(z.union([z.number(), z.string()]))
    .max(64)
    .optional(),
  action: z.enum(decisionActions),
  executed: z.boolean(),
  reasons: z.array(
    z.strictObject({
      policy: z.string(),
      rule: z.string().optional(),
      message: z.string(),
      scores: z.record(z.string(), z.number()).optional(),
    }),
  ),
  result: z.union([z.number(), z.string(), z.null()]),
  durationNs: z.number(),
  time: z.number(),
  writes: z
    .array(
      z.strictObject({ ptr: z.number().int().min(0), bytes: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/) }),
    )
    .optional(),
  outcome: z.enum(['exit', 'fault', 'limit']).optional(),
});

const EndSchema = z.strictObject({
  kind: z.literal('end'),
  status: z.enum(['returned', 'exited', 'trapped']),
  exitCode: z.number().int().nullable(),
  code: z.string().max(128).optional(),
  dropped: z.number().int().min(0),
  droppedSeqs: z
    .array(z.tuple([z.number().int().min(1), z.number().int().min(1)]))
    .max(1_000_000)
    .optional(),
});

const toJson = (_key: string, value: unknown): unknown =>
  typeof value === 'bigint' ? value.toString() : value;

/** One JSON line per record: the header, each call, then the end (bigints as decimal strings). */
export function traceToJsonl(trace: RecordedTrace): string {
  const lines = [JSON.stringify({ kind: 'header', ...trace.header }, toJson)];
  for (const event of trace.events) lines.push(JSON.stringify({ kind: 'call', ...event }, toJson));
  if (trace.end) lines.push(JSON.stringify({ kind: 'end', ...trace.end }, toJson));
  return `${lines.join('\n')}\n`;
}

function invalid(line: number, message: string): never {
  throw new ForgeError('FORGE_TRACE_INVALID', `trace line ${line}: ${message}`, { details: { line } });
}

/** Parses a JSONL trace (checked line by line); FORGE_TRACE_INVALID names the first bad line. */
export function parseTraceJsonl(text: string): RecordedTrace {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) invalid(1, 'the trace is empty');
  let header: TraceFileHeader | undefined;
  let end: TraceFileEnd | undefined;
  const events: TraceEvent[] = [];
  lines.forEach((line, index) => {
    const number = index + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      invalid(number, 'not JSON');
    }
    const kind = (value as { kind?: unknown } | null)?.kind;
    if (index === 0) {
      const parsed = HeaderSchema.safeParse(value);
      if (!parsed.success)
        invalid(number, `not a forgeone trace header (${parsed.error.issues[0]?.message ?? 'invalid'})`);
      const { kind: _kind, ...rest } = parsed.data;
      header = rest;
      return;
    }
    if (end !== undefined) invalid(number, 'records after the end record');
    if (kind === 'end') {
      const parsed = EndSchema.safeParse(value);
      if (!parsed.success)
        invalid(number, `bad end record (${parsed.error.issues[0]?.message ?? 'invalid'})`);
      const { kind: _kind, ...rest } = parsed.data;
      end = rest as TraceFileEnd;
      return;
    }
    const parsed = EventSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      invalid(
        number,
        `bad call record at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    const { kind: _kind, ...event } = parsed.data;
    if (event.seq !== events.length + 1)
      invalid(number, `expected seq ${events.length + 1}, found ${event.seq}`);
    events.push(event as TraceEvent);
  });
  return { header: header!, events, end };
}
