import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore, SqliteStore, decisionIdOf, newId, type ContainerId } from '@forgeone/common';
import { AuditLog, auditEntryOf, type AuditEntry } from '../index';
import { request } from './support';

const dir = mkdtempSync(join(tmpdir(), 'forge-audit-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function decision(containerId: ContainerId, traceSeq: number, requestId?: string): AuditEntry {
  const base = request('forge.log', { n: traceSeq });
  return auditEntryOf(
    { ...base, containerId },
    { action: 'allow', reasons: [{ policy: 'main', message: 'ok' }] },
    {
      mode: 'enforce',
      action: 'allow',
      executed: true,
      traceSeq,
      decisionId: decisionIdOf(containerId, traceSeq),
      ...(requestId === undefined ? {} : { requestId }),
    },
  );
}

function apiRequest(requestId: string): AuditEntry {
  return { time: 1, kernel: 'api.request', facts: { requestId, operation: 'invokeContainer' } };
}

describe('audit index', () => {
  it('finds every decision and request, however containers interleave and batches split (property)', async () => {
    const containers = [newId('container'), newId('container'), newId('container')];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ who: fc.nat(3), flush: fc.boolean() }), { maxLength: 120 }),
        async (steps) => {
          const log = new AuditLog(new MemoryStore(), { maxBatch: 10_000 });
          const next = [1, 1, 1];
          const requests: string[] = [];
          for (const [i, step] of steps.entries()) {
            if (step.who === 3) {
              requests.push(`req-${i}`);
              log.enqueue(apiRequest(`req-${i}`));
            } else {
              log.enqueue(decision(containers[step.who]!, next[step.who]!++));
            }
            if (step.flush) await log.flush();
          }
          await log.flush();
          for (const [who, containerId] of containers.entries()) {
            for (let seq = 1; seq < next[who]!; seq += 1) {
              const record = await log.findDecision(containerId, seq);
              expect(record?.entry).toEqual(decision(containerId, seq));
            }
            expect(await log.findDecision(containerId, next[who]!)).toBeUndefined();
          }
          for (const id of requests) expect((await log.findRequest(id))?.entry).toEqual(apiRequest(id));
          expect(await log.findRequest('req-none')).toBeUndefined();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('is written with its records in SQLite, and a damaged index finds nothing rather than a wrong record', async () => {
    const path = join(dir, 'audit.db');
    const store = await SqliteStore.open(path);
    const log = new AuditLog(store);
    const a = newId('container');
    const b = newId('container');
    await log.append([decision(a, 1, 'r1'), decision(a, 2, 'r1'), decision(b, 1), apiRequest('r1')]);
    expect((await log.findDecision(a, 2))?.seq).toBe(2);
    expect((await log.findDecision(b, 1))?.seq).toBe(3);
    expect((await log.findRequest('r1'))?.seq).toBe(4);
    // Point a's run at b's record: the lookup checks what it reads.
    const [run] = await store.listRecords('audit.index', { prefix: `d/${a}/` });
    await store.putRecord('audit.index', run!.key, { from: 1, auditSeq: 2 });
    expect(await log.findDecision(a, 2)).toBeUndefined();
    await store.putRecord('audit.index', run!.key, { from: 'x' });
    expect(await log.findDecision(a, 1)).toBeUndefined();
    await store.close();
    // Reopened: the index survived with the chain.
    const again = await SqliteStore.open(path);
    expect((await new AuditLog(again).findDecision(b, 1))?.entry).toEqual(decision(b, 1));
    expect((await new AuditLog(again).findRequest('r1'))?.seq).toBe(4);
    await again.close();
  });
});
