import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventSchema } from '../traceFile/traceFileSchema';
import { fastCallRecord } from '../traceFile/fastCallRecord';

const good = {
  kind: 'call',
  seq: 3,
  syscall: 'wasi.fd_read',
  args: { fd: 3, path: '/data/x', bytes: 12, ok: true, none: null },
  params: [3, 32, 1, '40', 1.5],
  action: 'allow',
  executed: true,
  reasons: [{ policy: 'allow-list', rule: 'wasi.*', message: 'ok' }],
  result: 0,
  durationNs: -1,
  time: 2,
  writes: [{ ptr: 40, bytes: 'AQAAAA==' }],
};

/** Values that sit on the edges the schema draws. */
const edge = fc.oneof(
  fc.constantFrom(
    null,
    true,
    0,
    -1,
    -2,
    1,
    1.5,
    -0,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 53,
    Number.MAX_SAFE_INTEGER + 2,
    Infinity,
    -Infinity,
    '',
    '1',
    '-0',
    '18446744073709551615',
    '18446744073709551616',
    '-9223372036854775809',
    '0x1',
    'AQ==',
    'AQ=',
    'wasi.x',
    'Wasi.x',
    'deny',
    'exit',
    'limit',
    'fault',
    'call',
    [],
    {},
    [{ ptr: 4294967294, bytes: 'AQAAAA==' }],
    [{ ptr: 0, bytes: 'AQ==', x: 1 }],
    [{ policy: 'p', message: 'm', scores: { a: 1 } }],
    [{ policy: 'p' }],
    { k: { nested: 1 } },
    'x'.repeat(300),
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

describe('fastCallRecord', () => {
  it('accepts a plain call record exactly as the schema does', () => {
    const { kind: _kind, ...expected } = good;
    expect(fastCallRecord(structuredClone(good))).toEqual(expected);
  });

  it('accepts only what the schema accepts, unchanged (property)', () => {
    // Every place a value sits in a record, and places that should not exist.
    const paths: string[][] = [
      ...Object.keys(good).map((key) => [key]),
      ['outcome'],
      ['extra'],
      ['args', 'fd'],
      ['args', 'path'],
      ['args', 'new'],
      ['params', '0'],
      ['params', '3'],
      ['params', '9'],
      ['reasons', '0', 'policy'],
      ['reasons', '0', 'rule'],
      ['reasons', '0', 'message'],
      ['reasons', '0', 'scores'],
      ['reasons', '0', 'extra'],
      ['writes', '0', 'ptr'],
      ['writes', '0', 'bytes'],
      ['writes', '0', 'extra'],
    ];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...paths), edge), { minLength: 1, maxLength: 3 }),
        (edits) => {
          const record = structuredClone(good) as Record<string, unknown>;
          for (const [path, value] of edits) {
            let target: Record<string, unknown> | undefined = record;
            for (const key of path.slice(0, -1)) {
              const next: unknown = target[key];
              // A path through something no longer there: this edit does not apply.
              target =
                typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : undefined;
              if (target === undefined) break;
            }
            // A copy: the generator hands out the same constant objects to every run.
            if (target !== undefined) target[path.at(-1)!] = structuredClone(value);
          }
          const fast = fastCallRecord(structuredClone(record));
          if (fast === undefined) return;
          const slow = EventSchema.safeParse(record);
          expect(slow.success, JSON.stringify(record)).toBe(true);
          const { kind: _kind, ...expected } = slow.data!;
          expect(fast).toEqual(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('leaves to the schema every record the schema refuses, at each of its bounds and rules', () => {
    const variants: Record<string, unknown>[] = [
      { ...good, outcome: 'limit' },
      { ...good, outcome: 'exit', result: -1 },
      { ...good, executed: false },
      { ...good, writes: [], executed: false },
      { ...good, args: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`a${i}`, i])) },
      { ...good, params: Array.from({ length: 65 }, () => 0) },
      { ...good, reasons: Array.from({ length: 257 }, () => ({ policy: 'p', message: 'm' })) },
      { ...good, writes: [{ ptr: 2 ** 32 - 3, bytes: 'AQAAAA==' }] },
      { ...good, syscall: 'a'.repeat(250) + '.b'.repeat(4) },
    ];
    for (const variant of variants) {
      expect(EventSchema.safeParse(variant).success, JSON.stringify(variant).slice(0, 120)).toBe(false);
      expect(fastCallRecord(structuredClone(variant))).toBeUndefined();
    }
  });
});
