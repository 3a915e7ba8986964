import { z } from 'zod';
import { ForgeError, decisionActions, type JsonValue } from '@forgeone/common';
import type { TraceEvent } from './traceEvent';
import type { SeqRange } from './traceSummary';

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

/**
 * Bounds of a trace file, checked before anything of it is used. (One owner: `forgeone replay`
 * reads them from here.) A line holds one call with its memory writes base64-encoded, so the line
 * bound also bounds what one replayed call can write.
 */
export const traceFileLimits = {
  /** Largest trace file read. */
  maxFileBytes: 512 * 1024 * 1024,
  /** Longest line (characters). */
  maxLineChars: 64 * 1024 * 1024,
  /** Most calls in one trace. */
  maxEvents: 8_000_000,
  /** Most memory writes of one call. */
  maxWritesPerCall: 65_536,
} as const;

const U32_MAX = 2 ** 32 - 1;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

/** A 64-bit integer in decimal (i64 and u64 values are written so); a string, never a number. */
const Decimal64 = z
  .string()
  .regex(/^-?(?:0|[1-9][0-9]{0,19})$/, 'expected a decimal 64-bit integer')
  // zod may run a refinement on a value that failed the checks before it (inside a union): only a
  // string of digits is converted.
  .refine((text) => {
    if (typeof text !== 'string' || !/^-?[0-9]{1,21}$/.test(text)) return false;
    const value = BigInt(text);
    return value >= I64_MIN && value <= U64_MAX;
  }, 'outside the 64-bit range');

/** An i32 as JavaScript sees it (signed) or as a u32 (recorded pointers, lengths). */
const Int32 = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(U32_MAX);

/** A raw wasm value as a number: an i32 (an integer), or an f32/f64 (i64s are decimal strings). */
const WasmNumber = z
  .number()
  .refine(
    (n) => !Number.isInteger(n) || (n >= -(2 ** 31) && n <= U32_MAX),
    'an integer here is an i32 (64-bit values are written as decimal strings)',
  );

/** Canonical base64 (padded, no whitespace): what `traceToJsonl` writes. */
const Base64 = z
  .string()
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'expected padded base64');

/** How many bytes a canonical base64 string decodes to. */
function base64Length(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

const Text = (max: number) => z.string().max(max);
const Scalar = z.union([Text(64 * 1024), z.number(), z.boolean(), z.null()]);

/** The JSON form of one typed argument (`typedValuesToJson`). */
const TypedArg = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('i32'), value: Int32 }),
  z.strictObject({ type: z.literal('i64'), value: Decimal64 }),
  z.strictObject({ type: z.enum(['f32', 'f64']), value: z.number() }),
  z.strictObject({ type: z.literal('bytes'), value: Base64 }),
  z.strictObject({ type: z.literal('string'), value: Text(1024 * 1024) }),
]);

const HeaderSchema = z.strictObject({
  kind: z.literal('header'),
  format: z.literal('forgeone-trace'),
  version: z.literal(1),
  module: z.string().regex(/^[0-9a-f]{64}$/, 'expected the module SHA-256 in lowercase hex'),
  entry: Text(1024),
  args: z.array(TypedArg).max(1024),
  containerId: Text(256),
  recordedAt: z.number().nonnegative(),
});

const Write = z
  .strictObject({ ptr: z.number().int().min(0).max(U32_MAX), bytes: Base64 })
  .refine((write) => typeof write.bytes === 'string' && write.ptr + base64Length(write.bytes) <= 2 ** 32, {
    message: 'the write runs past the end of a 32-bit memory',
    path: ['bytes'],
  });

const EventSchema = z
  .strictObject({
    kind: z.literal('call'),
    seq: z.number().int().min(1),
    syscall: z
      .string()
      .max(256)
      .regex(/^[a-z][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, 'expected a syscall name such as wasi.fd_write'),
    args: z.record(Text(256), Scalar).refine((args) => Object.keys(args).length <= 64, 'over 64 arguments'),
    params: z
      .array(z.union([WasmNumber, Decimal64]))
      .max(64)
      .optional(),
    action: z.enum(decisionActions),
    executed: z.boolean(),
    reasons: z
      .array(
        z.strictObject({
          policy: Text(1024),
          rule: Text(1024).optional(),
          message: Text(64 * 1024),
          scores: z.record(Text(256), z.number()).optional(),
        }),
      )
      .max(256),
    result: z.union([WasmNumber, Decimal64, z.null()]),
    durationNs: z.number().int().min(-1),
    time: z.number().nonnegative(),
    writes: z.array(Write).max(traceFileLimits.maxWritesPerCall).optional(),
    outcome: z.enum(['exit', 'fault', 'limit']).optional(),
  })
  // What the gate records always holds together; a trace where it does not was made up or edited.
  .superRefine((event, ctx) => {
    const fail = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (!event.executed && (event.writes?.length ?? 0) > 0)
      fail('writes', 'a call that did not execute wrote nothing into memory');
    if (event.action === 'allow' && !event.executed && event.outcome === undefined)
      fail('executed', 'an allowed call executes');
    if (event.outcome === 'limit' && event.executed)
      fail('outcome', 'a call stopped by a limit did not execute');
    if (
      event.outcome === 'exit' &&
      (typeof event.result !== 'number' || event.result < 0 || event.result > U32_MAX)
    )
      fail('result', 'an exit records its exit code (0 to 2^32-1)');
  });

const EndSchema = z.strictObject({
  kind: z.literal('end'),
  status: z.enum(['returned', 'exited', 'trapped']),
  exitCode: z.number().int().nullable(),
  code: z
    .string()
    .max(128)
    .regex(/^FORGE_[A-Z0-9_]+$/, 'expected a FORGE_* error code')
    .optional(),
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

/** One line, whatever the message held: it is printed as `CODE: message`. */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').slice(0, 300);

function invalid(line: number, message: string, field?: string): never {
  throw new ForgeError(
    'FORGE_TRACE_INVALID',
    `trace line ${line}: ${field === undefined ? '' : `${field}: `}${oneLine(message)}`,
    { details: { line, ...(field === undefined ? {} : { field }) } },
  );
}

/** The first issue of a failed parse, as the field it names and what is wrong with it. */
function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  return { field: issue?.path.map(String).join('.') || '(record)', message: issue?.message ?? 'invalid' };
}

/**
 * Parses a JSONL trace, every field checked with its bounds (see {@link traceFileLimits}): the
 * header, calls numbered 1, 2, 3... and at most one end record. FORGE_TRACE_INVALID names the
 * first bad line and field. Blank lines are refused except for the final newline.
 */
export function parseTraceJsonl(text: string): RecordedTrace {
  if (text.length > traceFileLimits.maxFileBytes)
    invalid(1, `the trace is over ${traceFileLimits.maxFileBytes} bytes`);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) invalid(1, 'the trace is empty');
  if (lines.length > traceFileLimits.maxEvents + 2)
    invalid(traceFileLimits.maxEvents + 3, `a trace holds at most ${traceFileLimits.maxEvents} calls`);
  let header: TraceFileHeader | undefined;
  let end: TraceFileEnd | undefined;
  const events: TraceEvent[] = [];
  for (const [index, raw] of lines.entries()) {
    const number = index + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length > traceFileLimits.maxLineChars)
      invalid(number, `the line is over ${traceFileLimits.maxLineChars} characters`);
    if (line.trim() === '') invalid(number, 'blank line');
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      invalid(number, 'not JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      invalid(number, 'a record is a JSON object');
    const kind = (value as { kind?: unknown }).kind;
    if (index === 0) {
      if (kind !== 'header') invalid(number, 'the first line is not a forgeone trace header', 'kind');
      const parsed = HeaderSchema.safeParse(value);
      if (!parsed.success) {
        const { field, message } = firstIssue(parsed.error);
        invalid(number, `bad trace header (${message})`, field);
      }
      const { kind: _kind, ...rest } = parsed.data;
      header = rest;
      continue;
    }
    if (end !== undefined) invalid(number, 'records after the end record');
    if (kind === 'end') {
      const parsed = EndSchema.safeParse(value);
      if (!parsed.success) {
        const { field, message } = firstIssue(parsed.error);
        invalid(number, `bad end record (${message})`, field);
      }
      const { kind: _kind, code, droppedSeqs, ...rest } = parsed.data;
      end = {
        ...rest,
        ...(code === undefined ? {} : { code }),
        ...(droppedSeqs === undefined ? {} : { droppedSeqs }),
      };
      continue;
    }
    if (kind !== 'call') invalid(number, 'expected a call or end record', 'kind');
    const parsed = EventSchema.safeParse(value);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error);
      invalid(number, `bad call record (${message})`, field);
    }
    const { kind: _kind, ...event } = parsed.data;
    if (event.seq !== events.length + 1)
      invalid(number, `expected seq ${events.length + 1}, found ${event.seq}`, 'seq');
    events.push(event as TraceEvent);
  }
  return { header: header!, events, end };
}
