import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, MemoryStore, SqliteStore } from '@forgeone/common';
import { generateKeyPair } from '@forgeone/crypto';
import { summarizeTrace, TraceSink, TraceStore, verifyTraceFile, type TraceEvent } from '../../index';
import { call, calls, header } from './storeFixtures';

const dir = mkdtempSync(join(tmpdir(), 'forge-trace-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = (ext: string) => join(dir, `f${(files += 1)}.${ext}`);

const seqs = (events: readonly { seq: number }[]) => events.map((e) => e.seq);

async function all(reader: TraceStore, containerId: string): Promise<TraceEvent[]> {
  const out: TraceEvent[] = [];
  for await (const event of reader.query({ containerId, limit: 10_000 })) out.push(event);
  return out;
}

describe('TraceSink', () => {
  it('writes batches in the background and acknowledges what is durable; the reader gets them back intact', async () => {
    const store = await SqliteStore.open(newFile('db'));
    const sink = await TraceSink.open(store, { header: header() });
    const events = calls(1, 3000);
    sink.add(events.slice(0, 1024));
    sink.add(events.slice(1024));
    // Nothing is written while the current turn runs: the caller never waits for the store.
    expect(sink.acknowledgedSeq).toBe(0);
    expect(sink.pending).toBe(3000);
    expect(await sink.flush()).toBe(3000);
    // A batch seen twice (the report's trace at the end) is taken once.
    sink.add(events.slice(2990));
    expect(await sink.close({ status: 'exited', exitCode: 0 })).toBe(3000);
    await store.close();

    const reopened = await SqliteStore.openReadOnly(store.path);
    const reader = new TraceStore(reopened);
    expect(await all(reader, 'ctr_test')).toEqual(events);
    const info = await reader.info('ctr_test');
    expect(info).toMatchObject({ acknowledgedSeq: 3000, trimmed: null, lost: null, missing: 0 });
    expect(info.stored.events).toBe(3000);
    expect(info.end).toEqual({ status: 'exited', exitCode: 0 });
    expect((await reader.list()).map((i) => i.containerId)).toEqual(['ctr_test']);
    await reopened.close();
  });

  it('trims the oldest events past the retention bound and says which went', async () => {
    const store = new MemoryStore();
    const sink = await TraceSink.open(store, { header: header(), retention: { maxEvents: 2500 } });
    for (let from = 1; from <= 10_000; from += 1000) {
      sink.add(calls(from, from + 999));
      await sink.flush();
    }
    await sink.close({ status: 'returned', exitCode: null });
    const reader = new TraceStore(store);
    const kept = await all(reader, 'ctr_test');
    const info = await reader.info('ctr_test');
    expect(kept.length).toBeLessThanOrEqual(2500);
    expect(info.trimmed).toMatchObject({
      fromSeq: 1,
      toSeq: 10_000 - kept.length,
      events: 10_000 - kept.length,
    });
    expect(seqs(kept)).toEqual(seqs(calls(10_001 - kept.length, 10_000)));
    // The export says the trimmed calls are gone: its end record counts them.
    const records = [];
    for await (const record of reader.records('ctr_test')) records.push(record);
    expect(records.at(-1)).toEqual({
      kind: 'end',
      end: {
        status: 'returned',
        exitCode: null,
        dropped: 10_000 - kept.length,
        droppedSeqs: [[1, 10_000 - kept.length]],
      },
    });
  });

  it('counts what does not fit the queue as lost, with its seq ranges, and never blocks the caller', async () => {
    const store = new MemoryStore();
    const sink = await TraceSink.open(store, { header: header(), maxPending: 500 });
    sink.add(calls(1, 2000));
    expect(sink.pending).toBe(500);
    expect(sink.lost).toBe(1500);
    await sink.flush();
    sink.add(calls(2001, 2100));
    await sink.close({ status: 'exited', exitCode: 0 });
    const info = await new TraceStore(store).info('ctr_test');
    expect(info.lost).toEqual({ events: 1500, ranges: [[501, 2000]] });
    expect(info.acknowledgedSeq).toBe(2100);
    expect(seqs(await all(new TraceStore(store), 'ctr_test'))).toEqual([
      ...seqs(calls(1, 500)),
      ...seqs(calls(2001, 2100)),
    ]);
  });

  it('for any batches, flushes and bounds: kept + trimmed + lost = every event, kept in order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 700 }), flush: fc.boolean() }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 50, max: 4000 }),
        async (batches, maxEvents, maxPending) => {
          const store = new MemoryStore();
          const sink = await TraceSink.open(store, {
            header: header(),
            retention: { maxEvents },
            maxPending,
          });
          let seq = 0;
          for (const { size, flush } of batches) {
            sink.add(calls(seq + 1, seq + size));
            seq += size;
            if (flush) await sink.flush();
          }
          await sink.close({ status: 'exited', exitCode: 0 });
          const reader = new TraceStore(store);
          const info = await reader.info('ctr_test');
          const kept = seqs(await all(reader, 'ctr_test'));
          expect(kept.length).toBeLessThanOrEqual(maxEvents);
          expect(kept).toEqual([...kept].sort((a, b) => a - b));
          const trimmed = info.trimmed === null ? [] : seqs(calls(info.trimmed.fromSeq, info.trimmed.toSeq));
          const lost = (info.lost?.ranges ?? []).flatMap(([a, b]) => seqs(calls(a, b)));
          const trimmedKept = trimmed.filter((s) => !lost.includes(s));
          expect(new Set([...kept, ...trimmedKept, ...lost]).size).toBe(seq);
          expect(kept.length + (info.trimmed?.events ?? 0) + (info.lost?.events ?? 0)).toBe(seq);
          expect(info.acknowledgedSeq).toBe(seq);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('counts the events of a write that failed as lost and says why', async () => {
    const store = new MemoryStore();
    const sink = await TraceSink.open(store, { header: header() });
    sink.add(calls(1, 10));
    await sink.flush();
    await store.close();
    sink.add(calls(11, 20));
    await expect(sink.flush()).rejects.toMatchObject({ code: 'FORGE_STORAGE_CLOSED' });
    expect(sink.lost).toBe(10);
    expect(sink.acknowledgedSeq).toBe(10);
  });

  it('refuses bad options with a code', async () => {
    const store = new MemoryStore();
    await expect(
      TraceSink.open(store, { header: header(), retention: { maxEvents: 0 } }),
    ).rejects.toMatchObject({
      code: 'FORGE_TRACE_STORE_INVALID',
    });
    await expect(TraceSink.open(store, { header: { ...header(), module: 'nope' } })).rejects.toMatchObject({
      code: 'FORGE_TRACE_STORE_INVALID',
    });
    await expect(TraceSink.open(store, { header: header('bad id!') })).rejects.toMatchObject({
      code: 'FORGE_TRACE_STORE_INVALID',
    });
  });
});

describe('TraceStore', () => {
  async function filled(count: number, end = true): Promise<MemoryStore> {
    const store = new MemoryStore({ clock: new ManualClock(1) });
    const sink = await TraceSink.open(store, { header: header() });
    sink.add(calls(1, count));
    if (end) await sink.close({ status: 'exited', exitCode: 0 });
    else await sink.flush();
    return store;
  }

  it('queries by syscall, decision, seq and time range, in pages that cover every match once', async () => {
    const reader = new TraceStore(await filled(5000));
    const expected = calls(1, 5000).filter(
      (e) =>
        e.syscall === 'wasi.fd_write' &&
        e.action === 'deny' &&
        e.seq >= 100 &&
        e.seq <= 4000 &&
        e.time <= call(3500).time,
    );
    const got: TraceEvent[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await reader.page({
        containerId: 'ctr_test',
        syscall: 'wasi.fd_write',
        decision: 'deny',
        fromSeq: 100,
        toSeq: 4000,
        until: call(3500).time,
        limit: 7,
        ...(cursor === undefined ? {} : { cursor }),
      });
      got.push(...page.events);
      cursor = page.next;
      pages += 1;
    } while (cursor !== undefined);
    expect(got).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 7) + (expected.length % 7 === 0 ? 1 : 0));
    const since = await reader.page({ containerId: 'ctr_test', since: call(4990).time });
    expect(seqs(since.events)).toEqual(seqs(calls(4990, 5000)));
    const seqRange = await reader.page({ containerId: 'ctr_test', fromSeq: 2047, toSeq: 2050 });
    expect(seqs(seqRange.events)).toEqual([2047, 2048, 2049, 2050]);
  });

  it('refuses a bad query, an unknown container and a bad cursor with codes', async () => {
    const reader = new TraceStore(await filled(10));
    const page = (query: object) => reader.page({ containerId: 'ctr_test', ...query });
    await expect(page({ fromSeq: 5, toSeq: 4 })).rejects.toMatchObject({ code: 'FORGE_TRACE_QUERY_INVALID' });
    await expect(page({ since: 5, until: 4 })).rejects.toMatchObject({ code: 'FORGE_TRACE_QUERY_INVALID' });
    await expect(page({ limit: 0 })).rejects.toMatchObject({ code: 'FORGE_TRACE_QUERY_INVALID' });
    await expect(page({ syscall: 'not a syscall' })).rejects.toMatchObject({
      code: 'FORGE_TRACE_QUERY_INVALID',
    });
    await expect(page({ decision: 'maybe' })).rejects.toMatchObject({ code: 'FORGE_TRACE_QUERY_INVALID' });
    await expect(page({ cursor: 'x' })).rejects.toMatchObject({ code: 'FORGE_TRACE_QUERY_INVALID' });
    await expect(reader.page({ containerId: 'ctr_none' })).rejects.toMatchObject({
      code: 'FORGE_TRACE_STORE_NOT_FOUND',
    });
  });

  it('exports a format-2 file that verifies, signed or not; a run with no end exports unsigned only', async () => {
    const reader = new TraceStore(await filled(1500));
    const key = generateKeyPair('ed25519');
    const path = newFile('jsonl');
    let text = '';
    for await (const line of reader.exportLines('ctr_test', { sign: key })) text += `${line}\n`;
    writeFileSync(path, text);
    const verified = await verifyTraceFile(path, { key: key.publicKey });
    expect(verified.calls).toBe(1500);
    expect(verified.signature?.verified).toBe(true);

    const open = new TraceStore(await filled(20, false));
    const lines: string[] = [];
    for await (const line of open.exportLines('ctr_test')) lines.push(line);
    expect(lines).toHaveLength(21);
    const unended = newFile('jsonl');
    writeFileSync(unended, `${lines.join('\n')}\n`);
    await expect(verifyTraceFile(unended)).rejects.toMatchObject({ code: 'FORGE_TRACE_INCOMPLETE' });
    await expect(
      (async () => {
        for await (const _ of open.exportLines('ctr_test', { sign: key }));
      })(),
    ).rejects.toMatchObject({ code: 'FORGE_TRACE_INCOMPLETE' });
  });

  it('summarises a stored trace as it summarises a file', async () => {
    const reader = new TraceStore(await filled(300));
    const summary = await summarizeTrace(reader.records('ctr_test'), { budget: 1000 });
    expect(summary.tokens).toBeLessThanOrEqual(1000);
    expect(JSON.stringify(summary)).toContain('wasi.fd_write');
  });

  it('gives FORGE_TRACE_STORE_CORRUPT, not a crash, for a damaged or hostile store', async () => {
    const first = (await (await filled(3)).readLog('trace/ctr_test'))[0]!.data as object;
    const damaged = [
      { v: 1 },
      'not an entry',
      { ...first, c: '{"s":[0' },
      { ...first, c: '{"s":[0,1,2]}' },
      { ...((await (await filled(3)).readLog('trace/ctr_test'))[0]!.data as object), n: 99 },
    ];
    for (const data of damaged) {
      const store = await filled(3);
      await store.append('trace/ctr_test', [data]);
      await expect(new TraceStore(store).page({ containerId: 'ctr_test' })).rejects.toMatchObject({
        code: 'FORGE_TRACE_STORE_CORRUPT',
      });
    }
    // An event edited into something the gate never records (an allowed call that did not run).
    const store = await filled(3);
    const entry = (await store.readLog('trace/ctr_test'))[0]!.data as { c: string };
    const columns = JSON.parse(entry.c) as { x: number[] };
    columns.x[0] = 0;
    await store.append('trace/ctr_test', [{ ...entry, c: JSON.stringify(columns) }]);
    await store.trimLog('trace/ctr_test', 2);
    await expect(all(new TraceStore(store), 'ctr_test')).rejects.toMatchObject({
      code: 'FORGE_TRACE_STORE_CORRUPT',
    });
    const index = await filled(3);
    await index.putRecord('traces', 'ctr_test', { v: 1, containerId: 'ctr_test' });
    await expect(new TraceStore(index).info('ctr_test')).rejects.toMatchObject({
      code: 'FORGE_TRACE_STORE_CORRUPT',
    });
    await expect(new TraceStore(index).list()).rejects.toMatchObject({ code: 'FORGE_TRACE_STORE_CORRUPT' });
  });
});
