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
});
