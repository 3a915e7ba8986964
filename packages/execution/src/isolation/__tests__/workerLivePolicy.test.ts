import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  LivePolicy,
  type SwappableEnforcer,
  type LivePolicyState,
  type PolicyDocumentInput,
} from '@forgeone/trust';
import { livePolicyHooks, openLivePolicyLane, type WorkerLivePolicy } from '../workerLivePolicy';
import { worldSyscallNames } from '../../world/guestWorld';

const doc = (name: string): PolicyDocumentInput => ({
  apiVersion: 'forgeone.dev/v1',
  kind: 'Policy',
  metadata: { name },
  spec: {
    nodes: [{ name: 'base', rules: [{ id: name, action: 'allow', match: { syscall: 'forge.log' } }] }],
  },
});
const clock = { now: () => 1_000, monotonicNs: () => 0n };

describe("a worker's end of a live policy lane", () => {
  it('takes every version owed, also when a bump is seen before its message can be received', () => {
    const policies = new LivePolicy({ document: doc('v1') }, { knownSyscalls: worldSyscallNames(), clock });
    const spec = policies.launchSpec();
    const lane = openLivePolicyLane(spec)!;
    const first = lane.wire.state;
    lane.close();
    // The wire by hand, so that a bump can come before its message, as across threads it can.
    const generation = new SharedArrayBuffer(4);
    const word = new Int32Array(generation);
    const { port1, port2 } = new MessageChannel();
    let live: WorkerLivePolicy | undefined;
    const hooks = livePolicyHooks(
      { livePolicy: { generation, port: port2, followMode: true, state: first } },
      spec,
      (l) => (live = l),
      { clock },
    );
    const enforcer = hooks.enforcer as SwappableEnforcer;
    expect(enforcer.version).toBe(first.version);
    const state = (version: number): LivePolicyState => ({ ...first, version, digest: `d${version}` });
    port1.postMessage(state(first.version + 1));
    Atomics.add(word, 0, 1);
    Atomics.add(word, 0, 1); // the second version's bump, its message not posted yet
    live!.check();
    expect(enforcer.version).toBe(first.version + 1);
    port1.postMessage(state(first.version + 2));
    live!.check();
    // The version owed is taken at the next call, not left behind by a counter that ran ahead.
    expect(enforcer.version).toBe(first.version + 2);
    live!.check();
    expect(enforcer.version).toBe(first.version + 2);
    live!.close();
    port1.close();
  });
});
