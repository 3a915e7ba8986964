import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KernelEventBus, parseWith, IdentityContextSchema, type SyscallRequest } from '@forgeone/common';
import { LivePolicy, createSyscallEnforcer, livePolicyVersionOf, type PolicyDocumentInput } from '../index';

const KNOWN = ['forge.clock_now', 'forge.log', 'wasi.fd_write'];
const doc = (allow: readonly string[]): PolicyDocumentInput => ({
  apiVersion: 'forgeone.dev/v1',
  kind: 'Policy',
  metadata: { name: 'p' },
  spec: {
    nodes: [
      {
        name: 'base',
        rules: allow.length ? [{ id: 'ok', action: 'allow', match: { syscall: [...allow] } }] : [],
      },
    ],
  },
});
const identity = parseWith(IdentityContextSchema, { subject: 'guest' }, 'identity');
const request = (syscall: string): SyscallRequest => ({
  containerId: 'ctr_1' as SyscallRequest['containerId'],
  identity,
  syscall,
  args: {},
  time: 0,
});
const clock = { now: () => 1_000, monotonicNs: () => 0n };

describe('LivePolicy', () => {
  it('swaps versions into enforcers built from its launch spec, and withdraws their promises', () => {
    const events = new KernelEventBus();
    const seen: string[] = [];
    events.on('policy.reloaded', ({ version }) => seen.push(version));
    const live = new LivePolicy(
      { document: doc(['forge.clock_now']) },
      { knownSyscalls: KNOWN, events, clock },
    );
    const enforcer = createSyscallEnforcer(live.launchSpec(), { clock });
    let revoked = 0;
    enforcer.onRevoke?.(() => (revoked += 1));
    const first = enforcer.enforce(request('forge.clock_now'));
    expect(first.execute).toBe(true);
    expect(first.reusableBy).toBe(enforcer);
    expect(livePolicyVersionOf(first.decision.reasons)).toEqual({ version: 1, mode: 'enforce' });
    live.swap({ allow: ['forge.log'] }, { actor: 'ops', reason: 'tighten' });
    expect(revoked).toBe(1);
    const next = enforcer.enforce(request('forge.clock_now'));
    expect(next.execute).toBe(false);
    expect(livePolicyVersionOf(next.decision.reasons)?.version).toBe(2);
    expect(enforcer.enforce(request('forge.log')).execute).toBe(true);
    expect(live.history().map((v) => [v.version, v.kind, v.actor])).toEqual([
      [1, 'initial', undefined],
      [2, 'swap', 'ops'],
    ]);
    // A spec with its own mode keeps it through a change of the live mode; one without follows.
    const own = createSyscallEnforcer(live.launchSpec('enforce'), { clock });
    live.setMode('permissive');
    expect(enforcer.enforce(request('forge.clock_now'))).toMatchObject({ execute: true, mode: 'permissive' });
    expect(own.enforce(request('forge.clock_now'))).toMatchObject({ execute: false, mode: 'enforce' });
    expect(seen).toEqual(['2', '3']);
    // The same document again makes no version.
    expect(live.swap({ allow: ['forge.log'] }).version).toBe(3);
  });

  it('refuses a bad version whole, naming the cause; check() says the same without swapping', () => {
    const live = new LivePolicy({ document: doc([]) }, { knownSyscalls: KNOWN });
    for (const bad of [
      { document: { kind: 'Policy' } },
      { allow: ['forge.nope'] },
      { document: 'a: [' },
      null,
    ]) {
      expect(() => live.swap(bad as never)).toThrow(
        expect.objectContaining({ code: 'FORGE_POLICY_SWAP_REFUSED' }),
      );
      expect(() => live.check(bad as never)).toThrow(/FORGE_POLICY_SWAP_REFUSED|refused/);
    }
    expect(live.version).toBe(1);
    expect(() => new LivePolicy({ allow: ['forge.nope'] }, { knownSyscalls: KNOWN })).toThrow(
      /FORGE_POLICY_UNKNOWN_SYSCALL/,
    );
  });

  it('property: after any sequence of valid and invalid versions, the one in force is the last valid', () => {
    const valid = fc.subarray(KNOWN).map((allow) => ({ ok: true as const, input: { document: doc(allow) } }));
    const invalid = fc.constantFrom(
      { ok: false as const, input: { document: { apiVersion: 'forgeone.dev/v1' } } },
      { ok: false as const, input: { allow: ['wasi.no_such'] } },
      { ok: false as const, input: { document: 'kind: [' } },
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(valid, invalid), { maxLength: 12 }), (writes) => {
        const live = new LivePolicy({ document: doc([]) }, { knownSyscalls: KNOWN });
        const enforcer = createSyscallEnforcer(live.launchSpec(), { clock });
        let last: readonly string[] = [];
        for (const write of writes) {
          if (write.ok) {
            live.swap(write.input);
            last =
              (write.input.document.spec.nodes[0]!.rules?.[0]?.match?.syscall as string[] | undefined) ?? [];
          } else expect(() => live.swap(write.input)).toThrow();
        }
        for (const syscall of KNOWN)
          expect(enforcer.enforce(request(syscall)).execute).toBe(last.includes(syscall));
        expect(live.history().at(-1)?.version).toBe(live.version);
      }),
      { numRuns: 60 },
    );
  });
  it('keeps a stored version out of force until it is activated; activating an older one is a rollback as a new version', () => {
    const events = new KernelEventBus();
    const seen: string[] = [];
    events.on('policy.stored', ({ version }) => seen.push(`stored ${version}`));
    events.on('policy.reloaded', ({ version }) => seen.push(`live ${version}`));
    const live = new LivePolicy(
      { document: doc(['forge.clock_now']) },
      { knownSyscalls: KNOWN, events, clock },
    );
    const enforcer = createSyscallEnforcer(live.launchSpec(), { clock });
    const stored = live.store({ document: doc(['forge.log']) }, { actor: 'ops' });
    expect(stored).toMatchObject({ version: 2, kind: 'stored', actor: 'ops' });
    expect(live.version).toBe(1);
    expect(enforcer.enforce(request('forge.log')).execute).toBe(false);
    expect(live.versions().map((v) => [v.version, v.active, v.wentLive])).toEqual([
      [1, true, true],
      [2, false, false],
    ]);
    expect(live.documentOf(2)).toEqual(doc(['forge.log']));
    // A refused store keeps nothing.
    expect(() => live.store({ allow: ['forge.nope'] })).toThrow(
      expect.objectContaining({ code: 'FORGE_POLICY_SWAP_REFUSED' }),
    );
    expect(live.versions()).toHaveLength(2);

    expect(live.activate(2)).toMatchObject({ version: 2, kind: 'stored' });
    expect(live.version).toBe(2);
    expect(enforcer.enforce(request('forge.log')).execute).toBe(true);
    expect(live.activate(2)).toBe(live.current); // already in force: nothing changes

    const back = live.activate(1, { actor: 'ops', reason: 'rollback' });
    expect(back).toMatchObject({ version: 3, kind: 'activate', from: 1, reason: 'rollback' });
    expect(enforcer.enforce(request('forge.log')).execute).toBe(false);
    expect(enforcer.enforce(request('forge.clock_now')).execute).toBe(true);
    expect(livePolicyVersionOf(enforcer.enforce(request('forge.clock_now')).decision.reasons)?.version).toBe(
      3,
    );
    expect(() => live.activate(9)).toThrow(
      expect.objectContaining({ code: 'FORGE_POLICY_VERSION_NOT_FOUND' }),
    );
    expect(() => live.activate(Number.NaN)).toThrow(/FORGE_POLICY_VERSION_NOT_FOUND|not kept/);
    expect(live.history().map((v) => v.version)).toEqual([1, 2, 3]);
    expect(seen).toEqual(['stored 2', 'live 2', 'live 3']);
  });

  it('property: under any mix of store, swap, activate and mode changes, the live number only grows and names the document in force', () => {
    const op = fc.oneof(
      fc.subarray(KNOWN).map((allow) => ({ kind: 'store' as const, allow })),
      fc.subarray(KNOWN).map((allow) => ({ kind: 'swap' as const, allow })),
      fc.nat(20).map((n) => ({ kind: 'activate' as const, n })),
      fc.constantFrom('enforce', 'audit', 'permissive').map((mode) => ({ kind: 'mode' as const, mode })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 16 }), (ops) => {
        const live = new LivePolicy({ document: doc([]) }, { knownSyscalls: KNOWN, historyLimit: 6 });
        const enforcer = createSyscallEnforcer(live.launchSpec(), { clock });
        let highest = live.version;
        for (const o of ops) {
          const before = live.version;
          if (o.kind === 'store') live.store({ document: doc(o.allow) });
          else if (o.kind === 'swap') live.swap({ document: doc(o.allow) });
          else if (o.kind === 'mode') live.setMode(o.mode);
          else {
            const kept = live.versions().map((v) => v.version);
            if (kept.includes(o.n)) live.activate(o.n);
            else expect(() => live.activate(o.n)).toThrow(/not kept/);
          }
          expect(live.version).toBeGreaterThanOrEqual(before);
          if (live.version !== before) {
            expect(live.version).toBeGreaterThan(highest);
            highest = live.version;
          }
          const active = live.versions().filter((v) => v.active);
          expect(active.map((v) => v.version)).toEqual([live.version]);
          expect(live.documentOf(live.version)).toEqual(live.document);
          expect(live.versions().length).toBeLessThanOrEqual(6);
          const allowed = (live.document as ReturnType<typeof doc>).spec.nodes[0]!.rules?.[0]?.match
            ?.syscall as string[] | undefined;
          if (live.mode === 'enforce')
            for (const syscall of KNOWN)
              expect(enforcer.enforce(request(syscall)).execute).toBe((allowed ?? []).includes(syscall));
        }
      }),
      { numRuns: 80 },
    );
  });
});
