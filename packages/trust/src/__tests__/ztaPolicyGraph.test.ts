import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { emptyExecutionDna } from '@forgeone/common';
import { compilePolicy, loadPolicyText, type ZtaDecision } from '../index';
import { doc, examplePolicy, graphOf, identity, request } from './support';

const allow = (id: string, match: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id,
  action: 'allow',
  match,
  ...extra,
});

function decidedBy(decision: ZtaDecision): string {
  return decision.decidedBy?.id ?? 'default';
}

describe('rules match on the syscall and its decoded arguments', () => {
  const graph = graphOf([
    allow('open-data', { syscall: 'wasi.path_open', args: { path: { under: '/data' }, write: false } }),
    allow('fd-calls', { syscall: 'wasi.fd_*', args: { fd: { oneOf: [1, 2] } } }),
    allow('small-reads', { syscall: 'wasi.fd_read', args: { bytes: { atMost: 4096 } } }),
    allow('csv', { syscall: 'wasi.path_filestat_get', args: { path: { glob: '/reports/**/*.csv' } } }),
    allow('logs', { syscall: 'wasi.path_readlink', args: { path: { regex: '/var/log/[a-z]+\\.log' } } }),
    allow('tmp', {
      syscall: 'wasi.path_unlink_file',
      args: { path: { prefix: '/tmp/forge-', not: { contains: '..' } } },
    }),
    allow('big-alloc', { syscall: 'wasi.fd_allocate', args: { size: { atLeast: 1024, atMost: 2048 } } }),
  ]);
  const cases: [string, Record<string, string | number | bigint | boolean | null>, string][] = [
    ['wasi.path_open', { path: '/data/a.txt', write: false }, 'allow'],
    ['wasi.path_open', { path: '/data', write: false }, 'allow'],
    ['wasi.path_open', { path: '/database/x', write: false }, 'deny'],
    ['wasi.path_open', { path: '/data/a.txt', write: true }, 'deny'],
    ['wasi.path_open', { path: '/data/a.txt' }, 'deny'],
    ['wasi.fd_write', { fd: 1 }, 'allow'],
    ['wasi.fd_write', { fd: 3 }, 'deny'],
    ['wasi.fd_read', { fd: 7, bytes: 4096 }, 'allow'],
    ['wasi.fd_read', { fd: 7, bytes: 4097 }, 'deny'],
    ['wasi.path_filestat_get', { path: '/reports/2030/q1/sales.csv' }, 'allow'],
    ['wasi.path_filestat_get', { path: '/reports/sales.csv.bak' }, 'deny'],
    ['wasi.path_readlink', { path: '/var/log/kernel.log' }, 'allow'],
    ['wasi.path_readlink', { path: '/var/log/kernel.log/x' }, 'deny'],
    ['wasi.path_unlink_file', { path: '/tmp/forge-1' }, 'allow'],
    ['wasi.path_unlink_file', { path: '/tmp/forge-../etc' }, 'deny'],
    ['wasi.fd_allocate', { size: 1500n }, 'allow'],
    ['wasi.fd_allocate', { size: 4096n }, 'deny'],
    ['wasi.fd_allocate', { size: '1500' }, 'deny'],
  ];
  for (const [syscall, args, action] of cases) {
    it(`${syscall} ${inspect(args)} -> ${action}`, () => {
      expect(graph.evaluate(request(syscall, args)).action).toBe(action);
    });
  }
});

describe('rules match on identity, time, scores and DNA markers', () => {
  it('roles, attributes, capabilities, assurance and signer', () => {
    const graph = graphOf([
      allow('admins', {
        syscall: 'forge.log',
        identity: { roles: { any: ['admin', 'ops'], none: ['suspended'] } },
      }),
      allow('team', {
        syscall: 'forge.clock_now',
        identity: { attributes: { team: 'analytics' }, assurance: { atLeast: 'medium' } },
      }),
      allow('kv', { syscall: 'forge.kv_get', identity: { capabilities: ['kv:read:notes'], signed: true } }),
    ]);
    const ask = (syscall: string, who: Parameters<typeof identity>[0]) =>
      graph.evaluate(request(syscall, {}, { identity: identity(who) })).action;
    expect(ask('forge.log', { roles: ['ops'] })).toBe('allow');
    expect(ask('forge.log', { roles: ['ops', 'suspended'] })).toBe('deny');
    expect(ask('forge.log', { roles: [] })).toBe('deny');
    expect(ask('forge.clock_now', { attributes: { team: 'analytics' }, assurance: 'high' })).toBe('allow');
    expect(ask('forge.clock_now', { attributes: { team: 'analytics' }, assurance: 'low' })).toBe('deny');
    expect(
      ask('forge.kv_get', { signer: 'k1', attributes: { capabilities: 'fs:read:/data, kv:read:notes' } }),
    ).toBe('allow');
    expect(ask('forge.kv_get', { attributes: { capabilities: 'kv:read:notes' } })).toBe('deny');
  });

  it('time windows, in a given UTC offset, wrapping midnight', () => {
    const graph = graphOf([
      allow('office', {
        syscall: 'forge.log',
        time: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00', utcOffset: '+02:00' },
      }),
      allow('night', { syscall: 'forge.clock_now', time: { from: '22:00', to: '06:00' } }),
    ]);
    const at = (syscall: string, iso: string) =>
      graph.evaluate(request(syscall, {}, { time: Date.parse(iso) })).action;
    expect(at('forge.log', '2030-01-07T06:30:00Z')).toBe('allow'); // Monday 08:30 at +02:00
    expect(at('forge.log', '2030-01-07T05:30:00Z')).toBe('deny'); // 07:30 at +02:00
    expect(at('forge.log', '2030-01-12T10:00:00Z')).toBe('deny'); // Saturday
    expect(at('forge.clock_now', '2030-01-07T23:10:00Z')).toBe('allow');
    expect(at('forge.clock_now', '2030-01-07T05:59:00Z')).toBe('allow');
    expect(at('forge.clock_now', '2030-01-07T06:00:00Z')).toBe('deny');
  });

  it('trust and anomaly scores from the request or the context; unknown scores never satisfy a condition', () => {
    const graph = graphOf([
      allow('trusted', { syscall: 'forge.kv_put', trust: { atLeast: 0.6 } }),
      {
        id: 'anomalous',
        action: 'quarantine',
        match: { syscall: 'forge.kv_put', anomaly: { atLeast: 0.9 } },
      },
    ]);
    expect(graph.evaluate(request('forge.kv_put', {}, { scores: { trust: 0.7 } })).action).toBe('allow');
    expect(graph.evaluate(request('forge.kv_put', {}, { scores: { trust: 0.5 } })).action).toBe('deny');
    expect(graph.evaluate(request('forge.kv_put')).action).toBe('deny');
    expect(graph.evaluate(request('forge.kv_put'), { scores: { trust: 0.9, anomaly: 0.95 } }).action).toBe(
      'quarantine',
    );
    // No score given: the trust algorithm computes one from the signals.
    expect(
      graph.evaluate(request('forge.kv_put'), { signals: { assurance: 'high', provenance: 'hybrid' } })
        .action,
    ).toBe('allow');
    const decision = graph.evaluate(request('forge.kv_put'), {
      signals: { assurance: 'none', provenance: 'unsigned', anomaly: 0.5 },
    });
    expect(decision.action).toBe('deny');
  });

  it('DNA markers: call counts, refusals, rule hits, deviation from the baseline, and external markers', () => {
    const graph = compilePolicy(
      doc({
        markers: {
          busy: { calls: { syscalls: ['wasi.fd_*'], atLeast: 10 } },
          refused: { denied: { atLeast: 3 } },
          probing: { ruleHits: { rules: ['main/outside'], atLeast: 2 } },
          odd: { deviation: { atLeast: 0.5 } },
          flagged: { external: true },
        },
        nodes: [
          {
            name: 'main',
            rules: [
              { id: 'outside', action: 'deny', match: { syscall: 'wasi.path_open' } },
              {
                id: 'scan',
                action: 'quarantine',
                match: {
                  syscall: 'wasi.path_open',
                  dna: { anyMarkers: ['busy', 'refused', 'probing', 'odd', 'flagged'] },
                },
              },
            ],
          },
        ],
      }),
    );
    const decide = (context: Parameters<typeof graph.evaluate>[1]) =>
      decidedByOf(graph.evaluate(request('wasi.path_open'), context));
    const dna = (counts: Record<string, number>, denied = 0) => ({
      ...emptyExecutionDna('ctr_test'),
      syscallCounts: counts,
      totalCalls: Object.values(counts).reduce((a, b) => a + b, 0),
      deniedCalls: denied,
    });
    expect(decide({})).toBe('main/outside');
    expect(decide({ dna: dna({ 'wasi.fd_read': 6, 'wasi.fd_write': 4 }) })).toBe('main/scan');
    expect(decide({ dna: dna({ 'wasi.fd_read': 9 }) })).toBe('main/outside');
    expect(decide({ dna: dna({ 'forge.log': 3 }, 3) })).toBe('main/scan');
    expect(decide({ ruleHits: { 'main/outside': 2 } })).toBe('main/scan');
    expect(decide({ ruleHits: { 'main/outside': 1 } })).toBe('main/outside');
    expect(
      decide({
        dna: dna({ 'forge.log': 1, 'wasi.path_open': 9 }),
        baseline: dna({ 'forge.log': 9, 'wasi.path_open': 1 }),
      }),
    ).toBe('main/scan');
    expect(
      decide({
        dna: dna({ 'forge.log': 5, 'wasi.path_open': 5 }),
        baseline: dna({ 'forge.log': 5, 'wasi.path_open': 4 }),
      }),
    ).toBe('main/outside');
    expect(decide({ markers: ['flagged'] })).toBe('main/scan');
  });
});

function decidedByOf(decision: ZtaDecision): string {
  return decidedBy(decision);
}

describe('conflict resolution: weight, then restrictiveness, then order; default deny', () => {
  it('at equal weight the most restrictive action decides: quarantine > deny > ask > allow', () => {
    const rules = (actions: string[]) =>
      actions.map((action, i) => ({ id: `r${i}`, action, match: { syscall: 'forge.log' } }));
    expect(graphOf(rules(['allow', 'ask'])).evaluate(request('forge.log')).action).toBe('ask');
    expect(graphOf(rules(['ask', 'deny', 'allow'])).evaluate(request('forge.log')).action).toBe('deny');
    expect(graphOf(rules(['deny', 'quarantine'])).evaluate(request('forge.log')).action).toBe('quarantine');
  });

  it('a higher weight wins over restrictiveness (an explicit exception), and node weights add up', () => {
    const graph = graphOf([
      {
        id: 'no-data',
        action: 'deny',
        match: { syscall: 'wasi.path_open', args: { path: { under: '/data' } } },
      },
      {
        id: 'public',
        action: 'allow',
        weight: 10,
        match: { syscall: 'wasi.path_open', args: { path: { under: '/data/public' } } },
      },
    ]);
    const decision = graph.evaluate(request('wasi.path_open', { path: '/data/public/a' }));
    expect(decidedBy(decision)).toBe('main/public');
    expect(decision.reasons[1]?.message).toContain('overridden by main/public: weight 10 > 0');
    expect(graph.evaluate(request('wasi.path_open', { path: '/data/private' })).action).toBe('deny');
  });

  it('at equal weight and action, the first rule in evaluation order decides', () => {
    const graph = graphOf([
      { id: 'first', action: 'allow', match: { syscall: 'forge.log' } },
      { id: 'second', action: 'allow', match: { syscall: 'forge.log' } },
    ]);
    expect(decidedBy(graph.evaluate(request('forge.log')))).toBe('main/first');
  });

  it('no matching rule: the closing default policy denies and says which nodes it looked at', () => {
    const decision = graphOf([allow('log', { syscall: 'forge.log' })]).evaluate(request('wasi.sock_accept'));
    expect(decision).toMatchObject({ action: 'deny', decidedBy: undefined, visited: ['main'] });
    expect(decision.reasons[0]).toMatchObject({ policy: 'default' });
    expect(decision.reasons[0]?.message).toContain('no rule in main matched wasi.sock_accept');
  });
});

describe('edges carry the evaluation between nodes under conditions', () => {
  const graph = compilePolicy(
    doc({
      entry: 'base',
      nodes: [
        {
          name: 'base',
          rules: [allow('data', { syscall: 'wasi.path_open', args: { path: { under: '/data' } } })],
        },
        {
          name: 'sensitive-fs',
          weight: 5,
          rules: [
            {
              id: 'secrets',
              action: 'ask',
              match: { syscall: 'wasi.path_open', args: { path: { under: '/data/secret' } } },
            },
          ],
        },
        { name: 'unused', rules: [allow('everything', {})] },
      ],
      edges: [
        {
          from: 'base',
          to: 'sensitive-fs',
          when: { syscall: 'wasi.path_*', args: { path: { under: '/data/secret' } } },
        },
      ],
    }),
  );

  it('escalates to a node only when the edge condition holds, and explains the path taken', () => {
    const plain = graph.evaluate(request('wasi.path_open', { path: '/data/a' }));
    expect(plain).toMatchObject({ action: 'allow', visited: ['base'], edges: [] });
    const secret = graph.evaluate(request('wasi.path_open', { path: '/data/secret/key' }));
    expect(secret).toMatchObject({ action: 'ask', visited: ['base', 'sensitive-fs'] });
    expect(secret.edges).toEqual([
      { from: 'base', to: 'sensitive-fs', when: 'syscall wasi.path_*, path under /data/secret' },
    ]);
    expect(secret.matched.map((m) => [m.id, m.decided])).toEqual([
      ['base/data', false],
      ['sensitive-fs/secrets', true],
    ]);
    expect(secret.reasons.at(-1)?.message).toContain('evaluated base -> sensitive-fs');
  });

  it('the same explanation comes back through the PolicyDecisionPoint interface', () => {
    const decision = graph.decide(request('wasi.path_open', { path: '/data/secret/key' }));
    expect(decision.reasons[0]).toMatchObject({ policy: 'sensitive-fs', rule: 'secrets' });
    expect(decision.reasons[0]?.message).toContain('path under /data/secret');
  });

  it('explain lists the rules that did not match with the condition that failed and what it saw', () => {
    const decision = graph.evaluate(
      request('wasi.path_open', { path: '/etc/passwd' }),
      {},
      { explain: true },
    );
    expect(decision.unmatched).toEqual([
      expect.objectContaining({ id: 'base/data', failed: 'path under /data', observed: '/etc/passwd' }),
    ]);
  });
});

describe('the decision cache', () => {
  it('serves repeated (identity, syscall, argument class) decisions from the cache', () => {
    const graph = graphOf([
      allow('small', { syscall: 'wasi.fd_read', args: { bytes: { atMost: 4096 } } }),
      allow('log', { syscall: 'forge.log' }),
    ]);
    const who = identity();
    const first = graph.evaluate(request('wasi.fd_read', { fd: 3, bytes: 10 }, { identity: who }));
    // Another size on the same side of the threshold (and an argument no rule reads) is the same class.
    const second = graph.evaluate(request('wasi.fd_read', { fd: 9, bytes: 20 }, { identity: who }));
    expect(first.cached).toBe(false);
    expect(second).toMatchObject({ cached: true, action: 'allow' });
    expect(graph.evaluate(request('wasi.fd_read', { fd: 3, bytes: 5000 }, { identity: who }))).toMatchObject({
      cached: false,
      action: 'deny',
    });
    // Another identity is another key.
    expect(
      graph.evaluate(request('wasi.fd_read', { bytes: 10 }, { identity: identity({ roles: ['x'] }) })).cached,
    ).toBe(false);
    expect(graph.cacheStats()).toMatchObject({ hits: 1, misses: 3 });
  });

  it('never caches a decision that consulted time, scores or markers', () => {
    const graph = graphOf([allow('trusted', { syscall: 'forge.kv_put', trust: { atLeast: 0.5 } })]);
    const who = identity();
    expect(
      graph.evaluate(request('forge.kv_put', {}, { identity: who, scores: { trust: 0.9 } })).action,
    ).toBe('allow');
    expect(
      graph.evaluate(request('forge.kv_put', {}, { identity: who, scores: { trust: 0.1 } })).action,
    ).toBe('deny');
    expect(graph.cacheStats().hits).toBe(0);
  });
});

describe('decidesBySyscallOnlyFor: the syscalls decided by name (and identity) alone', () => {
  const staticFor = (rules: unknown[], syscall: string, spec: Record<string, unknown> = {}) =>
    compilePolicy(doc({ nodes: [{ name: 'main', rules }], ...spec })).decidesBySyscallOnlyFor(syscall);
  const rule = (action: string, match: Record<string, unknown>) => ({ id: 'r', action, match });

  it('a rule on the name alone, or the name and the identity, keeps its syscall static (allow or deny)', () => {
    expect(staticFor([rule('allow', { syscall: 'forge.log' })], 'forge.log')).toBe(true);
    expect(staticFor([rule('deny', { syscall: 'forge.log' })], 'forge.log')).toBe(true);
    expect(
      staticFor(
        [rule('allow', { syscall: 'forge.log', identity: { roles: ['ops'], signed: true, tenant: 't' } })],
        'forge.log',
      ),
    ).toBe(true);
    // No rule at all: the default policy denies, by name.
    expect(staticFor([rule('allow', { syscall: 'forge.log' })], 'forge.clock_now')).toBe(true);
  });

  it.each([
    ['arguments', { args: { path: { under: '/data' } } }],
    ['time', { time: { from: '09:00', to: '17:00' } }],
    ['trust', { trust: { atLeast: 0.5 } }],
    ['anomaly', { anomaly: { below: 0.5 } }],
    ['DNA markers', { dna: { markers: ['ext'] } }],
  ])('a rule reading %s makes every syscall it can match dynamic', (_, extra) => {
    const spec = { markers: { ext: { external: true } } };
    for (const syscall of ['forge.log', 'forge.*', '*']) {
      expect(staticFor([rule('allow', { syscall, ...extra })], 'forge.log', spec)).toBe(false);
    }
    // One it cannot match stays static (but no trust condition may exist anywhere: see below).
    if (!('trust' in extra)) {
      expect(staticFor([rule('allow', { syscall: 'wasi.*', ...extra })], 'forge.log', spec)).toBe(true);
    }
  });

  it('a rule that asks or quarantines is never static, even outranked by an allow', () => {
    for (const action of ['ask', 'quarantine']) {
      const rules = [
        { id: 'ok', action: 'allow', weight: 10, match: { syscall: 'forge.log' } },
        rule(action, { syscall: 'forge.*' }),
      ];
      expect(staticFor(rules, 'forge.log')).toBe(false);
      expect(staticFor(rules, 'wasi.fd_write')).toBe(true);
    }
  });

  it('edges: one that is always taken is static, one whose condition reads arguments is not', () => {
    const graph = (when: Record<string, unknown> | undefined) =>
      compilePolicy(
        doc({
          nodes: [
            { name: 'a', rules: [rule('allow', { syscall: 'forge.log' })] },
            { name: 'b', rules: [rule('deny', { syscall: 'wasi.fd_write' })] },
          ],
          edges: [{ from: 'a', to: 'b', ...(when ? { when } : {}) }],
        }),
      );
    expect(graph(undefined).decidesBySyscallOnlyFor('forge.log')).toBe(true);
    expect(graph({ identity: { roles: ['x'] } }).decidesBySyscallOnlyFor('forge.log')).toBe(true);
    expect(graph({ syscall: 'forge.log', args: { fd: 1 } }).decidesBySyscallOnlyFor('forge.log')).toBe(false);
    expect(graph({ syscall: 'wasi.*', args: { fd: 1 } }).decidesBySyscallOnlyFor('forge.log')).toBe(true);
  });

  it('no syscall is static when the policy counts its calls', () => {
    const log = rule('allow', { syscall: 'forge.log' });
    const watch = (marker: Record<string, unknown>) => ({
      markers: { m: marker },
      nodes: [
        {
          name: 'main',
          rules: [
            log,
            { id: 'w', action: 'deny', match: { syscall: 'wasi.fd_write', dna: { markers: ['m'] } } },
          ],
        },
      ],
    });
    const staticLog = (spec: Record<string, unknown>) =>
      compilePolicy(doc(spec)).decidesBySyscallOnlyFor('forge.log');
    // A trust condition anywhere reads the share of refused calls among all calls.
    expect(
      staticLog({
        nodes: [
          {
            name: 'main',
            rules: [
              log,
              { id: 't', action: 'allow', match: { syscall: 'wasi.fd_write', trust: { atLeast: 0.5 } } },
            ],
          },
        ],
      }),
    ).toBe(false);
    expect(staticLog(watch({ calls: { syscalls: ['forge.*'], atLeast: 3 } }))).toBe(false);
    expect(staticLog(watch({ calls: { syscalls: ['wasi.*'], atLeast: 3 } }))).toBe(true);
    expect(staticLog(watch({ ruleHits: { rules: ['main/r'], atLeast: 3 } }))).toBe(false);
    expect(staticLog(watch({ ruleHits: { rules: ['main/w'], atLeast: 3 } }))).toBe(true);
    expect(staticLog(watch({ denied: { atLeast: 3 } }))).toBe(false);
    expect(staticLog(watch({ newSyscalls: { atLeast: 1 } }))).toBe(false);
    expect(staticLog(watch({ external: true }))).toBe(true);
  });

  it('the example policy: nothing while own-kv weighs trust; without it, the process basics', () => {
    const text = readFileSync(examplePolicy('report-plugin.yaml'), 'utf8');
    const trustLine = '            trust: { atLeast: 0.5 }\n';
    expect(text).toContain(trustLine);
    // own-kv's trust condition weighs the share of refused calls among all calls.
    expect(loadPolicyText(text).decidesBySyscallOnlyFor('forge.log')).toBe(false);
    const graph = loadPolicyText(text.replace(trustLine, ''));
    const names = ['forge.log', 'wasi.args_get', 'wasi.fd_prestat_get', 'wasi.sock_send'];
    expect(names.filter((s) => graph.decidesBySyscallOnlyFor(s))).toEqual(names);
    // Arguments (stdio, /data, kv namespaces), counted calls (fs-scan, dir-walk), an edge on writes.
    const dynamic = ['wasi.fd_write', 'wasi.fd_read', 'forge.kv_put', 'wasi.path_open', 'wasi.fd_readdir'];
    expect(dynamic.filter((s) => graph.decidesBySyscallOnlyFor(s))).toEqual([]);
  });
});
