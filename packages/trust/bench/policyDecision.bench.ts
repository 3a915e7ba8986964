/**
 * Decisions per second of the ZTA policy graph on a 1,000-rule policy (cached and uncached),
 * against Cedar (`@cedar-policy/cedar-wasm`, `statefulIsAuthorized` with the policy set parsed
 * once) on the equivalent policy, and the cost the PDP adds to each call in the enforcer against
 * an allow-all PDP. Both engines are checked to agree on every request before anything is timed.
 * Ratios are printed at the end, measured in the same run.
 *
 *   npx vitest bench --run --project trust
 */
import { createRequire } from 'node:module';
import { afterAll, bench, describe } from 'vitest';
import {
  IdentityContextSchema,
  type ContainerId,
  type Decision,
  type PolicyDecisionPoint,
  type SyscallRequest,
} from '@forgeone/common';
import type * as CedarWasm from '@cedar-policy/cedar-wasm/nodejs';
import { SyscallEnforcer, WASI_PREVIEW1_CALLS, compilePolicy } from '../src/index';

type Cedar = typeof CedarWasm;

// The Node.js build of cedar-wasm is CommonJS and loads its .wasm synchronously.
const cedar = createRequire(import.meta.url)('@cedar-policy/cedar-wasm/nodejs') as Cedar;

const FORGE = ['log', 'clock_now', 'random_bytes', 'kv_get', 'kv_put', 'kv_delete', 'emit_event'].map(
  (n) => `forge.${n}`,
);
/** 50 syscall names: 43 of WASI's and 7 forge.* calls. */
const NAMES = [...WASI_PREVIEW1_CALLS.slice(0, 43).map((n) => `wasi.${n}`), ...FORGE];
const RULES = 1000;
const TEAMS = 20;
if (NAMES.length * TEAMS !== RULES) throw new Error(`expected 50 syscall names, got ${NAMES.length}`);

/** Rule i: syscall i % 50, for role team-k, on paths under /data/tk (k = i / 50); every tenth forbids. */
const rules = Array.from({ length: RULES }, (_, i) => {
  const k = Math.floor(i / NAMES.length);
  return {
    i,
    k,
    syscall: NAMES[i % NAMES.length]!,
    action: i % 10 === 9 ? ('deny' as const) : ('allow' as const),
  };
});

const graphDoc = {
  apiVersion: 'forgeone.dev/v1',
  kind: 'Policy',
  metadata: { name: 'bench-1000' },
  spec: {
    nodes: [
      {
        name: 'main',
        rules: rules.map((r) => ({
          id: `r${r.i}`,
          action: r.action,
          match: {
            syscall: r.syscall,
            identity: { roles: [`team-${r.k}`] },
            args: { path: { under: `/data/t${r.k}` } },
          },
        })),
      },
    ],
  },
};
const cedarText = rules
  .map(
    (r) =>
      `@id("r${r.i}")\n${r.action === 'allow' ? 'permit' : 'forbid'}(principal in Role::"team-${r.k}", action == Action::"${r.syscall}", resource == Container::"c") when { context.path like "/data/t${r.k}/*" };`,
  )
  .join('\n');

const uncached = compilePolicy(graphDoc, { decisionCache: false });
const cached = compilePolicy(graphDoc);
const parsed = cedar.preparsePolicySet('bench', { staticPolicies: cedarText });
if (parsed.type !== 'success')
  throw new Error(`cedar could not parse the policy: ${JSON.stringify(parsed.errors[0])}`);

// 1,000 requests: every syscall, every team, paths inside and outside the team's directory.
const identities = Array.from({ length: TEAMS }, (_, k) =>
  IdentityContextSchema.parse({ subject: `user:u${k}`, roles: [`team-${k}`] }),
);
const requests = Array.from({ length: 1000 }, (_, j) => {
  const team = j % TEAMS;
  const dir = j % 3 === 0 ? (team + 1) % TEAMS : team;
  const syscall = NAMES[(j * 7) % NAMES.length]!;
  const path = `/data/t${dir}/file${j}.csv`;
  const request: SyscallRequest = {
    containerId: 'ctr_bench' as ContainerId,
    identity: identities[team]!,
    syscall,
    args: { fd: 3, path },
    time: 0,
  };
  const call = {
    principal: { type: 'User', id: `u${team}` },
    action: { type: 'Action', id: syscall },
    resource: { type: 'Container', id: 'c' },
    context: { path },
    entities: [
      { uid: { type: 'User', id: `u${team}` }, attrs: {}, parents: [{ type: 'Role', id: `team-${team}` }] },
    ],
    preparsedPolicySetId: 'bench',
  };
  return { request, call };
});

function cedarAllows(call: (typeof requests)[number]['call']): boolean {
  const answer = cedar.statefulIsAuthorized(call);
  if (answer.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(answer.errors[0])}`);
  return answer.response.decision === 'allow';
}

// Same answers, or the comparison means nothing. Twice over, which also lets V8 tier Cedar's
// WebAssembly up to optimised code before anything is timed.
let allowed = 0;
for (const { request, call } of [...requests, ...requests]) {
  const ours = uncached.evaluate(request).action === 'allow';
  if (ours !== cedarAllows(call))
    throw new Error(`the engines disagree on ${request.syscall} ${String(request.args['path'])}`);
  if (ours) allowed += 1;
}
allowed /= 2;
if (allowed === 0 || allowed === requests.length)
  throw new Error('the request mix must contain allows and denies');

const ALLOW: Decision = { action: 'allow', reasons: [{ policy: 'bench', message: 'allow-all' }] };
const allowAll: PolicyDecisionPoint = { decide: () => ALLOW };
const enforcers = {
  allowAll: new SyscallEnforcer({ pdp: allowAll }),
  cached: new SyscallEnforcer({ pdp: compilePolicy(graphDoc) }),
  uncached: new SyscallEnforcer({ pdp: compilePolicy(graphDoc, { decisionCache: false }) }),
};

let cursor = 0;
const next = () => requests[(cursor = (cursor + 1) % requests.length)]!;

describe('1,000-rule policy: one decision', () => {
  bench('zta graph, uncached', () => void uncached.evaluate(next().request));
  bench('zta graph, cached', () => void cached.evaluate(next().request));
  bench('cedar-wasm statefulIsAuthorized', () => void cedarAllows(next().call), { time: 2000 });
});

describe('enforcer: cost the PDP adds per call', () => {
  bench('allow-all PDP', () => void enforcers.allowAll.enforce(next().request));
  bench('1,000-rule graph, cached', () => void enforcers.cached.enforce(next().request));
  bench('1,000-rule graph, uncached', () => void enforcers.uncached.enforce(next().request));
});

/** Nanoseconds per call of `fn`, over about `ms` of calls (after `warmup` calls). */
function nsPerCall(fn: () => void, ms = 400, warmup = 2000): number {
  for (let i = 0; i < warmup; i += 1) fn();
  let calls = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < 10; i += 1) fn();
    calls += 10;
  }
  return Number(process.hrtime.bigint() - start) / calls;
}

afterAll(() => {
  const zu = nsPerCall(() => void uncached.evaluate(next().request));
  const zc = nsPerCall(() => void cached.evaluate(next().request));
  // Cedar is warm already (the agreement check and its bench ran it thousands of times).
  const ce = nsPerCall(() => void cedarAllows(next().call), 2000, 20);
  const ea = nsPerCall(() => void enforcers.allowAll.enforce(next().request));
  const ec = nsPerCall(() => void enforcers.cached.enforce(next().request));
  const eu = nsPerCall(() => void enforcers.uncached.enforce(next().request));
  const us = (ns: number) => `${(ns / 1000).toFixed(3)} µs`;
  const rate = (ns: number) => `${Math.round(1e9 / ns).toLocaleString('en-US')}/s`;
  const lines = [
    `1,000-rule policy, ${requests.length} distinct requests (${allowed} allowed), both engines agree on all of them`,
    `  zta uncached  ${us(zu)}/decision  ${rate(zu)}`,
    `  zta cached    ${us(zc)}/decision  ${rate(zc)}`,
    `  cedar-wasm    ${us(ce)}/decision  ${rate(ce)}`,
    `  speed-up over cedar: uncached ${(ce / zu).toFixed(0)}x (target >= 100x), cached ${(ce / zc).toFixed(0)}x`,
    `enforcer per call: allow-all PDP ${us(ea)}; 1,000-rule graph cached ${us(ec)} (+${us(ec - ea)}), uncached ${us(eu)} (+${us(eu - ea)})`,
  ];
  process.stdout.write(`\n[trust bench]\n${lines.join('\n')}\n`);
});
