import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TraceRecorder, type TraceBatch, type TraceEvent } from '@forgeone/observer';
import {
  TraceTailWriter,
  createTraceTail,
  decodeTraceBatch,
  encodeTraceBatch,
  readTraceTail,
} from '../traceTail';

// A worker posts its trace in batches; a batch is the tail's bytes (the events written into the
// tail since the last post, plus the newest) whenever the tail holds its start, else it is encoded
// whole. Either way the main thread must read exactly the events the recorder built, in order.

const reasons = [{ policy: 'allow-list', message: 'wasi.* is allowed' }];
const eventAt = (seq: number, shape: number): TraceEvent => ({
  seq,
  syscall: ['wasi.fd_write', 'wasi.path_open', 'wasi.clock_time_get'][shape % 3]!,
  args: shape % 2 === 0 ? { fd: shape, path: `/file-${shape}.txt` } : { clockId: BigInt(shape) },
  action: 'allow',
  executed: true,
  reasons,
  result: shape % 5,
  durationNs: shape % 4 === 0 ? 1_000 + shape : -1,
  time: 1_700_000_000_000 + seq,
});

/** Each step records `calls` events (a burst of hot calls when many), then runs afterCall, and flushes when `flush`. */
const steps = fc.array(
  fc.record({ calls: fc.integer({ min: 0, max: 40 }), shape: fc.nat(20), flush: fc.boolean() }),
  { maxLength: 60 },
);

function run(plan: readonly { calls: number; shape: number; flush: boolean }[]) {
  const buffer = createTraceTail();
  const tail = new TraceTailWriter(buffer);
  tail.reset();
  const posted: TraceEvent[] = [];
  const recorder = new TraceRecorder({
    onLazyBatch: (batch: TraceBatch) => {
      const expected = batch.events();
      const bytes = tail.batchBytes(batch);
      const got = decodeTraceBatch(bytes);
      // The same events as encoding the batch whole.
      expect(got).toEqual(decodeTraceBatch(encodeTraceBatch(expected)));
      posted.push(...got);
      const lastSeq = batch.lastSeq;
      batch.release();
      tail.posted(lastSeq);
    },
  });
  const built: TraceEvent[] = [];
  for (const step of plan) {
    for (let i = 0; i < step.calls; i += 1) {
      const event = eventAt(recorder.nextSeq(), step.shape + i);
      recorder.record(event);
      built.push(event);
    }
    tail.afterCall(recorder);
    // What the main thread would read after a terminate now: whole events, in order, after the posted ones.
    const tailEvents = readTraceTail(buffer);
    expect(tailEvents).toEqual(built.slice(posted.length, posted.length + tailEvents.length));
    if (step.flush) recorder.flush();
  }
  recorder.flush();
  return { posted, built };
}

describe('worker trace tail batches', () => {
  it('posts every event exactly once, in order, whether a batch is the tail or encoded whole (property)', () => {
    fc.assert(
      fc.property(steps, (plan) => {
        const { posted, built } = run(plan);
        expect(posted).toEqual(built);
      }),
      { numRuns: 60 },
    );
  });

  it('makes a batch from the tail when every call since the last post was written into it', () => {
    const plan = Array.from({ length: 30 }, (_, i) => ({ calls: 1, shape: i, flush: i % 10 === 9 }));
    const { posted, built } = run(plan);
    expect(posted).toEqual(built);
  });

  it('encodes a batch whole when the tail skipped a burst of calls', () => {
    // 40 calls between two afterCalls: more than the tail takes at once, so it holds none of them.
    const { posted, built } = run([
      { calls: 1, shape: 1, flush: false },
      { calls: 40, shape: 2, flush: true },
      { calls: 1, shape: 3, flush: true },
    ]);
    expect(posted).toEqual(built);
  });

  it('keeps a whole default batch of WASI calls in the tail, so a terminate before the post loses none', () => {
    // The bench's path_open (the largest call of a WASI file loop): decoded args, nine params
    // (two i64), the fd it wrote back. 1,023 of them wait for the 1,024th, which posts the batch.
    const openAt = (seq: number): TraceEvent => ({
      seq,
      syscall: 'wasi.path_open',
      args: { fd: 3, path: '/data/input.txt', oflags: 0, fdflags: 0, read: true, write: false },
      params: [3, 0, 0, 9, 0, 2n, 0n, 0, 24],
      writes: [{ ptr: 24, bytes: 'BAAAAA==' }],
      action: 'allow',
      executed: true,
      reasons,
      result: 0,
      durationNs: -1,
      time: 1_700_000_000_000 + seq,
    });
    const buffer = createTraceTail();
    const tail = new TraceTailWriter(buffer);
    tail.reset();
    const recorder = new TraceRecorder({ onLazyBatch: (batch) => batch.release() });
    const built: TraceEvent[] = [];
    for (let i = 0; i < 1023; i += 1) {
      const event = openAt(recorder.nextSeq());
      recorder.record(event);
      built.push(event);
      tail.afterCall(recorder);
    }
    expect(readTraceTail(buffer)).toEqual(built);
  });
});
