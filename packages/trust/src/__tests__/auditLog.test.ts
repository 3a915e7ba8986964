import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, SqliteStore, type JsonValue, type LogEntry } from '@forgeone/common';
import { AUDIT_GENESIS, AuditLog, auditEntryOf, verifyAuditChain, type AuditEntryInput } from '../index';
import { request } from './support';

function entry(i: number): AuditEntryInput {
  return auditEntryOf(
    request(i % 2 ? 'wasi.path_open' : 'forge.log', { path: `/data/${i}`, n: i }),
    {
      action: i % 3 ? 'allow' : 'deny',
      reasons: [{ policy: 'main', rule: `r${i % 4}`, message: `decision ${i}` }],
    },
    { mode: 'enforce', action: i % 3 ? 'allow' : 'deny', executed: i % 3 !== 0 },
  );
}

describe('AuditLog', () => {
  afterEach(() => vi.useRealTimers());

  it('chains every entry to the one before, from the genesis hash', async () => {
    const store = new MemoryStore();
    const log = new AuditLog(store);
    expect(await log.append([entry(1), entry(2)])).toEqual({ firstSeq: 1, lastSeq: 2 });
    expect(await log.append([entry(3)])).toEqual({ firstSeq: 3, lastSeq: 3 });
    const records = await log.read();
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(records[0]?.prev).toBe(AUDIT_GENESIS);
    expect(records[1]?.prev).toBe(records[0]?.hash);
    expect(records[2]?.prev).toBe(records[1]?.hash);
    expect(records[2]?.entry).toEqual(entry(3));
    expect(await log.verify()).toEqual({ ok: true, entries: 3, head: 3, lastHash: records[2]!.hash });
  });

  it('enqueue is synchronous and buffered; a flush makes it durable; size and time thresholds flush by themselves', async () => {
    vi.useFakeTimers();
    const store = new MemoryStore();
    const log = new AuditLog(store, { maxBatch: 3, maxDelayMs: 100 });
    log.enqueue(entry(1));
    log.enqueue(entry(2));
    expect(log.buffered).toBe(2);
    expect(await store.logHead('audit')).toBe(0);
    log.enqueue(entry(3)); // size threshold
    await vi.waitFor(async () => expect(await store.logHead('audit')).toBe(3));
    log.enqueue(entry(4));
    await vi.advanceTimersByTimeAsync(100); // time threshold
    await vi.waitFor(async () => expect(await store.logHead('audit')).toBe(4));
    log.enqueue(entry(5));
    expect(await log.flush()).toEqual({ lastSeq: 5 });
    expect((await log.verify()).ok).toBe(true);
  });

  it('two writers on one store keep one chain', async () => {
    const store = new MemoryStore();
    const a = new AuditLog(store);
    const b = new AuditLog(store);
    await a.append([entry(1)]);
    await b.append([entry(2), entry(3)]);
    await a.append([entry(4)]);
    expect(await verifyAuditChain(store)).toMatchObject({ ok: true, entries: 4 });
  });

  it('a failed flush keeps its entries for the next one', async () => {
    const store = new MemoryStore();
    let fail = true;
    const flaky = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'transaction' && fail) return () => Promise.reject(new Error('disk full'));
        const value = Reflect.get(target, key, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const log = new AuditLog(flaky);
    log.enqueue(entry(1));
    await expect(log.flush()).rejects.toMatchObject({ code: 'FORGE_STORAGE_IO' });
    fail = false;
    expect(await log.flush()).toEqual({ lastSeq: 1 });
  });

  describe('tampering in the SQLite file is found, and the broken entry named', () => {
    async function storeWith(count: number) {
      const path = join(mkdtempSync(join(tmpdir(), 'forge-audit-')), 'audit.db');
      const store = await SqliteStore.open(path);
      await new AuditLog(store).append(Array.from({ length: count }, (_, i) => entry(i + 1)));
      await store.close();
      return path;
    }
    async function verifyFile(path: string, anchor?: { seq: number; hash: string }) {
      const store = await SqliteStore.open(path);
      try {
        return await verifyAuditChain(store, 'audit', anchor ? { anchor } : {});
      } finally {
        await store.close();
      }
    }
    function raw(path: string, sql: string, ...params: unknown[]) {
      const db = new Database(path);
      db.prepare(sql).run(...params);
      db.close();
    }

    it('a changed decision', async () => {
      const path = await storeWith(20);
      raw(
        path,
        `UPDATE logs SET data = replace(data, '"action":"deny"', '"action":"allow"') WHERE log = 'audit' AND seq = 12`,
      );
      expect(await verifyFile(path)).toMatchObject({ ok: false, brokenSeq: 12, entries: 11 });
    });

    it('a deleted entry', async () => {
      const path = await storeWith(20);
      raw(path, `DELETE FROM logs WHERE log = 'audit' AND seq = 7`);
      expect(await verifyFile(path)).toMatchObject({
        ok: false,
        brokenSeq: 7,
        reason: expect.stringContaining('missing'),
      });
    });

    it('an entry rewritten whole, hash recomputed: the next entry no longer links to it', async () => {
      const path = await storeWith(10);
      const db = new Database(path);
      const row = db.prepare(`SELECT data FROM logs WHERE log = 'audit' AND seq = 4`).get() as {
        data: string;
      };
      const data = JSON.parse(row.data) as {
        v: number;
        seq: number;
        prev: string;
        entry: AuditEntryInput;
        hash: string;
      };
      data.entry.executed = !data.entry.executed;
      const { canonicalJson, sha256Hex } = await import('@forgeone/crypto');
      data.hash = sha256Hex(canonicalJson({ v: data.v, seq: data.seq, prev: data.prev, entry: data.entry }));
      db.prepare(`UPDATE logs SET data = ? WHERE log = 'audit' AND seq = 4`).run(JSON.stringify(data));
      db.close();
      expect(await verifyFile(path)).toMatchObject({ ok: false, brokenSeq: 4 });
    });

    it('entries cut off the end are found against an anchor', async () => {
      const path = await storeWith(10);
      const before = await verifyFile(path);
      if (!before.ok) throw new Error('expected an intact chain');
      raw(path, `DELETE FROM logs WHERE log = 'audit' AND seq > 8`);
      expect((await verifyFile(path)).ok).toBe(true); // the chain alone cannot tell
      expect(await verifyFile(path, { seq: before.head, hash: before.lastHash })).toMatchObject({
        ok: false,
        brokenSeq: 9,
      });
    });
  });

  it('any single modification of a stored entry is detected and names that entry', async () => {
    const store = new MemoryStore();
    await new AuditLog(store).append(Array.from({ length: 8 }, (_, i) => entry(i + 1)));
    const stored = await store.readLog('audit');

    /** Every path to a leaf of a JSON value. */
    const leaves = (value: JsonValue, prefix: (string | number)[] = []): (string | number)[][] =>
      value !== null && typeof value === 'object'
        ? Object.entries(value).flatMap(([k, v]) =>
            leaves(v as JsonValue, [...prefix, Array.isArray(value) ? Number(k) : k]),
          )
        : [prefix];

    fc.assert(
      fc.asyncProperty(
        fc.nat(stored.length - 1),
        fc.nat(),
        fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.double()),
        async (index, pick, replacement) => {
          const target = stored[index]!;
          const paths = leaves(target.data);
          const path = paths[pick % paths.length]!;
          const data = structuredClone(target.data) as Record<string | number, JsonValue>;
          let node = data;
          for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, JsonValue>;
          const last = path[path.length - 1]!;
          fc.pre(JSON.stringify(node[last]) !== JSON.stringify(replacement));
          node[last] = replacement as JsonValue;
          const tampered: LogEntry[] = stored.map((e, i) => (i === index ? { ...e, data } : e));
          const result = await verifyAuditChain({
            readLog: async (_log, options = {}) => tampered.slice((options.fromSeq ?? 1) - 1),
          });
          expect(result).toMatchObject({ ok: false, brokenSeq: target.seq });
        },
      ),
      { numRuns: 300 },
    );
  });
});
