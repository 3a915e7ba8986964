import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryStore } from '@forgeone/common';
import { TraceBatch, TraceRecorder, TraceSink, TraceStore, type TraceEvent } from '../index';
import { TraceRing } from '../internal/traceRing';
import { call, calls, header } from '../store/__tests__/storeFixtures';

const allow = { action: 'allow' as const, reasons: [{ policy: 'allow-list', message: 'ok' }] };
const deny = { action: 'deny' as const, reasons: [{ policy: 'default', message: 'no' }] };
const decoder = { decodeArgs: (params: readonly (number | bigint)[]) => ({ fd: Number(params[0]) }) };

const step = fc.oneof(
  fc.record({
    kind: fc.constant('call' as const),
    denied: fc.boolean(),
    params: fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { maxLength: 4 }),
    result: fc.oneof(fc.integer(), fc.bigInt(), fc.constant(undefined)),
    write: fc.option(fc.uint8Array({ minLength: 1, maxLength: 24 })),
    time: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({ kind: fc.constant('templated' as const), param: fc.nat(1000), result: fc.integer() }),
  fc.record({ kind: fc.constant('whole' as const) }),
  fc.record({ kind: fc.constant('flush' as const) }),
  fc.record({ kind: fc.constant('release' as const), index: fc.nat() }),
);

describe('TraceBatch (batches handed over unbuilt)', () => {
  it('reads back the events a built batch had, however long it is kept and however the ring moved on (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 64 }),
        fc.array(step, { maxLength: 600 }),
        (capacity, batchSize, steps) => {
          const built: (readonly TraceEvent[])[] = [];
          const lazy: TraceBatch[] = [];
          const released = new Set<number>();
          const ring = new TraceRing({
            capacity,
            batchSize,
            onBatch: (events) => built.push(events),
            onLazyBatch: (batch) => lazy.push(batch),
          });
          const memory = new Uint8Array(64);
          const forgeLog = ring.syscallId('forge.log');
          const template = ring.template(ring.syscallId('forge.input_len'), allow, decoder, 1);
          for (const s of steps) {
            if (s.kind === 'call') {
              if (s.write !== null) {
                memory.set(s.write, 8);
                ring.captureWrite(8, s.write.length, memory);
              }
              ring.stamp(s.time);
              ring.recordCall(
                forgeLog,
                s.denied ? deny : allow,
                !s.denied,
                decoder,
                true,
                s.params,
                s.result,
                5,
              );
            } else if (s.kind === 'templated') ring.recordTemplated(template, [s.param], s.result);
            else if (s.kind === 'whole') ring.record({ ...call(ring.nextSeq()), seq: ring.nextSeq() });
            else if (s.kind === 'flush') ring.flush();
            else if (lazy.length > 0) {
              const index = s.index % lazy.length;
              lazy[index]!.release();
              released.add(index);
            }
          }
          ring.flush();
          expect(lazy.length).toBe(built.length);
          lazy.forEach((batch, i) => {
            const events = built[i]!;
            expect(batch.firstSeq).toBe(events[0]!.seq);
            expect(batch.lastSeq).toBe(events.at(-1)!.seq);
            expect(batch.size).toBe(events.length);
            // A released batch reads nothing; the others read exactly what was built then.
            expect(batch.events()).toEqual(released.has(i) ? [] : events);
          });
          // Every event was handed over once, in order.
          const seqs = built.flatMap((events) => events.map((e) => e.seq));
          expect(seqs).toEqual(Array.from({ length: ring.nextSeq() - 1 }, (_, i) => i + 1));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads a sub-range by seq, and one made of built events is marked built', () => {
    const batch = TraceBatch.of(calls(10, 20));
    expect(batch.built).toBe(true);
    expect(batch.events(12, 14).map((e) => e.seq)).toEqual([12, 13, 14]);
    expect(batch.size).toBe(11);
    const held: TraceBatch[] = [];
    const recorder = new TraceRecorder({ batchSize: 4, onLazyBatch: (b) => held.push(b) });
    for (let seq = 1; seq <= 8; seq += 1) recorder.record(call(seq));
    expect(held.map((b) => [b.firstSeq, b.lastSeq, b.built])).toEqual([
      [1, 4, false],
      [5, 8, false],
    ]);
    expect(held[1]!.events(6, 7).map((e) => e.seq)).toEqual([6, 7]);
  });
  it('a shared handle keeps the events readable after the other handle is released', () => {
    const held: TraceBatch[] = [];
    const recorder = new TraceRecorder({ capacity: 8, batchSize: 4, onLazyBatch: (b) => held.push(b) });
    for (let seq = 1; seq <= 4; seq += 1) recorder.record(call(seq));
    const first = held[0]!;
    const second = first.share();
    first.release();
    // The ring moves far on: it may reuse only what no handle reads.
    for (let seq = 5; seq <= 200; seq += 1) recorder.record(call(seq));
    expect(first.events()).toEqual([]);
    expect(second.events()).toEqual(calls(1, 4));
    second.release();
  });
});

describe('TraceSink with unbuilt batches', () => {
  it('stores what the recorder recorded, builds nothing until it writes, and bounds its queue (lost counted)', async () => {
    const store = new MemoryStore();
    const sink = await TraceSink.open(store, { header: header(), maxPending: 3000 });
    const recorder = new TraceRecorder({ capacity: 512, onLazyBatch: (batch) => sink.add(batch) });
    for (let seq = 1; seq <= 5000; seq += 1) recorder.record(call(seq));
    recorder.flush();
    // Taken, not written: the queue holds 3,000; the rest is lost with its range.
    expect(sink.pending).toBe(3000);
    expect(sink.lost).toBe(2000);
    await sink.close({ status: 'exited', exitCode: 0 });
    const reader = new TraceStore(store);
    const kept: TraceEvent[] = [];
    for await (const event of reader.query({ containerId: 'ctr_test', limit: 10_000 })) kept.push(event);
    expect(kept).toEqual(calls(1, 3000));
    const info = await reader.info('ctr_test');
    expect(info.lost).toEqual({ events: 2000, ranges: [[3001, 5000]] });
    expect(info.acknowledgedSeq).toBe(5000);
  });

  it('counts a seq a batch skipped over (events a worker never sent) as lost, never a silent hole', async () => {
    const store = new MemoryStore();
    const sink = await TraceSink.open(store, { header: header() });
    sink.add(calls(1, 10));
    sink.add(TraceBatch.of(calls(15, 20)));
    const recorder = new TraceRecorder({ onLazyBatch: (batch) => sink.add(batch) });
    recorder.skipTo(31);
    for (let seq = 31; seq <= 40; seq += 1) recorder.record(call(seq));
    recorder.flush();
    await sink.close({ status: 'exited', exitCode: 0 });
    const info = await new TraceStore(store).info('ctr_test');
    expect(info.lost).toEqual({
      events: 14,
      ranges: [
        [11, 14],
        [21, 30],
      ],
    });
    expect(info.acknowledgedSeq).toBe(40);
  });
});
