import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TraceRecorder, type TraceEvent } from '../index';

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
