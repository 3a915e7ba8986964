import { Worker } from 'node:worker_threads';

/** How often the ticker thread refreshes the coarse wall clock. */
export const COARSE_CLOCK_TICK_MS = 1;

// The ticker: a thread that writes Date.now() into shared memory every tick. Unref'd, so it never
// keeps a process alive; CommonJS because an eval'd worker is.
const TICKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const time = new Float64Array(workerData.buffer);
time[0] = Date.now();
setInterval(() => { time[0] = Date.now(); }, workerData.tickMs);
`;

// The word the ticker writes: NaN until its first tick (a thread takes some milliseconds to start)
// and after it stopped; readers then read the wall clock instead.
let shared: Float64Array | undefined;

/**
 * Wall-clock milliseconds since the Unix epoch, at most a few ticks old, in a nanosecond or two:
 * one read of shared memory that a ticker thread refreshes every {@link COARSE_CLOCK_TICK_MS} ms.
 * For hot paths that stamp every event (a clock read costs 30–200 ns on some machines). The first
 * call starts the ticker (unless this thread adopted another's, {@link adoptCoarseClock}); until
 * its first tick, and if it cannot run or stops, this is `Date.now()`.
 */
export function coarseNow(): number {
  // One read site whatever the ticker's state: optimised code that inlines this never meets a
  // path it has not seen (a deopt there costs the caller its inlining decisions).
  const time = (shared ?? startTicker())[0]!;
  return time === time ? time : Date.now(); // NaN: not started yet, or stopped
}

/**
 * The shared memory this thread's coarse clock reads (starting its ticker if need be), for another
 * thread of the process to {@link adoptCoarseClock}: one ticker then serves them all.
 */
export function coarseClockBuffer(): SharedArrayBuffer {
  if (shared === undefined) startTicker();
  return shared!.buffer as SharedArrayBuffer;
}

/**
 * Makes this thread's coarse clock read `buffer` (another thread's {@link coarseClockBuffer})
 * instead of starting a ticker of its own. Ignored once this thread's clock has been read, and for
 * anything but an 8-byte SharedArrayBuffer.
 */
export function adoptCoarseClock(buffer: unknown): void {
  if (shared !== undefined) return;
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== 8) return;
  shared = new Float64Array(buffer);
}

function startTicker(): Float64Array {
  const word = new Float64Array(new SharedArrayBuffer(8));
  word[0] = Number.NaN;
  shared = word;
  // Threads that adopted this word fall back to Date.now() too.
  const stopped = () => (word[0] = Number.NaN);
  try {
    const worker = new Worker(TICKER_SOURCE, {
      eval: true,
      workerData: { buffer: word.buffer, tickMs: COARSE_CLOCK_TICK_MS },
      // A small heap: it only runs a timer. (Limits are caps, not reservations. Node 20 needs about
      // 5 MB of old generation to boot a thread: at 4 the ticker died at start, silently, and every
      // read fell back to Date.now().)
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    worker.unref();
    worker.on('error', stopped);
    worker.on('exit', stopped);
  } catch {
    // No thread: the word stays NaN, and every read is Date.now().
  }
  return word;
}
