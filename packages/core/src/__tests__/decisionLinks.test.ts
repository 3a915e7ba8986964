import { MemoryStore, decisionIdOf, parseDecisionId } from '@forgeone/common';
import { AuditLog, isKernelAuditEntry, type AuditEntryInput } from '@forgeone/trust';
import { describe, expect, it } from 'vitest';
import { COMMAND, SERVICE, allow, containerRuntime } from './support/containerGuests';

const spin = (k: number) => [{ type: 'i32', value: k }] as const;

describe.each(['inline', 'worker'] as const)('decision ids and request ids (%s)', (isolation) => {
  it('every audited call names its decision, its trace sequence number and the request that made it', async () => {
    const store = new MemoryStore();
    const audit = new AuditLog(store);
    const { runtime } = containerRuntime({ audit });
    const id = await runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation,
      requestId: 'req-launch',
    });
    const ranges = [
      (await runtime.invoke(id, 'spin', [...spin(3)], { requestId: 'req-a' })).calls,
      (await runtime.invoke(id, 'spin', [...spin(2)])).calls,
      (await runtime.invoke(id, 'spin', [...spin(1500)], { requestId: 'req-b' })).calls,
      (await runtime.invoke(id, 'noop', [], { requestId: 'req-c' })).calls,
      (await runtime.invoke(id, 'spin', [...spin(1)], { requestId: 'req-a' })).calls,
    ];
    // A caller that names its request learns the range of its calls; a library call is unchanged.
    expect(ranges).toEqual([
      { fromSeq: 1, toSeq: 3 },
      undefined,
      { fromSeq: 6, toSeq: 1505 },
      { fromSeq: 1506, toSeq: 1505 },
      { fromSeq: 1506, toSeq: 1506 },
    ]);
    await runtime.stop(id);
    await audit.flush();
    const entries = (await audit.read({ limit: 10_000 }))
      .map((r) => r.entry)
      .filter((e): e is AuditEntryInput => !isKernelAuditEntry(e));
    expect(entries.map((e) => e.traceSeq)).toEqual(Array.from({ length: 1506 }, (_, i) => i + 1));
    const expected = (seq: number) =>
      seq <= 3 ? 'req-a' : seq <= 5 ? undefined : seq <= 1505 ? 'req-b' : 'req-a';
    for (const e of entries) {
      expect(e.decisionId).toBe(decisionIdOf(id, e.traceSeq!));
      expect(parseDecisionId(e.decisionId)).toEqual({ containerId: id, seq: e.traceSeq });
      expect(e.requestId).toBe(expected(e.traceSeq!));
    }
    // Each decision is found from its id, without reading the chain.
    for (const seq of [1, 4, 6, 1505, 1506]) {
      const record = await audit.findDecision(id, seq);
      expect((record?.entry as AuditEntryInput).decisionId).toBe(decisionIdOf(id, seq));
    }
    expect(await audit.findDecision(id, 1507)).toBeUndefined();
    await runtime.close();
  });

  it("a command's calls name the request that launched it; a bad request id is refused", async () => {
    const audit = new AuditLog(new MemoryStore());
    const { runtime } = containerRuntime({ audit });
    const id = await runtime.launchContainer({
      source: COMMAND,
      policy: allow,
      isolation,
      requestId: 'req-run',
    });
    await expect.poll(async () => (await runtime.get(id)).state).toBe('stopped');
    await audit.flush();
    await expect
      .poll(async () => (await audit.findDecision(id, 1))?.entry)
      .toMatchObject({ requestId: 'req-run' });
    for (const bad of ['', 'a b', 'x'.repeat(201), 'é', 42])
      await expect(
        runtime.launchContainer({ source: SERVICE, policy: allow, isolation, requestId: bad as string }),
      ).rejects.toMatchObject({ code: 'FORGE_INVALID_INPUT' });
    const svc = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation });
    await expect(runtime.invoke(svc, 'noop', [], { requestId: 'new\nline' })).rejects.toMatchObject({
      code: 'FORGE_INVALID_INPUT',
    });
    await runtime.close();
  });
});
