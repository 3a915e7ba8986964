import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '@forgeone/common';
import { AuditLog, type PolicyDocumentInput } from '@forgeone/trust';
import { createKernel, type Kernel } from '../index';

/** A service whose `probe(k)` calls forge.clock_now k times and answers how many were refused. */
const PROBE = new TextEncoder().encode(`(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "probe") (param $k i32) (result i32) (local $refused i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $k)))
      (if (i32.ne (call $now (i32.const 8)) (i32.const 0))
        (then (local.set $refused (i32.add (local.get $refused) (i32.const 1)))))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br $again)))
    (local.get $refused)))`);

/** A service whose `untilRefused()` calls forge.clock_now until one is refused, and answers how many were allowed. */
const UNTIL_REFUSED = new TextEncoder().encode(`(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "untilRefused") (result i32) (local $allowed i32)
    (block $done (loop $again
      (br_if $done (i32.ne (call $now (i32.const 8)) (i32.const 0)))
      (local.set $allowed (i32.add (local.get $allowed) (i32.const 1)))
      (br $again)))
    (local.get $allowed)))`);

/** A policy document whose one rule decides forge.clock_now. */
function clockPolicy(action: 'allow' | 'deny'): PolicyDocumentInput {
  return {
    apiVersion: 'forgeone.dev/v1',
    kind: 'Policy',
    metadata: { name: `clock-${action}` },
    spec: {
      nodes: [
        { name: 'base', rules: [{ id: `clock-${action}`, action, match: { syscall: 'forge.clock_now' } }] },
      ],
    },
  };
}

/** Every record of an audit log, read in pages. */
async function readAll(log: AuditLog) {
  const all: Awaited<ReturnType<AuditLog['read']>> = [];
  for (;;) {
    const page = await log.read({ fromSeq: (all.at(-1)?.seq ?? 0) + 1, limit: 10_000 });
    all.push(...page);
    if (page.length < 10_000) return all;
  }
}

const i32 = (value: number) => ({ type: 'i32', value }) as const;
const kernels: Kernel[] = [];
afterEach(async () => {
  await Promise.all(kernels.splice(0).map((k) => k.shutdown()));
});

async function refusedOf(kernel: Kernel, id: Parameters<Kernel['runtime']['invoke']>[0], k: number) {
  const result = await kernel.runtime.invoke(id, 'probe', [i32(k)]);
  expect(result.outcome.status).toBe('returned');
  return Number((result.values[0] as { value: number }).value);
}

describe.each(['inline', 'worker'] as const)('a live policy under running containers (%s)', (isolation) => {
  it('decides the next call of a running container under a swapped-in version; no reused decision is kept', async () => {
    const store = new MemoryStore();
    const kernel = await createKernel({ policy: { document: clockPolicy('allow') }, auditStore: store });
    kernels.push(kernel);
    const policies = kernel.policies!;
    expect(policies.version).toBe(1);
    const id = await kernel.runtime.launchContainer({ source: PROBE, name: 'probe.wat', isolation });
    // Enough calls that the allowed decision is reused (the gate stopped asking): then swapped.
    expect(await refusedOf(kernel, id, 500)).toBe(0);
    const v2 = policies.swap({ document: clockPolicy('deny'), source: 'deny.yaml' }, { actor: 'test' });
    expect(v2).toMatchObject({ version: 2, kind: 'swap', source: 'deny.yaml', actor: 'test' });
    expect(await refusedOf(kernel, id, 1)).toBe(1);
    expect(await refusedOf(kernel, id, 300)).toBe(300);
    // And back: every call allowed again.
    policies.swap({ document: clockPolicy('allow') });
    expect(await refusedOf(kernel, id, 300)).toBe(0);
    expect(policies.history().map((v) => v.version)).toEqual([1, 2, 3]);

    // The audit log names the version that decided each call.
    await kernel.runtime.stop(id);
    const log = new AuditLog(store);
    const records = await log.read({ limit: 10_000 });
    const versions = records
      .map((r) => r.entry as { syscall?: string; policyVersion?: number; executed?: boolean })
      .filter((e) => e.syscall === 'forge.clock_now');
    expect(versions.length).toBe(1101);
    expect(versions.slice(0, 500).every((e) => e.policyVersion === 1 && e.executed)).toBe(true);
    expect(versions.slice(500, 801).every((e) => e.policyVersion === 2 && !e.executed)).toBe(true);
    expect(versions.slice(801).every((e) => e.policyVersion === 3 && e.executed)).toBe(true);
  });

  it('refuses a version that does not compile (or fails its tests) as a whole; old decisions go on', async () => {
    const kernel = await createKernel({ policy: { document: clockPolicy('allow') } });
    kernels.push(kernel);
    const id = await kernel.runtime.launchContainer({ source: PROBE, name: 'probe.wat', isolation });
    expect(await refusedOf(kernel, id, 200)).toBe(0);
    const policies = kernel.policies!;
    expect(() => policies.swap({ document: { apiVersion: 'forgeone.dev/v1', kind: 'Policy' } })).toThrow(
      expect.objectContaining({ code: 'FORGE_POLICY_SWAP_REFUSED' }),
    );
    expect(() => policies.swap({ document: 'spec: [unclosed' })).toThrow(/FORGE_POLICY_PARSE/);
    const unknown = clockPolicy('deny');
    unknown.spec.nodes[0]!.rules![0]!.match = { syscall: 'forge.no_such_call' };
    expect(() => policies.swap({ document: unknown })).toThrow(/FORGE_POLICY_UNKNOWN_SYSCALL/);
    // A version whose own test cases fail never goes live.
    const tests = {
      apiVersion: 'forgeone.dev/v1',
      kind: 'PolicyTests',
      cases: [
        { name: 'clock allowed', request: { syscall: 'forge.clock_now' }, expect: { action: 'allow' } },
      ],
    };
    expect(() => policies.swap({ document: clockPolicy('deny'), tests })).toThrow(/FORGE_POLICY_TEST_FAILED/);
    expect(policies.version).toBe(1);
    expect(await refusedOf(kernel, id, 200)).toBe(0);
    // The same tests pass for a version that allows the clock: it goes live with them (the very
    // document in force again would make no version).
    const tested = { ...clockPolicy('allow'), metadata: { name: 'clock-tested' } };
    expect(policies.swap({ document: tested, tests })).toMatchObject({ version: 2, testsPassed: 1 });
    expect(policies.swap({ document: tested, tests }).version).toBe(2);
  });

  it('a live change of mode reaches running guests that follow it, not those with a mode of their own', async () => {
    const kernel = await createKernel({ policy: { document: clockPolicy('deny') } });
    kernels.push(kernel);
    const follows = await kernel.runtime.launchContainer({ source: PROBE, name: 'a.wat', isolation });
    const own = await kernel.runtime.launchContainer({
      source: PROBE,
      name: 'b.wat',
      isolation,
      mode: 'enforce',
    });
    expect(await refusedOf(kernel, follows, 50)).toBe(50);
    kernel.runtime.setMode('audit');
    expect(kernel.runtime.mode).toBe('audit');
    expect(kernel.policies!.current).toMatchObject({ kind: 'mode', mode: 'audit', version: 2 });
    expect(await refusedOf(kernel, follows, 50)).toBe(0);
    expect(await refusedOf(kernel, own, 50)).toBe(50);
  });
});

it('a launch with a policy of its own is not under the live policy', async () => {
  const kernel = await createKernel({ policy: { allow: ['forge.clock_now'] } });
  kernels.push(kernel);
  const live = await kernel.runtime.launchContainer({ source: PROBE, isolation: 'inline' });
  const own = await kernel.runtime.launchContainer({
    source: PROBE,
    isolation: 'inline',
    policy: { mode: 'enforce', policy: { kind: 'allow-list', allow: [] } },
  });
  expect(await refusedOf(kernel, live, 10)).toBe(0);
  expect(await refusedOf(kernel, own, 10)).toBe(10);
  kernel.policies!.swap({ allow: [] });
  expect(await refusedOf(kernel, live, 10)).toBe(10);
  kernel.policies!.swap({ allow: ['forge.*'] });
  expect(await refusedOf(kernel, live, 10)).toBe(0);
  expect(await refusedOf(kernel, own, 10)).toBe(10);
});

it('a swap reaches a worker guest in the middle of a call: its next syscall is refused, each call audited under its version', async () => {
  const store = new MemoryStore();
  const kernel = await createKernel({ policy: { document: clockPolicy('allow') }, auditStore: store });
  kernels.push(kernel);
  const id = await kernel.runtime.launchContainer({
    source: UNTIL_REFUSED,
    isolation: 'worker',
    limits: { timeoutMs: 60_000, syscallsPerSecond: 0 },
  });
  const call = kernel.runtime.invoke(id, 'untilRefused', []);
  // The guest is looping on hot (reused) calls in its worker when the version changes.
  await new Promise((resolve) => setTimeout(resolve, 50));
  kernel.policies!.swap({ document: clockPolicy('deny') });
  const result = await call;
  expect(result.outcome.status).toBe('returned');
  const allowed = Number((result.values[0] as { value: number }).value);
  expect(allowed).toBeGreaterThan(0);
  await kernel.runtime.stop(id);
  const entries = (await readAll(new AuditLog(store)))
    .map((r) => r.entry as { syscall?: string; policyVersion?: number; executed?: boolean })
    .filter((e) => e.syscall === 'forge.clock_now');
  expect(entries.length).toBe(allowed + 1);
  expect(entries.slice(0, allowed).every((e) => e.policyVersion === 1 && e.executed)).toBe(true);
  expect(entries.at(-1)).toMatchObject({ policyVersion: 2, executed: false });
}, 60_000);
