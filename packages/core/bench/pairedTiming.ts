/** Median and 99th percentile of samples (ns). */
export function percentiles(samples: readonly number[]): { median: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p99: at(0.99) };
}

/** One case measured beside its baseline. */
export interface Paired {
  readonly name: string;
  /** Median ns per operation of the case. */
  readonly ns: number;
  /** Median ns per operation of the baseline. */
  readonly baseNs: number;
  /** Median over rounds of case / baseline in the same round. */
  readonly ratio: number;
}

/**
 * Times `block` operations of the baseline, then `block` of the case, round after round, and takes
 * the median of the per-round ratios: on a shared machine whose speed moves from one second to the
 * next, only figures taken a moment apart compare. `cleanup` runs after each round, untimed.
 */
export async function paired(
  name: string,
  baseline: () => unknown,
  fn: () => unknown,
  {
    rounds = 40,
    block = 10,
    warmup = 5,
    cleanup,
  }: { rounds?: number; block?: number; warmup?: number; cleanup?: () => Promise<void> } = {},
): Promise<Paired> {
  const time = async (op: () => unknown) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < block; i += 1) await op();
    return Number(process.hrtime.bigint() - start) / block;
  };
  const times: number[] = [];
  const bases: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < warmup + rounds; i += 1) {
    const base = await time(baseline);
    const ns = await time(fn);
    await cleanup?.();
    if (i < warmup) continue;
    times.push(ns);
    bases.push(base);
    ratios.push(ns / base);
  }
  return {
    name,
    ns: percentiles(times).median,
    baseNs: percentiles(bases).median,
    ratio: percentiles(ratios).median,
  };
}

const show = (ns: number) => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);

export function printPaired(title: string, figures: readonly Paired[]): void {
  console.log(`\n${title}`);
  for (const { name, ns, baseNs, ratio } of figures) {
    console.log(
      `  ${name.padEnd(58)} ${show(ns).padStart(10)}  vs ${show(baseNs).padStart(10)}  ${ratio.toFixed(2)}x`,
    );
  }
}

export function printLatency(name: string, samples: readonly number[]): void {
  const { median, p99 } = percentiles(samples);
  console.log(
    `  ${name.padEnd(58)} median ${show(median).padStart(10)}  p99 ${show(p99).padStart(10)}  (${samples.length} samples)`,
  );
}
