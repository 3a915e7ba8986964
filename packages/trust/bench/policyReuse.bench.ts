/**
 * What `SyscallEnforcer.enforce` costs per call under a policy graph, for a syscall the graph
 * decides by name alone (`decidesBySyscallOnlyFor`) and for one whose rules read arguments, against
 * an allow-list. Once the enforcer promises reuse (`Enforcement.reusableBy`), the gate stops asking
 * it for that syscall, so a static syscall's per-call enforcer cost after its first call is zero;
 * "before" is the same graph behind a wrapper without `decidesBySyscallOnlyFor`, asked every call.
 * A rule with a trust condition (alone, for a caller with a refusal, whose score then moves with
 * every call, and beside markers over the caller's history) keeps its syscall asked every call:
 * those rows are the enforcer's full per-call cost for a contextual PDP.
 * Medians of process.hrtime.bigint() rounds; ratios against the first row, measured in the same run.
 *
 *   npx vitest bench --run --project trust bench/policyReuse.bench.ts
 */
import { afterAll, bench, describe } from 'vitest';
import { IdentityContextSchema, type ContainerId, type SyscallRequest } from '@forgeone/common';
import {
  AllowListPdp,
  SyscallEnforcer,
  compilePolicy,
  type ContextualDecisionPoint,
  type ZtaPolicyGraph,
} from '../src/index';

/** The example report plugin's policy without its trust condition (which weighs every call). */
const policy = compilePolicy({
  apiVersion: 'forgeone.dev/v1',
  kind: 'Policy',
  metadata: { name: 'report-plugin-bench' },
  spec: {
    nodes: [
      {
        name: 'base',
        rules: [
          {
            id: 'process-basics',
            action: 'allow',
            match: {
              syscall: [
                'wasi.args_get',
                'wasi.environ_get',
                'wasi.clock_time_get',
                'forge.log',
                'forge.clock_now',
              ],
            },
          },
          {
            id: 'stdio',
            action: 'allow',
            match: { syscall: 'wasi.fd_write', args: { fd: { oneOf: [1, 2] } } },
          },
          {
            id: 'read-data',
            action: 'allow',
            match: {
              syscall: ['wasi.fd_read', 'wasi.fd_seek', 'wasi.fd_close'],
              args: { path: { under: '/data' } },
            },
          },
          {
            id: 'own-kv',
            action: 'allow',
            match: { syscall: 'forge.kv_*', args: { namespace: 'report-plugin' } },
          },
          { id: 'no-network', action: 'deny', weight: 100, match: { syscall: 'wasi.sock_*' } },
        ],
      },
    ],
  },
});

/** The gate bench's graph: one rule allowing forge.input_len to callers trusted at least 0.1. */
const trustPolicy = () =>
  compilePolicy({
    apiVersion: 'forgeone.dev/v1',
    kind: 'Policy',
    metadata: { name: 'trust-bench' },
    spec: {
      nodes: [
        {
          name: 'base',
          rules: [
            {
              id: 'input',
              action: 'allow',
              match: { syscall: 'forge.input_len', trust: { atLeast: 0.1 } },
            },
          ],
        },
      ],
    },
  });

/** The same rule, outranked by a quarantine on markers over the caller's history (none holds here). */
const watched = compilePolicy({
  apiVersion: 'forgeone.dev/v1',
  kind: 'Policy',
  metadata: { name: 'history-bench' },
  spec: {
    markers: {
      flood: { calls: { syscalls: ['forge.*'], atLeast: 1e12 } },
      looping: { ruleHits: { rules: ['base/input'], atLeast: 1e12 } },
      refused: { denied: { atLeast: 1e12 } },
    },
    nodes: [
      {
        name: 'base',
        rules: [
          {
            id: 'input',
            action: 'allow',
            match: { syscall: 'forge.input_len', trust: { atLeast: 0.1 } },
          },
          {
            id: 'abuse',
            action: 'quarantine',
            weight: 10,
            match: { syscall: 'forge.*', dna: { anyMarkers: ['flood', 'looping', 'refused'] } },
          },
        ],
      },
    ],
  },
});

/** The graph as a PDP that makes no per-syscall promise: how the enforcer saw it before. */
function withoutPromise(graph: ZtaPolicyGraph): ContextualDecisionPoint {
  return {
    decide: (request) => graph.decide(request),
    evaluate: (request, context) => graph.evaluate(request, context),
  };
}

const identity = IdentityContextSchema.parse({ subject: 'pkg:acme/report-plugin@1.0.0' });
const call = (syscall: string, args: SyscallRequest['args']): SyscallRequest => ({
  containerId: 'ctr_bench' as ContainerId,
  identity,
  syscall,
  args,
  time: 0,
});
const log = call('forge.log', { message: 'row 42 done' });
const read = call('wasi.fd_read', { fd: 4, path: '/data/reports/q1.csv', bytes: 4096 });
const inputLen = call('forge.input_len', {});

const enforcers = {
  allowList: new SyscallEnforcer({ pdp: new AllowListPdp(['forge.log', 'wasi.fd_read']) }),
  graph: new SyscallEnforcer({ pdp: policy }),
  before: new SyscallEnforcer({ pdp: withoutPromise(policy) }),
  trusted: new SyscallEnforcer({ pdp: trustPolicy() }),
  refusing: new SyscallEnforcer({ pdp: trustPolicy() }),
  watched: new SyscallEnforcer({ pdp: watched }),
};
// What the gate would do: reuse forge.log under the graph, never under the wrapper.
if (enforcers.graph.enforce(log).reusableBy !== enforcers.graph)
  throw new Error('the graph should promise reuse of forge.log');
if (enforcers.before.enforce(log).reusableBy !== undefined || enforcers.graph.enforce(read).reusableBy)
  throw new Error('only a static syscall under a promising PDP may be reused');
// One refused call: from then on the share of refused calls, and so the trust score, moves with
// every call (a score that cannot be kept from one call to the next).
if (enforcers.refusing.enforce(call('forge.other', {})).execute)
  throw new Error('forge.other should be refused');
for (const enforcer of [enforcers.trusted, enforcers.refusing, enforcers.watched]) {
  const first = enforcer.enforce(inputLen);
  if (!first.execute || first.reusableBy !== undefined)
    throw new Error('a trust rule should allow forge.input_len and keep it asked every call');
}

describe('enforce() per call', () => {
  bench('allow-list, forge.log', () => void enforcers.allowList.enforce(log));
  bench('policy graph, forge.log (static)', () => void enforcers.graph.enforce(log));
  bench('policy graph without the promise, forge.log', () => void enforcers.before.enforce(log));
  bench('policy graph, wasi.fd_read under /data (reads arguments)', () => void enforcers.graph.enforce(read));
  bench('policy graph, forge.input_len (trust rule)', () => void enforcers.trusted.enforce(inputLen));
  bench(
    'policy graph, forge.input_len (trust rule, after a refusal)',
    () => void enforcers.refusing.enforce(inputLen),
  );
  bench(
    'policy graph, forge.input_len (trust rule, markers)',
    () => void enforcers.watched.enforce(inputLen),
  );
});

/** Median time per operation of `fn` (which performs `ops` operations), in ns, over `rounds` rounds. */
function medianNs(fn: () => unknown, ops: number, rounds = 30): number {
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

/** Prints one figure per row and its ratio to the first (the baseline). */
function printRatios(title: string, rows: readonly (readonly [string, number])[]): void {
  const base = rows[0]![1];
  const lines = rows.map(([name, ns]) => {
    const value = ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(1)} ns`;
    return `  ${name.padEnd(80)} ${value.padStart(10)}  ${(ns / base).toFixed(2)}x`;
  });
  process.stdout.write(`\n${title}\n${lines.join('\n')}\n`);
}

const OPS = 20_000;
const PASSES = 5;
const rows: readonly (readonly [string, SyscallEnforcer, SyscallRequest])[] = [
  ['allow-list, forge.log (reused by the gate)', enforcers.allowList, log],
  ['policy graph, forge.log (reused by the gate)', enforcers.graph, log],
  ['policy graph without the promise, forge.log (asked every call)', enforcers.before, log],
  ['policy graph, wasi.fd_read under /data (asked every call)', enforcers.graph, read],
  ['policy graph, forge.input_len, trust rule (asked every call)', enforcers.trusted, inputLen],
  [
    'policy graph, forge.input_len, trust rule, after a refusal (asked every call)',
    enforcers.refusing,
    inputLen,
  ],
  ['policy graph, forge.input_len, trust rule + markers (asked every call)', enforcers.watched, inputLen],
];

afterAll(() => {
  // Passes interleave the rows; each row keeps its best median (shared machines are noisy).
  const best = rows.map(() => Infinity);
  for (let pass = 0; pass < PASSES; pass += 1) {
    rows.forEach(([, enforcer, request], r) => {
      const ns = medianNs(() => {
        for (let i = 0; i < OPS; i += 1) enforcer.enforce(request);
      }, OPS);
      best[r] = Math.min(best[r]!, ns);
    });
  }
  printRatios(
    '[trust bench] SyscallEnforcer.enforce per call (the gate skips it once reused)',
    rows.map(([name], r) => [name, best[r]!] as const),
  );
  const [, graph, before] = best as [number, number, number];
  process.stdout.write(
    `  forge.log under the policy graph: ${before.toFixed(1)} ns of enforcer per call before, none after its first call; the per-syscall check: ${(graph - before).toFixed(1)} ns\n`,
  );
});
