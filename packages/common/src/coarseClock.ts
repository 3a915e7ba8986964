import { Worker } from 'node:worker_threads';

/** How often the ticker thread refreshes the coarse wall clock. */
export const COARSE_CLOCK_TICK_MS = 1;

// The ticker: a thread that writes Date.now() into shared memory every tick. Unref'd, so it never
// keeps a process alive; CommonJS because an eval'd worker is.
const TICKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const time = new Float64Array(workerData.buffer);
setInterval(() => { time[0] = Date.now(); }, workerData.tickMs);
`;

let shared: Float64Array | undefined;
let ticking = false;

/**
 * Wall-clock milliseconds since the Unix epoch, at most a few ticks old, in a nanosecond or two:
 * one read of shared memory that a ticker thread refreshes every {@link COARSE_CLOCK_TICK_MS} ms.
 * For hot paths that stamp every event (a clock read costs 30–200 ns on some machines). The first
 * call starts the ticker; if it cannot run (or dies) this is `Date.now()`.
 */
export function coarseNow(): number {
  if (ticking) return shared![0]!;
  if (shared === undefined) startTicker();
  return ticking ? shared![0]! : Date.now();
}

function startTicker(): void {
  shared = new Float64Array(new SharedArrayBuffer(8));
  shared[0] = Date.now();
  try {
    const worker = new Worker(TICKER_SOURCE, {
      eval: true,
      workerData: { buffer: shared.buffer, tickMs: COARSE_CLOCK_TICK_MS },
      // The smallest heap a thread can have: it only runs a timer.
      resourceLimits: { maxOldGenerationSizeMb: 4, maxYoungGenerationSizeMb: 1 },
    });
    worker.unref();
    worker.on('error', () => (ticking = false));
    worker.on('exit', () => (ticking = false));
    ticking = true;
  } catch {
    ticking = false;
  }
}
