// Issue 16, speed (b) with the policy recompile: a policy file written until a running
// container's next call is decided by the new version, median and p99. From the repository root:
//   npx vitest bench --run --project interface packages/interface/bench/policyReload.bench.ts
// Per isolation, in the same run: the call alone (baseline), the swap alone (read the file, parse,
// compile, put in force: no guest), and the whole path (write, read, compile, swap, the guest's
// next call decided under the new version, checked). A daemon's watcher adds its debounce on top.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { createKernel, type Kernel } from '../src/index';

const PROBE = new TextEncoder().encode(`(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "probe") (param $k i32) (result i32) (local $refused i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $k)))
      (if (i32.ne (call $now (i32.const 8)) (i32.const 0))
        (then (local.set $refused (i32.add (local.get $refused) (i32.const 1)))))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br $again)))
    (local.get $refused)))`);

/** A realistic document: the clock rule among 40 others (each swap compiles all of them). */
const policyYaml = (action: 'allow' | 'deny', n: number) => {
  const rules = [`        - { id: clock, action: ${action}, match: { syscall: forge.clock_now } }`];
  for (let i = 0; i < 40; i += 1)
    rules.push(
      `        - { id: open-${i}, action: allow, match: { syscall: wasi.path_open, args: { path: { under: /data/d${i} } } } }`,
    );
  return `apiVersion: forgeone.dev/v1\nkind: Policy\nmetadata: { name: bench, version: "${n}" }\nspec:\n  nodes:\n    - name: base\n      rules:\n${rules.join('\n')}\n`;
};

const dir = mkdtempSync(join(tmpdir(), 'forgeone-bench-policy-'));
const file = join(dir, 'policy.yaml');
const ROUNDS = 100;
const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const stats = (samples: number[]) => {
  samples.sort((a, b) => a - b);
  return { median: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
};
const fmt = (label: string, s: { median: number; p99: number }, base?: number) =>
  `  ${label.padEnd(52)} median ${s.median.toFixed(3)} ms   p99 ${s.p99.toFixed(3)} ms${base ? `   (${(s.median / base).toFixed(1)}x the call)` : ''}`;

async function measure(kernel: Kernel, isolation: 'inline' | 'worker'): Promise<string> {
  const policies = kernel.policies!;
  const id = await kernel.runtime.launchContainer({ source: PROBE, isolation });
  const refused = async () => {
    const r = await kernel.runtime.invoke(id, 'probe', [{ type: 'i32', value: 1 }]);
    return Number((r.values[0] as { value: number }).value);
  };
  let version = 0;
  const call: number[] = [];
  const swap: number[] = [];
  const whole: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    let start = performance.now();
    await refused();
    call.push(performance.now() - start);

    // The swap alone: read + parse + compile + in force (and the guests' enforcers rebuilt).
    version += 1;
    writeFileSync(file, policyYaml(version % 2 ? 'deny' : 'allow', version));
    start = performance.now();
    policies.swap({ document: readFileSync(file, 'utf8'), source: file });
    swap.push(performance.now() - start);
    if ((await refused()) !== version % 2) throw new Error('the swap was not in force');

    // The whole path: write, read, compile, swap, the next call decided by the new version.
    version += 1;
    const action = version % 2 ? 'deny' : 'allow';
    start = performance.now();
    writeFileSync(file, policyYaml(action, version));
    policies.swap({ document: readFileSync(file, 'utf8'), source: file });
    const got = await refused();
    whole.push(performance.now() - start);
    if (got !== (action === 'deny' ? 1 : 0))
      throw new Error(`round ${i}: the next call was not decided by the new version`);
  }
  await kernel.runtime.stop(id);
  const base = stats(call);
  return [
    `${isolation}:`,
    fmt('one call, no swap (baseline)', base),
    fmt('swap alone (read, parse, compile 41 rules, in force)', stats(swap), base.median),
    fmt('file write -> next call decided by the new version', stats(whole), base.median),
  ].join('\n');
}

afterAll(async () => {
  writeFileSync(file, policyYaml('allow', 0));
  const kernel = await createKernel({ policy: { document: readFileSync(file, 'utf8'), source: file } });
  try {
    const inline = await measure(kernel, 'inline');
    const worker = await measure(kernel, 'worker');
    console.log(
      `\n(b) policy file write -> running container's next call under the new version (${ROUNDS} rounds)\n${inline}\n${worker}`,
    );
  } finally {
    await kernel.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}, 600_000);

describe('policy reload', () => {
  bench('compile + swap of a 41-rule document', async () => {
    // (The figures that matter are printed after the run: see afterAll.)
  });
});
