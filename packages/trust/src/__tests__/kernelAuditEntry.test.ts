import { describe, expect, it } from 'vitest';
import { MemoryStore, type JsonValue } from '@forgeone/common';
import { AuditLog, auditEntryOf, isKernelAuditEntry, type KernelAuditEntry } from '../index';
import { request } from './support';

const boot = (mode: string): KernelAuditEntry => ({
  time: 1000,
  kernel: 'boot',
  facts: { mode, root: { version: 3, keyIds: ['ab', 'cd'] }, selfTest: { ok: true, failed: [] } },
});
const decision = auditEntryOf(
  request('forge.log', { n: 1 }),
  { action: 'allow', reasons: [{ policy: 'main', message: 'ok' }] },
  { mode: 'enforce', action: 'allow', executed: true },
);

describe('kernel entries in the audit log', () => {
  it('chains kernel events and decisions in one log, and tells them apart on reading', async () => {
    const store = new MemoryStore();
    const log = new AuditLog(store);
    await log.append([boot('normal'), decision]);
    log.enqueue(boot('debug'));
    await log.flush();
    const records = await log.read();
    expect(records.map((r) => isKernelAuditEntry(r.entry))).toEqual([true, false, true]);
    expect(records[0]?.entry).toEqual(boot('normal'));
    expect(records[2]?.prev).toBe(records[1]?.hash);
    expect(await log.verify()).toMatchObject({ ok: true, entries: 3 });
  });

  it('finds a kernel entry whose facts were changed', async () => {
    const store = new MemoryStore();
    const log = new AuditLog(store);
    await log.append([boot('normal'), decision]);
    // Rewrite entry 1 in place, as someone with access to the store could.
    const [first] = await store.readLog('audit', { fromSeq: 1, limit: 1 });
    const data = structuredClone(first!.data) as { entry: { facts: { mode: JsonValue } } };
    data.entry.facts.mode = 'maintenance';
    const tampered = new MemoryStore();
    await tampered.append('audit', [data as unknown as JsonValue]);
    const [, second] = await store.readLog('audit', { fromSeq: 1, limit: 2 });
    await tampered.append('audit', [second!.data]);
    expect(await new AuditLog(tampered).verify()).toMatchObject({ ok: false, brokenSeq: 1 });
  });
});
