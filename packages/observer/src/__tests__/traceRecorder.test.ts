import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CallRecorder, DnaTracker, TraceRecorder, droppedSeqRanges, type TraceEvent } from '../index';
import { TraceRing } from '../internal/traceRing';

const event = (seq: number, syscall = 'forge.log', action: TraceEvent['action'] = 'allow'): TraceEvent => ({
  seq,
  syscall,
  args: {},
  action,
  executed: action === 'allow',
  reasons: [],
  result: 0,
  durationNs: 1,
  time: seq,
});

describe('TraceRecorder', () => {
  it('keeps events in order and summarises them per syscall and action', () => {
    const recorder = new TraceRecorder();
    recorder.record(event(1));
    recorder.record(event(2, 'forge.clock_now', 'deny'));
    recorder.record(event(3));
    expect(recorder.events().map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(recorder.summary()).toEqual([
      { syscall: 'forge.log', calls: 2, byAction: { allow: 2 } },
      { syscall: 'forge.clock_now', calls: 1, byAction: { deny: 1 } },
    ]);
  });

  it('refuses out-of-order sequence numbers', () => {
    const recorder = new TraceRecorder();
    recorder.record(event(1));
    expect(() => recorder.record(event(3))).toThrow(/expected seq 2/);
  });

  it('drops the oldest events when full and counts them', () => {
    const recorder = new TraceRecorder({ capacity: 3 });
    for (let seq = 1; seq <= 5; seq += 1) recorder.record(event(seq));
    expect(recorder.events().map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(recorder.dropped).toBe(2);
  });

  it('hands every event to onBatch exactly once, in order, before it could be dropped (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 0, max: 200 }),
        (capacity, batch, count) => {
          const flushed: number[] = [];
          const recorder = new TraceRecorder({
            capacity,
            batchSize: batch,
            onBatch: (events) => flushed.push(...events.map((e) => e.seq)),
          });
          for (let seq = 1; seq <= count; seq += 1) recorder.record(event(seq));
          recorder.flush();
          expect(flushed).toEqual(Array.from({ length: count }, (_, i) => i + 1));
          expect(recorder.dropped).toBe(Math.max(0, count - capacity));
        },
      ),
    );
  });
});

describe('TraceRecorder.append', () => {
  it('takes events recorded elsewhere, counting the ones the other side dropped', () => {
    const mirror = new TraceRecorder({ capacity: 8 });
    const event = (seq: number) => ({
      seq,
      syscall: 'forge.log',
      args: {},
      action: 'allow' as const,
      executed: true,
      reasons: [],
      result: 0,
      durationNs: 1,
      time: seq,
    });
    mirror.append(event(5));
    mirror.append(event(6));
    expect(mirror.events().map((e) => e.seq)).toEqual([5, 6]);
    expect(mirror.dropped).toBe(4);
    expect(() => mirror.append(event(6))).toThrow(/in order/);
  });
});

describe('TraceRing.recordCall (the columnar store under CallRecorder)', () => {
  const allow = { action: 'allow' as const, reasons: [{ policy: 'allow-list', message: 'ok' }] };
  const deny = { action: 'deny' as const, reasons: [{ policy: 'default', message: 'no' }] };
  const decoder = { decodeArgs: (params: readonly (number | bigint)[]) => ({ fd: Number(params[0]) }) };

  /** One call as a test describes it, and the event it must read back as. */
  const callArbitrary = fc.record({
    syscall: fc.constantFrom('forge.log', 'wasi.fd_write', 'wasi.fd_seek'),
    denied: fc.boolean(),
    lazy: fc.boolean(),
    params: fc.array(fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.bigInt()), {
      maxLength: 9,
    }),
    result: fc.oneof(fc.integer(), fc.bigInt(), fc.constant(undefined)),
    durationNs: fc.oneof(fc.constant(-1), fc.integer({ min: -1, max: 10 ** 9 })),
    // Often the same as the call before (times are kept as runs), sometimes not.
    time: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 ** 42 })),
    outcome: fc.constantFrom(undefined, 'exit' as const, 'fault' as const, 'limit' as const),
    writes: fc.array(fc.record({ ptr: fc.nat(200), bytes: fc.uint8Array({ minLength: 0, maxLength: 40 }) }), {
      maxLength: 3,
    }),
    whole: fc.boolean(),
    templated: fc.boolean(),
  });

  it('reads back exactly what was recorded, across chunks and drops, also between calls (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2100 }),
        fc.array(callArbitrary, { maxLength: 60 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        (capacity, calls, repeat, readBetween) => {
          const recorder = new TraceRing({ capacity });
          const templates: number[] = [];
          const expected: TraceEvent[] = [];
          const memory = new Uint8Array(256);
          for (let round = 0; round < repeat; round += 1) {
            for (const call of calls) {
              const seq = recorder.nextSeq();
              const decision = call.denied ? deny : allow;
              const args = call.lazy ? decoder.decodeArgs(call.params) : { tag: call.syscall };
              const writes = call.writes.map(({ ptr, bytes }) => {
                const len = Math.min(bytes.length, memory.length - ptr);
                memory.set(bytes.subarray(0, len), ptr);
                recorder.captureWrite(ptr, len, memory);
                return { ptr, bytes: Buffer.from(bytes.subarray(0, len)).toString('base64') };
              });
              const event: TraceEvent = {
                seq,
                syscall: call.syscall,
                args,
                params: call.params,
                action: decision.action,
                executed: !call.denied,
                reasons: decision.reasons,
                result:
                  call.result === undefined
                    ? null
                    : typeof call.result === 'bigint'
                      ? call.result.toString()
                      : call.result,
                durationNs: call.durationNs,
                time: call.time,
                ...(writes.length > 0 ? { writes } : {}),
                ...(call.outcome === undefined ? {} : { outcome: call.outcome }),
              };
              // A templated call is an allowed, lazily decoded call with a number result and no outcome.
              const templated =
                call.templated &&
                call.durationNs === -1 &&
                !call.denied &&
                call.lazy &&
                typeof call.result === 'number' &&
                call.outcome === undefined;
              if (call.whole) {
                // A whole event drops the writes captured for a call that was never recorded.
                recorder.record(event);
                expected.push(event);
              } else if (templated) {
                recorder.stamp(call.time);
                const id = recorder.syscallId(call.syscall);
                const template = (templates[id] ??= recorder.template(id, allow, decoder));
                recorder.recordTemplated(template, call.params, call.result as number);
                expected.push(event);
              } else {
                recorder.stamp(call.time);
                recorder.recordCall(
                  recorder.syscallId(call.syscall),
                  decision,
                  !call.denied,
                  call.lazy ? decoder : args,
                  call.lazy,
                  call.params,
                  call.result,
                  call.durationNs,
                  call.outcome,
                );
                expected.push(event);
              }
              // Reading mid-chunk (a flush does) must not disturb what is recorded after.
              if (readBetween && expected.length % 7 === 3) {
                expect(recorder.events()).toEqual(expected.slice(Math.max(0, expected.length - capacity)));
              }
            }
          }
          const kept = expected.slice(Math.max(0, expected.length - capacity));
          expect(recorder.events()).toEqual(kept);
          expect(recorder.size).toBe(kept.length);
          expect(recorder.dropped).toBe(expected.length - kept.length);
          const after = kept[Math.floor(kept.length / 2)]?.seq ?? 0;
          expect(recorder.eventsAfter(after)).toEqual(kept.filter((e) => e.seq > after));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('records a templated call alike in the ring and through the general entry point of CallRecorder (property)', () => {
    const callArbitrary = fc.record({
      syscall: fc.constantFrom('forge.input_len', 'wasi.fd_write'),
      params: fc.array(fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.bigInt()), {
        maxLength: 4,
      }),
      result: fc.integer(),
      time: fc.integer({ min: 0, max: 3 }),
      writes: fc.array(fc.record({ ptr: fc.nat(56), bytes: fc.uint8Array({ maxLength: 8 }) }), {
        maxLength: 2,
      }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.array(callArbitrary, { maxLength: 400 }),
        (capacity, calls) => {
          const byArray = new TraceRing({ capacity });
          // The same calls through CallRecorder's general entry point (untimed calls of a reused
          // decision: recorded by template).
          const oneByOne = new TraceRecorder({ capacity });
          const general = new CallRecorder(oneByOne, new DnaTracker('ctr_templated'));
          const syscalls = new Map<string, ReturnType<CallRecorder['syscall']>>();
          const memory = new Uint8Array(64);
          const expected: TraceEvent[] = [];
          const templates = new Map<string, number>();
          for (const call of calls) {
            general.beginCall();
            const writes = call.writes.map(({ ptr, bytes }) => {
              memory.set(bytes, ptr);
              byArray.captureWrite(ptr, bytes.length, memory);
              general.writes?.captureWrite(ptr, bytes.length, memory);
              return { ptr, bytes: Buffer.from(bytes).toString('base64') };
            });
            const seq = byArray.nextSeq();
            byArray.stamp(call.time);
            general.stamp(call.time);
            const id = byArray.syscallId(call.syscall);
            let template = templates.get(call.syscall);
            if (template === undefined) {
              template = byArray.template(id, allow, decoder);
              const syscall = general.syscall(call.syscall, decoder, call.params.length);
              expect(general.hot(syscall, allow)).toBe(template);
              syscalls.set(call.syscall, syscall);
              templates.set(call.syscall, template);
            }
            byArray.recordTemplated(template, call.params, call.result);
            const syscall = syscalls.get(call.syscall);
            if (syscall === undefined) throw new Error('no syscall');
            general.record({
              syscall,
              decision: allow,
              executed: true,
              args: undefined,
              params: call.params,
              result: call.result,
              durationNs: -1,
              outcome: undefined,
            });
            expected.push({
              seq,
              syscall: call.syscall,
              args: decoder.decodeArgs(call.params),
              params: call.params,
              action: 'allow',
              executed: true,
              reasons: allow.reasons,
              result: call.result,
              durationNs: -1,
              time: call.time,
              ...(writes.length > 0 ? { writes } : {}),
            });
          }
          const kept = expected.slice(Math.max(0, expected.length - capacity));
          expect(byArray.events()).toEqual(kept);
          expect(oneByOne.events()).toEqual(kept);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('refuses a template for a syscall id it never gave', () => {
    const recorder = new TraceRing();
    expect(() => recorder.template(0, allow, decoder)).toThrow(/unknown syscall id/);
  });

  it('copies written bytes at once: later changes to guest memory do not reach the trace', () => {
    const recorder = new TraceRing();
    const memory = new Uint8Array([1, 2, 3, 4]);
    recorder.captureWrite(0, 4, memory);
    recorder.recordCall(recorder.syscallId('forge.log'), allow, true, {}, false, [], 0, 1);
    memory.fill(9);
    expect(recorder.events()[0]!.writes).toEqual([
      { ptr: 0, bytes: Buffer.from([1, 2, 3, 4]).toString('base64') },
    ]);
  });

  it('eventsAfter follows the gaps appended events leave', () => {
    const recorder = new TraceRing({ capacity: 8 });
    recorder.recordCall(recorder.syscallId('forge.log'), allow, true, {}, false, [], 0, 1);
    recorder.append(event(4));
    recorder.append(event(5));
    expect(recorder.eventsAfter(1).map((e) => e.seq)).toEqual([4, 5]);
    expect(recorder.eventsAfter(0).map((e) => e.seq)).toEqual([1, 4, 5]);
  });
});

describe('droppedSeqRanges', () => {
  it('names every sequence number up to the last that is not held, as ranges (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 200 })),
        fc.integer({ min: 0, max: 50 }),
        (seqs, extra) => {
          const held = [...seqs].sort((a, b) => a - b);
          const last = (held.at(-1) ?? 0) + extra;
          const dropped = droppedSeqRanges(
            held.map((seq) => ({ seq })),
            last,
          ).flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i));
          const all = [...held, ...dropped].sort((a, b) => a - b);
          expect(all).toEqual(Array.from({ length: last }, (_, i) => i + 1));
        },
      ),
    );
  });

  it('counts the calls another recorder saw but never sent as dropped (skipTo)', () => {
    const recorder = new TraceRecorder();
    recorder.skipTo(4);
    expect(recorder.nextSeq()).toBe(4);
    expect(recorder.dropped).toBe(3);
    expect(droppedSeqRanges(recorder.events(), recorder.size + recorder.dropped)).toEqual([[1, 3]]);
  });
});
