/** Median time per operation of `fn` (which performs `ops` operations), in ns, over `rounds` rounds. */
export function medianNs(fn: () => unknown, ops: number, rounds = 30): number {
  for (let i = 0; i < 3; i += 1) fn(); // warm up (JIT tiers)
  const samples: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    const start = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - start) / ops);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/** Async version for operations that return promises (one operation per call). */
export async function medianNsAsync(fn: () => Promise<unknown>, rounds = 200): Promise<number> {
  for (let i = 0; i < 10; i += 1) await fn();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start));
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/** Prints one figure per row and its ratio to the first (the baseline). */
export function printRatios(title: string, rows: readonly (readonly [string, number])[]): void {
  const base = rows[0]![1];
  console.log(`\n${title}`);
  for (const [name, ns] of rows) {
    const value = ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(1)} ns`;
    console.log(`  ${name.padEnd(58)} ${value.padStart(10)}  ${(ns / base).toFixed(2)}x`);
  }
}

/** One case measured against a baseline in alternating rounds. */
export interface PairedFigure {
  readonly name: string;
  /** Median ns per operation of the case. */
  readonly ns: number;
  /** Median, over rounds, of the case's time over the baseline's time in the same round. */
  readonly ratio: number;
}

/**
 * Measures `fn` against `baseline` (each performing `ops` operations) in alternating rounds, and
 * takes the median of the per-round ratios. On a shared VM whose speed changes by 2x from one
 * second to the next, a ratio of two figures measured at different times says little; two
 * measurements a millisecond apart see the same machine.
 *
 * Both are first run for `warmup` rounds: the steady state is measured, not the first rounds, in
 * which V8 is still compiling (concurrently) the code being measured.
 */
export function pairedRatio(
  name: string,
  baseline: () => unknown,
  fn: () => unknown,
  ops: number,
  rounds = 60,
  warmup = 20,
): PairedFigure {
  for (let i = 0; i < warmup; i += 1) {
    baseline();
    fn();
  }
  const times: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    let start = process.hrtime.bigint();
    baseline();
    const base = Number(process.hrtime.bigint() - start);
    start = process.hrtime.bigint();
    fn();
    const ns = Number(process.hrtime.bigint() - start);
    times.push(ns / ops);
    ratios.push(ns / base);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { name, ns: median(times), ratio: median(ratios) };
}

/**
 * `pairedRatio` for asynchronous operations: each round times `block` awaited calls of the baseline,
 * then `block` of `fn`. Blocks rather than single calls, so that the work an operation leaves
 * behind (a collection, a thread winding down) is spread over a block rather than landing on the
 * one baseline call after it.
 */
export async function pairedRatioAsync(
  name: string,
  baseline: () => Promise<unknown>,
  fn: () => Promise<unknown>,
  rounds = 40,
  block = 5,
  warmup = 4,
): Promise<PairedFigure> {
  const timeBlock = async (op: () => Promise<unknown>) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < block; i += 1) await op();
    return Number(process.hrtime.bigint() - start) / block;
  };
  for (let i = 0; i < warmup; i += 1) {
    await timeBlock(baseline);
    await timeBlock(fn);
  }
  const times: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    const base = await timeBlock(baseline);
    const ns = await timeBlock(fn);
    times.push(ns);
    ratios.push(ns / base);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { name, ns: median(times), ratio: median(ratios) };
}

/** Prints paired figures: ns per operation, and the ratio to the baseline measured beside each. */
export function printPaired(title: string, baseline: string, figures: readonly PairedFigure[]): void {
  console.log(`\n${title}`);
  for (const { name, ns, ratio } of figures) {
    const value = ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(1)} ns`;
    console.log(`  ${name.padEnd(62)} ${value.padStart(10)}  ${ratio.toFixed(2)}x ${baseline}`);
  }
}
