import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ForgeError, IdentityContextSchema, type ContainerId, type SyscallRequest } from '@forgeone/common';
import { AllowListPdp } from '../index';

const identity = IdentityContextSchema.parse({ subject: 'test' });
const request = (syscall: string): SyscallRequest => ({
  containerId: 'ctr_test' as ContainerId,
  identity,
  syscall,
  args: {},
  time: 0,
});
const known = ['forge.log', 'forge.clock_now', 'wasi.fd_write', 'wasi.path_open'];

describe('AllowListPdp', () => {
  it('allows listed syscalls and says which entry allowed them', () => {
    const pdp = new AllowListPdp(['forge.log'], { knownSyscalls: known });
    const decision = pdp.decide(request('forge.log'));
    expect(decision.action).toBe('allow');
    expect(decision.reasons[0]).toMatchObject({ policy: 'allow-list', rule: 'forge.log' });
  });

  it('denies everything else by default, with a reason', () => {
    const pdp = new AllowListPdp(['forge.log'], { knownSyscalls: known });
    const decision = pdp.decide(request('forge.clock_now'));
    expect(decision.action).toBe('deny');
    expect(decision.reasons[0]?.message).toContain('default deny');
  });

  it('allows a whole namespace with ns.*', () => {
    const pdp = new AllowListPdp(['wasi.*'], { knownSyscalls: known });
    expect(pdp.decide(request('wasi.path_open')).action).toBe('allow');
    expect(pdp.decide(request('forge.log')).action).toBe('deny');
  });

  it('refuses unknown names and malformed entries with a code', () => {
    expect(() => new AllowListPdp(['forge.nope'], { knownSyscalls: known })).toThrow(ForgeError);
    for (const bad of [
      'forge',
      '',
      'forge.log;rm',
      'Forge.Log',
      '*.*',
      'net.*',
      7,
      null,
      {},
      ['forge.log'],
    ]) {
      try {
        new AllowListPdp([bad as string], { knownSyscalls: known });
        expect.unreachable(`accepted ${bad}`);
      } catch (error) {
        expect((error as ForgeError).code).toBe('FORGE_POLICY_UNKNOWN_SYSCALL');
      }
    }
  });

  it('never allows a syscall that no entry covers (property)', () => {
    const name = fc.stringMatching(/^[a-z]{1,6}\.[a-z][a-z_]{0,9}$/);
    fc.assert(
      fc.property(fc.uniqueArray(name, { maxLength: 8 }), name, (entries, probe) => {
        const pdp = new AllowListPdp(entries);
        const allowed = pdp.decide(request(probe)).action === 'allow';
        expect(allowed).toBe(entries.includes(probe));
      }),
    );
  });
});
