import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isForgeError } from '@forgeone/common';
import { parseTraceJsonl, traceToJsonl, type RecordedTrace } from '../index';

const valid: RecordedTrace = {
  header: {
    format: 'forgeone-trace',
    version: 2,
    module: 'b'.repeat(64),
    entry: '_start',
    args: [{ type: 'i64', value: '-5' }],
    containerId: 'ctr_fuzz',
    recordedAt: 1_700_000_000_000,
  },
  events: [
    {
      seq: 1,
      syscall: 'wasi.fd_read',
      args: { fd: 3 },
      params: [3, 32, 1, '40'],
      action: 'allow',
      executed: true,
      reasons: [{ policy: 'allow-list', rule: 'wasi.*', message: 'ok' }],
      result: 0,
      durationNs: -1,
      time: 2,
      writes: [{ ptr: 40, bytes: 'AQAAAA==' }],
    },
    {
      seq: 2,
      syscall: 'wasi.proc_exit',
      args: { code: 3 },
      params: [3],
      action: 'allow',
      executed: true,
      reasons: [],
      result: 3,
      durationNs: 10,
      time: 3,
      outcome: 'exit',
    },
  ],
  end: { status: 'exited', exitCode: 3, dropped: 0 },
};
const lines = traceToJsonl(valid).trim().split('\n');
const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);

/** Parses `text`; a failure must be a FORGE_TRACE_INVALID or _TAMPERED ForgeError naming a line, nothing else. */
function parseOrCode(text: string): RecordedTrace | undefined {
  try {
    return parseTraceJsonl(text);
  } catch (error) {
    expect(isForgeError(error), String(error)).toBe(true);
    // Malformed, or well-formed but off the hash chain: both name the first bad line.
    expect(error).toMatchObject({
      code: expect.stringMatching(/^FORGE_TRACE_(INVALID|TAMPERED)$/),
      message: expect.stringMatching(/^trace line \d+: /),
    });
    expect((error as Error).message).not.toContain('\n');
    return undefined;
  }
}

/**
 * Any JSON value as text, including the ones a careless reader trips on: null, numbers past the
 * safe range or past a double (1e400 parses to Infinity), numbers as strings, and nesting deep
 * enough to overflow a recursive checker.
 */
const anyJsonText = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .constantFrom(null, -1, 2 ** 32, 2 ** 32 + 256, 2 ** 53 + 1, 1.5, '1', '0x10', '', 'AQ=', '12abc', [], {})
    .map((v) => JSON.stringify(v)),
  fc.constantFrom('1e400', '-1e400', '-0', '123456789012345678901234567890'),
  fc
    .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":'))
    .map(([depth, open]) => open.repeat(depth) + '1' + (open === '[' ? ']' : '}').repeat(depth)),
);
const RAW = '__raw_value__';

/** A path into a record: its field, then maybe an index or key inside it. */
function setAt(record: Record<string, unknown>, field: string, inner: string | undefined, value: unknown) {
  const copy = structuredClone(record);
  const target = copy[field];
  if (inner !== undefined && target !== null && typeof target === 'object') {
    const container = Array.isArray(target) ? target : (target as Record<string, unknown>);
    (container as Record<string, unknown>)[
      Array.isArray(target) ? Number(inner) % Math.max(1, target.length) : inner
    ] = value;
  } else copy[field] = value;
  return copy;
}

describe('trace reader fuzz (property)', () => {
  it('reads the valid trace it mutates', () => {
    expect(parseOrCode(lines.join('\n'))?.events).toHaveLength(2);
  });

  it('a field of any record set to any JSON value: a trace or FORGE_TRACE_INVALID/_TAMPERED, never another error', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: records.length - 1 }),
        fc.string({ maxLength: 12 }),
        fc.option(fc.string({ maxLength: 4 }), { nil: undefined }),
        anyJsonText,
        (which, pick, inner, value) => {
          const record = records[which]!;
          const keys = Object.keys(record);
          const field = keys[pick.length % keys.length]!;
          const mutated = lines.map((line, i) =>
            i === which
              ? JSON.stringify(setAt(record, field, inner, RAW)).replace(`"${RAW}"`, () => value)
              : line,
          );
          const parsed = parseOrCode(mutated.join('\n'));
          // Whatever is accepted is a well-formed trace: replay may rely on it.
          for (const event of parsed?.events ?? []) {
            for (const write of event.writes ?? []) {
              expect(Number.isInteger(write.ptr) && write.ptr >= 0 && write.ptr < 2 ** 32).toBe(true);
              expect(write.ptr + Buffer.from(write.bytes, 'base64').length).toBeLessThanOrEqual(2 ** 32);
            }
            if (typeof event.result === 'string') expect(() => BigInt(event.result as string)).not.toThrow();
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('lines cut, duplicated, dropped, swapped or replaced by garbage: a trace or FORGE_TRACE_INVALID/_TAMPERED', () => {
    const line = fc.oneof(
      fc.constantFrom(...lines),
      fc.string({ maxLength: 40 }),
      anyJsonText,
      fc.constantFrom(...lines).chain((l) => fc.nat({ max: l.length }).map((n) => l.slice(0, n))),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.boolean(), (chosen, trailing) => {
        parseOrCode(chosen.join('\n') + (trailing ? '\n' : ''));
      }),
      { numRuns: 400 },
    );
  });
});
