/**
 * What reading and checking a policy costs per rule (parse, schema, compile with the ReDoS check,
 * static checks), for 100, 1,000 and 10,000 rules of each kind of path condition: prefix, glob,
 * regex. Reported per rule, as a ratio against the 100-rule case of the same kind, measured in the
 * same run. Sizes beyond `policyLimits` are refused (FORGE_POLICY_TOO_LARGE): those rows time the
 * refusal. Patterns are salted per round, so the ReDoS check's memo never answers.
 *
 *   npx vitest bench --run --project trust bench/policyLoad.bench.ts
 */
import { afterAll, bench, describe } from 'vitest';
import { policyLimits, validatePolicyText } from '../src/index';

const kinds = ['prefix', 'glob', 'regex'] as const;
const sizes = [100, 1_000, 10_000] as const;
/** Sizes per kind: regex and glob also at their limit, the most a policy may have. */
const sizesOf = (kind: (typeof kinds)[number]): readonly number[] =>
  kind === 'prefix' ? sizes : [policyLimits.patterns, ...sizes];
let round = 0;

function policyText(kind: (typeof kinds)[number], rules: number): string {
  round += 1;
  const lines = [
    'apiVersion: forgeone.dev/v1',
    'kind: Policy',
    'metadata: { name: bench }',
    'spec:',
    '  nodes:',
    '    - name: a',
    '      rules:',
  ];
  for (let i = 0; i < rules; i += 1) {
    const dir = `/data/r${round}x${i}`;
    const condition =
      kind === 'prefix'
        ? `{ prefix: '${dir}/' }`
        : kind === 'glob'
          ? `{ glob: '${dir}/**/*.txt' }`
          : `{ regex: '${dir}/[a-z]+\\.txt' }`;
    lines.push(
      `        - { id: r${i}, action: ${i % 2 ? 'allow' : 'deny'}, match: { syscall: wasi.path_open, args: { path: ${condition} } } }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const results = new Map<string, { perRuleUs: number; outcome: string }>();

for (const kind of kinds) {
  describe(`check a policy of ${kind} rules`, () => {
    for (const rules of sizesOf(kind)) {
      bench(
        `${rules} ${kind} rules`,
        () => {
          const text = policyText(kind, rules);
          const started = process.hrtime.bigint();
          const validation = validatePolicyText(text, { knownSyscalls: ['wasi.path_open'] });
          const us = Number(process.hrtime.bigint() - started) / 1000;
          const outcome = validation.ok ? 'ok' : (validation.issues[0]?.code ?? 'refused');
          const key = `${kind}/${rules}`;
          const seen = results.get(key);
          // The fastest round: the least disturbed by other work on the machine.
          if (seen === undefined || us / rules < seen.perRuleUs)
            results.set(key, { perRuleUs: us / rules, outcome });
        },
        { iterations: 3, warmupIterations: 1, time: 0 },
      );
    }
  });
}

afterAll(() => {
  for (const kind of kinds) {
    const base = results.get(`${kind}/100`);
    for (const rules of sizesOf(kind)) {
      const row = results.get(`${kind}/${rules}`);
      if (!row || !base) continue;
      console.log(
        `${kind.padEnd(6)} ${String(rules).padStart(6)} rules: ${row.perRuleUs.toFixed(1).padStart(8)} us/rule  x${(row.perRuleUs / base.perRuleUs).toFixed(2)} vs 100  (${row.outcome})`,
      );
    }
  }
});
