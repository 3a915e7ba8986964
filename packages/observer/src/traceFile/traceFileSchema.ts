import { z } from 'zod';
import { decisionActions, type JsonValue } from '@forgeone/common';
import type { TraceEvent } from '../traceEvent';
import type { SeqRange } from '../traceSummary';

/** What a trace file says about the run it recorded (its first line). */
export interface TraceFileHeader {
  readonly format: 'forgeone-trace';
  /**
   * The file format: 2 (hash-chained, what `traceToJsonl` writes) or 1 (an older file without a chain;
   * it is read, but `verifyTrace` cannot vouch for it).
   */
  readonly version: 1 | 2;
  /** SHA-256 of the module that ran: replay refuses another one. */
  readonly module: string;
  /** Export that was called and its arguments (JSON form of the typed values). */
  readonly entry: string;
  readonly args: readonly JsonValue[];
  readonly containerId: string;
  /** Wall-clock time the run started (ms since the epoch). */
  readonly recordedAt: number;
  /** What ran and under which grant (absent in traces written before it was recorded). */
  readonly run?: TraceRunContext;
}

/**
 * What ran, for whom and within which bounds: the part of a trace header a reader (or a summary)
 * needs to tell what the run was allowed to do. Written by the kernel from what it verified.
 */
export interface TraceRunContext {
  /** The verified package, when the run was of one (a development module has none). */
  readonly package?: {
    readonly name: string;
    readonly version: string;
    /** The keys whose signatures verified, by key id and algorithm. */
    readonly signers: ReadonlyArray<{ readonly keyId: string; readonly algorithm: string }>;
  };
  /** Who the calls were decided for. */
  readonly identity: {
    readonly subject: string;
    readonly tenant?: string;
    readonly roles?: readonly string[];
  };
  /**
   * What the run was granted: a package's manifest capabilities, else the allow-list given
   * (`--allow`); empty when a policy document or decision point decided alone.
   */
  readonly capabilities: readonly string[];
  /** Who decided: `allow-list`, `policy:<name>` or `decision-point`, in which enforcement mode. */
  readonly decider: string;
  readonly mode: string;
  readonly isolation: 'inline' | 'worker';
  /** The host limits the run had (memory pages, deadline ms, rate, fuel...), by config's names. */
  readonly limits: Readonly<Record<string, number>>;
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

/** A signature over a trace's last hash, by a kernel key (the optional last line of a file). */
export interface TraceSignature {
  readonly algorithm: string;
  /** Key id (`keyId(algorithm, publicKey)` of @forgeone/crypto) of the key that signed. */
  readonly keyId: string;
  /** The signature, base64. */
  readonly signature: string;
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

const Name = Text(256);

const RunContextSchema = z.strictObject({
  package: z
    .strictObject({
      name: Name,
      version: Text(128),
      signers: z
        .array(
          z.strictObject({
            keyId: z.string().regex(/^[0-9a-f]{64}$/, 'expected a key id (64 hex digits)'),
            algorithm: z.string().regex(/^[a-z0-9-]{1,32}$/, 'expected an algorithm name such as ed25519'),
          }),
        )
        .max(64),
    })
    .optional(),
  identity: z.strictObject({
    subject: Name,
    tenant: Name.optional(),
    roles: z.array(Name).max(64).optional(),
  }),
  capabilities: z.array(Text(1024)).max(1024),
  decider: Name,
  mode: z.string().regex(/^[a-z-]{1,32}$/, 'expected an enforcement mode such as enforce'),
  isolation: z.enum(['inline', 'worker']),
  limits: z
    .record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/, 'expected a limit name'), z.number().finite())
    .refine((limits) => Object.keys(limits).length <= 64, 'over 64 limits'),
});

export const HeaderSchema = z.strictObject({
  kind: z.literal('header'),
  format: z.literal('forgeone-trace'),
  version: z.union([z.literal(1), z.literal(2)]),
  module: z.string().regex(/^[0-9a-f]{64}$/, 'expected the module SHA-256 in lowercase hex'),
  entry: Text(1024),
  args: z.array(TypedArg).max(1024),
  containerId: Text(256),
  recordedAt: z.number().nonnegative(),
  run: RunContextSchema.optional(),
});

const Write = z
  .strictObject({ ptr: z.number().int().min(0).max(U32_MAX), bytes: Base64 })
  .refine((write) => typeof write.bytes === 'string' && write.ptr + base64Length(write.bytes) <= 2 ** 32, {
    message: 'the write runs past the end of a 32-bit memory',
    path: ['bytes'],
  });

export const EventSchema = z
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

export const EndSchema = z.strictObject({
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

export const SignatureSchema = z.strictObject({
  kind: z.literal('signature'),
  algorithm: z.string().regex(/^[a-z0-9-]{1,32}$/, 'expected an algorithm name such as ed25519'),
  keyId: z.string().regex(/^[0-9a-f]{64}$/, 'expected a key id (64 hex digits)'),
  // The largest signature of the registered algorithms (SLH-DSA-SHA2-128f, 17,088 bytes) with room.
  signature: Base64.max(32 * 1024),
});
