import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecisionReason } from '@forgeone/common';
import type { TraceEvent } from '@forgeone/observer';
import { TailEncoder, decodeTail } from '../internal/traceTailCodec';

// The worker's shared trace tail is what a main thread reads of a guest it had to stop: each event
// must come back exactly as the recorder built it, and a region cut anywhere must give only whole
// events (those before the cut), never a made-up one.

const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String());
const argValue = fc.oneof(
  text,
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.boolean(),
  fc.constant(null),
);
const sharedReasons: DecisionReason[][] = [
  [{ policy: 'allow-list', message: 'wasi.* is allowed' }],
  [{ policy: 'default', rule: 'r1', message: 'denied ✗ by default', scores: { trust: 0.5 } }],
];
const eventAt = (seq: number) =>
  fc.record(
    {
      seq: fc.constant(seq),
      syscall: fc.constantFrom('wasi.fd_write', 'wasi.path_open', 'forge.log', 'wasi.σ'),
      args: fc.dictionary(fc.string({ maxLength: 8 }), argValue, { maxKeys: 4 }),
      params: fc.array(fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })), {
        maxLength: 9,
      }),
      action: fc.constantFrom('allow', 'deny', 'quarantine', 'ask') as fc.Arbitrary<TraceEvent['action']>,
      executed: fc.boolean(),
      reasons: fc.constantFrom(...sharedReasons),
      result: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
      durationNs: fc.oneof(fc.constant(-1), fc.nat()),
      time: fc.double({ min: 0, max: 2e12, noNaN: true }),
      writes: fc.array(fc.record({ ptr: fc.nat(), bytes: fc.base64String() }), { maxLength: 3 }),
      outcome: fc.constantFrom('exit', 'fault', 'limit') as fc.Arbitrary<TraceEvent['outcome']>,
    },
    {
      requiredKeys: [
        'seq',
        'syscall',
        'args',
        'action',
        'executed',
        'reasons',
        'result',
        'durationNs',
        'time',
      ],
    },
  ) as fc.Arbitrary<TraceEvent>;
const events = fc
  .integer({ min: 0, max: 12 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => eventAt(i + 1))));

describe('trace tail codec', () => {
  it('gives back every event exactly, and a cut region only the events written whole (property)', () => {
    fc.assert(
      fc.property(events, fc.nat(), (list, cutAt) => {
        const bytes = new Uint8Array(64 * 1024);
        const encoder = new TailEncoder(bytes);
        const ends: number[] = [];
        for (const event of list) {
          expect(encoder.write(event)).toBe(true);
          ends.push(encoder.at);
        }
        const decoded = decodeTail(bytes, encoder.at);
        expect(decoded).toEqual(list);
        // Keys in the recorder's order: a trace file written from them reads the same.
        decoded.forEach((event, i) => expect(Object.keys(event)).toEqual(Object.keys(list[i]!)));
        const cut = encoder.at === 0 ? 0 : cutAt % (encoder.at + 1);
        const whole = ends.filter((end) => end <= cut).length;
        expect(decodeTail(bytes, cut)).toEqual(list.slice(0, whole));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses an event that does not fit, whole, and goes on with the next that does', () => {
    const bytes = new Uint8Array(320);
    const encoder = new TailEncoder(bytes);
    const small: TraceEvent = {
      seq: 1,
      syscall: 'wasi.fd_close',
      args: { fd: 3 },
      action: 'allow',
      executed: true,
      reasons: sharedReasons[0]!,
      result: 0,
      durationNs: -1,
      time: 5,
    };
    const big: TraceEvent = { ...small, seq: 2, args: { path: 'x'.repeat(500) } };
    expect(encoder.write(small)).toBe(true);
    const at = encoder.at;
    expect(encoder.write(big)).toBe(false);
    expect(encoder.at).toBe(at);
    // A definition made inside the refused record (its arg key) must be written again.
    const third: TraceEvent = { ...small, seq: 3, args: { path: 'a' } };
    expect(encoder.write(third)).toBe(true);
    expect(decodeTail(bytes, encoder.at)).toEqual([small, third]);
  });

  it('reads nothing made up from bytes that are not a tail', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (garbage) => {
        for (const event of decodeTail(garbage, garbage.length)) {
          expect(typeof event.syscall).toBe('string');
        }
      }),
      { numRuns: 200 },
    );
  });
});
