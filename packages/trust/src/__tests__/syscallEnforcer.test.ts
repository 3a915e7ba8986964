import { describe, expect, it } from 'vitest';
import { ManualClock, type EnforcementMode, type SyscallRequest } from '@forgeone/common';
import {
  AllowListPdp,
  PolicyEngine,
  SyscallEnforcer,
  compilePolicy,
  createSyscallEnforcer,
  enforcerSpecFromPolicyFile,
  loadPolicyFile,
  type AuditEntryInput,
  type EnforcerSpec,
} from '../index';
import { allSyscalls, doc, examplePolicy, identity, request } from './support';

const policy = doc({
  nodes: [
    {
      name: 'main',
      rules: [
        { id: 'log', action: 'allow', match: { syscall: 'forge.log' } },
        { id: 'kv', action: 'ask', match: { syscall: 'forge.kv_put' } },
        { id: 'net', action: 'quarantine', match: { syscall: 'wasi.sock_*' } },
      ],
    },
  ],
});

function enforcerIn(
  mode: EnforcementMode,
  extra: Partial<ConstructorParameters<typeof SyscallEnforcer>[0]> = {},
) {
  const audit: AuditEntryInput[] = [];
  const enforcer = new SyscallEnforcer({
    pdp: compilePolicy(policy),
    mode,
    audit: (e) => audit.push(e),
    ...extra,
  });
  return { enforcer, audit };
}

describe('SyscallEnforcer modes', () => {
  it('enforce: only allowed calls run; every decision is audited with its reasons', () => {
    const { enforcer, audit } = enforcerIn('enforce');
    expect(enforcer.enforce(request('forge.log'))).toMatchObject({ execute: true, mode: 'enforce' });
    const denied = enforcer.enforce(request('forge.clock_now', { big: 2n ** 40n }));
    expect(denied).toMatchObject({ execute: false, decision: { action: 'deny' } });
    expect(audit.map((e) => [e.syscall, e.action, e.executed])).toEqual([
      ['forge.log', 'allow', true],
      ['forge.clock_now', 'deny', false],
    ]);
    expect(audit[1]).toMatchObject({
      mode: 'enforce',
      subject: 'pkg:acme/report@1.0.0',
      args: { big: '1099511627776' },
    });
    expect(audit[1]?.reasons[0]?.policy).toBe('default');
  });

  it('audit: decides and records every call, but lets every call run (a quarantine is only recorded)', () => {
    const { enforcer, audit } = enforcerIn('audit');
    expect(enforcer.enforce(request('forge.clock_now'))).toMatchObject({
      execute: true,
      decision: { action: 'deny' },
    });
    const net = enforcer.enforce(request('wasi.sock_accept'));
    expect(net.execute).toBe(true);
    expect(net.quarantine).toBeUndefined();
    enforcer.enforce(request('forge.log'));
    expect(audit.map((e) => [e.action, e.executed, e.mode])).toEqual([
      ['deny', true, 'audit'],
      ['quarantine', true, 'audit'],
      ['allow', true, 'audit'],
    ]);
  });

  it('permissive: lets every call run and records only the refusals', () => {
    const { enforcer, audit } = enforcerIn('permissive');
    expect(enforcer.enforce(request('forge.log')).execute).toBe(true);
    expect(enforcer.enforce(request('forge.clock_now')).execute).toBe(true);
    expect(audit.map((e) => e.syscall)).toEqual(['forge.clock_now']);
  });

  it('keeps `new SyscallEnforcer({ pdp, mode })` working for an allow-list', () => {
    const enforcer = new SyscallEnforcer({ pdp: new AllowListPdp(['forge.log']), mode: 'enforce' });
    expect(enforcer.enforce(request('forge.log')).execute).toBe(true);
    expect(enforcer.enforce(request('forge.clock_now')).execute).toBe(false);
  });

  it('a failing audit trail refuses the call when enforcing (nothing runs unrecorded)', () => {
    const enforcer = new SyscallEnforcer({
      pdp: compilePolicy(policy),
      audit: () => {
        throw new Error('disk full');
      },
    });
    const result = enforcer.enforce(request('forge.log'));
    expect(result.execute).toBe(false);
    expect(result.decision.reasons[0]?.message).toContain('the audit trail failed');
  });
});

describe('ask and quarantine', () => {
  it('ask goes to the approver: its verdict decides, and the audit entry says how it was answered', () => {
    const clock = new ManualClock(1000);
    const asked: string[] = [];
    const { enforcer, audit } = enforcerIn('enforce', {
      clock,
      approver: (req, decision) => {
        asked.push(`${req.syscall}:${decision.action}`);
        clock.advance(250);
        return req.args['key'] === 'ok' ? 'allow' : 'deny';
      },
    });
    const approved = enforcer.enforce(request('forge.kv_put', { key: 'ok' }));
    expect(approved).toMatchObject({ execute: true, decision: { action: 'allow' } });
    expect(approved.decision.reasons[0]).toMatchObject({
      policy: 'operator',
      message: 'approved by the operator',
    });
    expect(enforcer.enforce(request('forge.kv_put', { key: 'no' }))).toMatchObject({
      execute: false,
      decision: { action: 'deny' },
    });
    expect(asked).toEqual(['forge.kv_put:ask', 'forge.kv_put:ask']);
    expect(audit[0]).toMatchObject({
      action: 'ask',
      executed: true,
      approval: { verdict: 'allow', waitedMs: 250 },
    });
  });

  it('without an approver, ask is denied with a reason saying so', () => {
    const { enforcer } = enforcerIn('enforce');
    const result = enforcer.enforce(request('forge.kv_put'));
    expect(result.execute).toBe(false);
    expect(result.decision.reasons[0]?.message).toContain('no approver is available');
  });

  it('a quarantine decision stops the call and tells the gate to quarantine the container', () => {
    const { enforcer } = enforcerIn('enforce');
    const result = enforcer.enforce(request('wasi.sock_accept'));
    expect(result).toMatchObject({ execute: false, decision: { action: 'quarantine' } });
    expect(result.quarantine).toContain('quarantine by main/net');
  });

  it('quarantine thresholds on anomaly and trust apply whatever the policy says', () => {
    const { enforcer } = enforcerIn('enforce', { quarantine: { maxAnomaly: 0.8, minTrust: 0.3 } });
    expect(enforcer.enforce(request('forge.log', {}, { scores: { anomaly: 0.5, trust: 0.9 } })).execute).toBe(
      true,
    );
    const anomalous = enforcer.enforce(request('forge.log', {}, { scores: { anomaly: 0.85 } }));
    expect(anomalous.quarantine).toContain('anomaly score 0.850 is above the quarantine threshold 0.8');
    const distrusted = enforcer.enforce(request('forge.log', {}, { scores: { trust: 0.2 } }));
    expect(distrusted.quarantine).toContain('trust score 0.200 is below the quarantine threshold 0.3');
  });

  it('the example policy quarantines a plugin that keeps probing outside /data', async () => {
    const graph = await loadPolicyFile(examplePolicy('report-plugin.yaml'), { knownSyscalls: allSyscalls });
    const enforcer = new SyscallEnforcer({ pdp: graph, mode: 'enforce' });
    const who = identity({ subject: 'pkg:acme/report-plugin@1.0.0' });
    const probe = (path: string) =>
      enforcer.enforce(
        request('wasi.path_open', { fd: 3, path, read: true, write: false }, { identity: who }),
      );
    expect(probe('/data/in.csv').execute).toBe(true);
    const results = ['/etc', '/home', '/root', '/var', '/usr', '/opt', '/srv', '/tmp', '/boot'].map(probe);
    expect(results.slice(0, 8).map((r) => r.decision.action)).toEqual(Array(8).fill('deny'));
    expect(results[8]).toMatchObject({ execute: false, decision: { action: 'quarantine' } });
    expect(results[8]?.quarantine).toBe('the plugin is scanning the file system');
    // Another container is judged on its own history.
    const other = enforcer.enforce(
      request(
        'wasi.path_open',
        { path: '/etc', write: false },
        { identity: who, containerId: 'ctr_other' as never },
      ),
    );
    expect(other.decision.action).toBe('deny');
  });
});

describe('per-syscall policies', () => {
  it('tighten a decision: argument patterns, identity and minimum trust, with their own action', () => {
    const enforcer = new SyscallEnforcer({
      pdp: compilePolicy(doc({ nodes: [{ name: 'a', rules: [{ id: 'all', action: 'allow' }] }] })),
      syscallPolicies: [
        { syscall: 'wasi.path_open', args: { path: { under: '/data' } } },
        { syscall: 'forge.kv_*', identity: { roles: ['writer'] }, action: 'ask' },
        { syscall: 'forge.log', minTrust: 0.5, action: 'quarantine' },
      ],
    });
    expect(enforcer.enforce(request('wasi.path_open', { path: '/data/x' })).execute).toBe(true);
    const outside = enforcer.enforce(request('wasi.path_open', { path: '/etc/x' }));
    expect(outside).toMatchObject({ execute: false, decision: { action: 'deny' } });
    expect(outside.decision.reasons[0]).toMatchObject({ policy: 'syscall-policy', rule: 'syscalls[0]' });
    expect(outside.decision.reasons[0]?.message).toBe(
      'wasi.path_open requires path under /data (got /etc/x)',
    );
    expect(enforcer.enforce(request('forge.kv_put')).decision.reasons[1]?.message).toContain(
      'requires roles include writer',
    );
    expect(
      enforcer.enforce(request('forge.kv_put', {}, { identity: identity({ roles: ['writer'] }) })).execute,
    ).toBe(true);
    expect(enforcer.enforce(request('forge.log', {}, { scores: { trust: 0.4 } })).quarantine).toContain(
      'requires trust >= 0.5',
    );
  });

  it('an invalid syscall policy is refused when the enforcer is built', () => {
    expect(
      () =>
        new SyscallEnforcer({
          pdp: new AllowListPdp([]),
          syscallPolicies: [{ syscall: 'x.y', args: { p: { regex: '(a|a)*b' } } }],
        }),
    ).toThrow(expect.objectContaining({ code: 'FORGE_ENFORCER_SPEC_INVALID' }));
  });
});

describe('createSyscallEnforcer builds everything from a JSON spec', () => {
  it('a document spec survives a trip through JSON (a worker message) and enforces the policy', async () => {
    const spec = await enforcerSpecFromPolicyFile(examplePolicy('report-plugin.yaml'), 'enforce', {
      quarantine: { maxAnomaly: 0.9 },
      knownSyscalls: allSyscalls,
    });
    const audit: AuditEntryInput[] = [];
    const enforcer = createSyscallEnforcer(JSON.parse(JSON.stringify(spec)) as EnforcerSpec, {
      clock: new ManualClock(),
      audit: (e) => audit.push(e),
    });
    expect(enforcer.enforce(request('wasi.sock_send')).decision.reasons[0]?.message).toBe(
      'the plugin never touches the network',
    );
    expect(enforcer.enforce(request('forge.log', {}, { scores: { anomaly: 0.95 } })).quarantine).toContain(
      'anomaly score',
    );
    expect(
      enforcer
        .enforce(request('wasi.path_open', { path: '/data/exports/r.pdf', write: true }))
        .decision.reasons.map((r) => r.policy),
    ).toEqual(['enforcer', 'file-writes', 'file-writes', 'report-plugin']);
    expect(audit).toHaveLength(3);
  });

  it('an allow-list spec, with ask and within', () => {
    const approvals: string[] = [];
    const enforcer = createSyscallEnforcer(
      {
        mode: 'enforce',
        policy: {
          kind: 'allow-list',
          allow: ['forge.*'],
          ask: ['forge.kv_put'],
          within: ['forge.log', 'forge.kv_put'],
        },
      },
      { clock: new ManualClock(), approver: (req) => (approvals.push(req.syscall), 'allow') },
    );
    expect(enforcer.enforce(request('forge.log')).execute).toBe(true);
    expect(enforcer.enforce(request('forge.clock_now')).decision.reasons[0]?.message).toContain(
      'outside the capabilities the package requested',
    );
    expect(enforcer.enforce(request('forge.kv_put')).execute).toBe(true);
    expect(approvals).toEqual(['forge.kv_put']);
  });

  it('a malformed spec is FORGE_ENFORCER_SPEC_INVALID; a bad document keeps its own code', () => {
    const clock = new ManualClock();
    expect(() => createSyscallEnforcer({ mode: 'strict' } as never, { clock })).toThrow(
      expect.objectContaining({ code: 'FORGE_ENFORCER_SPEC_INVALID' }),
    );
    expect(() =>
      createSyscallEnforcer(
        { mode: 'enforce', policy: { kind: 'document', document: { apiVersion: 'x' }, source: 'p.yaml' } },
        { clock },
      ),
    ).toThrow(expect.objectContaining({ code: 'FORGE_POLICY_VERSION' }));
  });
});

describe('SyscallEnforcer: reusable decisions (Enforcement.reusableBy)', () => {
  const allowLog = () => new AllowListPdp(['forge.log']);
  const reusable = (enforcer: SyscallEnforcer, syscall = 'forge.log') =>
    enforcer.enforce(request(syscall)).reusableBy === enforcer;

  it('promises reuse of an allow-list allow with nothing else to consult or record', () => {
    expect(reusable(new SyscallEnforcer({ pdp: allowLog() }))).toBe(true);
    expect(reusable(new SyscallEnforcer({ pdp: allowLog(), mode: 'permissive' }))).toBe(true);
  });

  it('never promises reuse of a refusal', () => {
    expect(reusable(new SyscallEnforcer({ pdp: allowLog() }), 'forge.clock_now')).toBe(false);
  });

  it('makes no promise when every call is owed an audit entry, a check, or fresh context', () => {
    const noop = () => undefined;
    expect(reusable(new SyscallEnforcer({ pdp: allowLog(), audit: noop }))).toBe(false);
    expect(reusable(new SyscallEnforcer({ pdp: allowLog(), context: noop }))).toBe(false);
    expect(reusable(new SyscallEnforcer({ pdp: allowLog(), quarantine: { minTrust: 0 } }))).toBe(false);
    expect(
      reusable(
        new SyscallEnforcer({
          pdp: allowLog(),
          syscallPolicies: [{ syscall: 'forge.log', minTrust: 0 }],
        }),
      ),
    ).toBe(false);
  });

  it('makes no promise for a PDP that promises nothing, or one that can be reloaded', () => {
    expect(reusable(new SyscallEnforcer({ pdp: { decide: allowLog().decide.bind(allowLog()) } }))).toBe(
      false,
    );
    // A PolicyEngine may swap its graph for one that decides otherwise.
    const engine = new PolicyEngine(compilePolicy(policy));
    expect(engine.graph.decidesBySyscallOnlyFor('forge.log')).toBe(true);
    expect(reusable(new SyscallEnforcer({ pdp: engine }))).toBe(false);
  });
});

describe('SyscallEnforcer: reusable decisions under a policy graph (decidesBySyscallOnlyFor)', () => {
  const main = (rules: unknown[], spec: Record<string, unknown> = {}) =>
    compilePolicy(doc({ nodes: [{ name: 'main', rules }], ...spec }));
  const allowRule = (id: string, match: Record<string, unknown>, weight = 0) => ({
    id,
    action: 'allow',
    weight,
    match,
  });
  const reused = (enforcer: SyscallEnforcer, req: SyscallRequest) => {
    const enforcement = enforcer.enforce(req);
    expect(enforcement).toMatchObject({ execute: true, decision: { action: 'allow' } });
    return enforcement.reusableBy === enforcer;
  };

  it('reuses an allow for a syscall whose rules read only its name and the identity (globs count)', () => {
    const graph = main([
      allowRule('log', { syscall: 'forge.log' }),
      allowRule('clocks', { syscall: 'wasi.clock_*', identity: { roles: ['ops'] } }),
      allowRule('reads', { syscall: 'wasi.fd_read', args: { fd: 3 } }),
    ]);
    const enforcer = new SyscallEnforcer({ pdp: graph });
    expect(reused(enforcer, request('forge.log', { message: 'hi' }))).toBe(true);
    const ops = identity({ roles: ['ops'] });
    expect(reused(enforcer, request('wasi.clock_time_get', { id: 0 }, { identity: ops }))).toBe(true);
    // Permissive mode runs everything, but only an allow is reused.
    const permissive = new SyscallEnforcer({ pdp: graph, mode: 'permissive' });
    expect(reused(permissive, request('forge.log'))).toBe(true);
    expect(permissive.enforce(request('forge.clock_now')).reusableBy).toBeUndefined();
  });

  it('does not reuse a syscall that a rule reading its arguments can match', () => {
    const enforcer = new SyscallEnforcer({
      pdp: main([
        allowRule('writes', { syscall: 'wasi.fd_write' }),
        { id: 'no-fd-5', action: 'deny', weight: 5, match: { syscall: 'wasi.fd_*', args: { fd: 5 } } },
      ]),
    });
    expect(reused(enforcer, request('wasi.fd_write', { fd: 1 }))).toBe(false);
    // Right so: the same syscall with another argument is denied.
    expect(enforcer.enforce(request('wasi.fd_write', { fd: 5 })).execute).toBe(false);
  });

  it('does not reuse a syscall an ask rule can match, even when an allow outranks it or the operator approves', () => {
    const outranked = new SyscallEnforcer({
      pdp: main([
        allowRule('put', { syscall: 'forge.kv_put' }, 10),
        { id: 'ask-kv', action: 'ask', match: { syscall: 'forge.kv_*' } },
      ]),
    });
    expect(reused(outranked, request('forge.kv_put'))).toBe(false);
    const approved = new SyscallEnforcer({
      pdp: main([{ id: 'ask-kv', action: 'ask', match: { syscall: 'forge.kv_put' } }]),
      approver: () => 'allow',
    });
    const enforcement = approved.enforce(request('forge.kv_put'));
    expect(enforcement.execute).toBe(true);
    expect(enforcement.reusableBy).toBeUndefined();
  });

  it('does not reuse when the enforcer owes each call an audit entry, a threshold or a per-syscall check', () => {
    const pdp = () => main([allowRule('log', { syscall: 'forge.log' })]);
    const noop = () => undefined;
    expect(reused(new SyscallEnforcer({ pdp: pdp() }), request('forge.log'))).toBe(true);
    expect(reused(new SyscallEnforcer({ pdp: pdp(), audit: noop }), request('forge.log'))).toBe(false);
    expect(reused(new SyscallEnforcer({ pdp: pdp(), context: noop }), request('forge.log'))).toBe(false);
    for (const quarantine of [{ minTrust: 0 }, { maxAnomaly: 1 }]) {
      expect(reused(new SyscallEnforcer({ pdp: pdp(), quarantine }), request('forge.log'))).toBe(false);
    }
    const syscallPolicies = [{ syscall: 'wasi.fd_write', minTrust: 0 }];
    expect(reused(new SyscallEnforcer({ pdp: pdp(), syscallPolicies }), request('forge.log'))).toBe(false);
  });

  it('does not reuse a syscall whose calls a marker counts: later decisions would miss them', () => {
    const enforcer = new SyscallEnforcer({
      pdp: main(
        [
          allowRule('log', { syscall: 'forge.log' }),
          allowRule('clock', { syscall: 'forge.clock_now' }),
          {
            id: 'chatty',
            action: 'quarantine',
            match: { syscall: 'forge.kv_put', dna: { markers: ['chatty'] } },
          },
        ],
        { markers: { chatty: { calls: { syscalls: ['forge.log'], atLeast: 2 } } } },
      ),
    });
    expect(reused(enforcer, request('forge.clock_now'))).toBe(true);
    expect(reused(enforcer, request('forge.log'))).toBe(false);
    expect(reused(enforcer, request('forge.log'))).toBe(false);
    // Both calls of forge.log were seen: the marker holds.
    expect(enforcer.enforce(request('forge.kv_put')).quarantine).toBeDefined();
  });
});
