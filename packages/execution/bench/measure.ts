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
