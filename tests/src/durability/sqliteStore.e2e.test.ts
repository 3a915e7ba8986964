import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore, storageLimits, type LogEntry } from '@forgeone/common';
import { runUntilStopped } from '../support/killHarness';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
// The driver @forgeone/common itself loads (this package does not depend on it directly).
const requireCommon = createRequire(createRequire(import.meta.url).resolve('@forgeone/common'));
const Database = requireCommon('better-sqlite3') as new (
  path: string,
  options: { readonly: boolean },
) => { pragma(sql: string, options: { simple: true }): unknown; close(): void };

interface Run {
  /** The head the child saw when it opened the store. */
  readyHead: number;
  /** Every lastSeq the child acknowledged, in order. */
  acked: number[];
  signal: NodeJS.Signals | null;
}

/** Starts the appending child and SIGKILLs it once it has acknowledged `target` appends. */
async function appendUntilKilled(path: string, target: number): Promise<Run> {
  const run = await runUntilStopped({
    args: [fixture('appendUntilKilled.mjs'), path],
    isAck: (line) => !line.startsWith('ready '),
    after: target,
    giveUpMs: 170_000,
  });
  const ready = run.lines.find((line) => line.startsWith('ready '));
  return { readyHead: Number(ready?.slice(6) ?? -1), acked: run.acked.map(Number), signal: run.signal };
}

async function readAll(store: SqliteStore): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  for (;;) {
    const page = await store.readLog('audit', { fromSeq: entries.length + 1, limit: storageLimits.maxPage });
    entries.push(...page);
    if (page.length < storageLimits.maxPage) return entries;
  }
}

describe('SqliteStore durability under kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forgeone-kill-'));
  const path = join(dir, 'store.db');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'keeps every acknowledged append, contiguous and intact, across repeated kills',
    { timeout: 180_000 },
    async () => {
      let verifiedHead = 0;
      // Each round continues the same database, so later rounds also recover from the previous crash.
      for (const target of [300, 520, 410]) {
        const run = await appendUntilKilled(path, target);
        expect(run.signal).toBe('SIGKILL');
        expect(run.readyHead).toBe(verifiedHead);
        expect(run.acked.length).toBeGreaterThanOrEqual(target);
        const lastAcked = run.acked.at(-1)!;
        expect(run.acked.every((seq, i) => seq > (i === 0 ? verifiedHead : run.acked[i - 1]!))).toBe(true);

        const store = await SqliteStore.open(path);
        const head = await store.logHead('audit');
        // Everything acknowledged is there; at most the one batch in flight (<= 7 entries) is extra.
        expect(head).toBeGreaterThanOrEqual(lastAcked);
        expect(head - lastAcked).toBeLessThanOrEqual(7);
        const entries = await readAll(store);
        expect(entries.length).toBe(head);
        for (const [i, entry] of entries.entries()) {
          if (entry.seq !== i + 1 || (entry.data as { seq: number }).seq !== entry.seq) {
            throw new Error(`entry at position ${i + 1} is ${JSON.stringify(entry)}`);
          }
        }
        // The record written in the same transaction as the last transactional batch matches it exactly.
        const lastTxEntry = entries.findLast((e) => (e.data as { viaTx: boolean }).viaTx);
        expect((await store.getRecord('state', 'lastTxSeq'))?.value).toBe(lastTxEntry?.seq);
        await store.close();

        const raw = new Database(path, { readonly: true });
        expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
        raw.close();
        verifiedHead = head;
      }
    },
  );
});
