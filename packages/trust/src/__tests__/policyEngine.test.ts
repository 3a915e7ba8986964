import { describe, expect, it } from 'vitest';
import { KernelEventBus } from '@forgeone/common';
import { PolicyEngine, compilePolicy } from '../index';
import { doc, identity, knownSyscalls, request } from './support';

const v1 = doc(
  { nodes: [{ name: 'a', rules: [{ id: 'log', action: 'allow', match: { syscall: 'forge.log' } }] }] },
  { name: 'p', version: '1' },
);
const v2 = doc(
  {
    nodes: [{ name: 'a', rules: [{ id: 'clock', action: 'allow', match: { syscall: 'forge.clock_now' } }] }],
  },
  { name: 'p', version: '2' },
);

describe('PolicyEngine hot reload', () => {
  it('swaps a valid policy in whole, with a fresh decision cache, and publishes policy.reloaded', () => {
    const events = new KernelEventBus();
    const versions: string[] = [];
    events.on('policy.reloaded', ({ version }) => versions.push(version));
    const engine = new PolicyEngine(compilePolicy(v1), { events, knownSyscalls });
    const who = identity();
    expect(engine.decide(request('forge.log', {}, { identity: who })).action).toBe('allow');
    expect(engine.decide(request('forge.log', {}, { identity: who })).action).toBe('allow'); // cached
    const result = engine.reload(v2);
    expect(result.ok).toBe(true);
    expect(engine.decide(request('forge.log', {}, { identity: who })).action).toBe('deny');
    expect(engine.decide(request('forge.clock_now', {}, { identity: who })).action).toBe('allow');
    expect(engine.graph.cacheStats().hits).toBe(0);
    expect(versions).toEqual(['p@2']);
  });

  it('refuses an invalid policy with every problem, and the old policy stays in force', () => {
    const engine = new PolicyEngine(compilePolicy(v1), { knownSyscalls });
    const broken = `apiVersion: forgeone.dev/v1
kind: Policy
metadata: { name: p, version: '3' }
spec:
  nodes:
    - name: a
      rules:
        - { id: all, action: allow, match: { syscall: '*' } }
        - { id: bad, action: deny, match: { args: { path: { regex: '(a*)*b' } } } }
  edges:
    - { from: a, to: b }
`;
    const result = engine.reloadText(broken, 'next.yaml');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.issues.map((i) => i.code).sort()).toEqual([
        'FORGE_POLICY_MISSING_NODE',
        'FORGE_POLICY_UNSAFE_REGEX',
      ]);
      expect(result.issues.every((i) => i.file === 'next.yaml' && i.line !== undefined)).toBe(true);
    }
    // Nothing of the refused policy applies: its allow-everything rule in particular.
    expect(engine.decide(request('forge.clock_now')).action).toBe('deny');
    expect(engine.decide(request('forge.log')).action).toBe('allow');
    expect(engine.graph.label).toBe('p@1');
    expect(engine.reloads).toBe(0);
  });
});
