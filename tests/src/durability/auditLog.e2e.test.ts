import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '@forgeone/common';
import { AuditLog, isKernelAuditEntry } from '@forgeone/trust';
import { runUntilStopped } from '../support/killHarness';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

interface Run {
  readyHead: number;
  acked: number[];
  signal: NodeJS.Signals | null;
}

/** Starts the recording child and SIGKILLs it once it has acknowledged `target` flushes. */
async function recordUntilKilled(path: string, target: number): Promise<Run> {
  const run = await runUntilStopped({
    args: [fixture('auditUntilKilled.mjs'), path],
    isAck: (line) => !line.startsWith('ready '),
    after: target,
    giveUpMs: 170_000,
  });
  const ready = run.lines.find((line) => line.startsWith('ready '));
  return { readyHead: Number(ready?.slice(6) ?? -1), acked: run.acked.map(Number), signal: run.signal };
}

describe('AuditLog under kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forgeone-audit-kill-'));
  const path = join(dir, 'audit.db');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'keeps every acknowledged decision, and the chain verifies across repeated kills',
    { timeout: 180_000 },
    async () => {
      let verifiedHead = 0;
      for (const target of [200, 350]) {
        const run = await recordUntilKilled(path, target);
        expect(run.signal).toBe('SIGKILL');
        expect(run.readyHead).toBe(verifiedHead);
        const lastAcked = run.acked.at(-1)!;

        const store = await SqliteStore.open(path);
        const log = new AuditLog(store);
        const verification = await log.verify();
        expect(verification).toMatchObject({ ok: true });
        if (!verification.ok) return;
        // Everything acknowledged is there; at most the batch in flight when killed (<= 7) is extra.
        expect(verification.head).toBeGreaterThanOrEqual(lastAcked);
        expect(verification.head - lastAcked).toBeLessThanOrEqual(7);
        const records = await log.read({ fromSeq: 1, limit: 10_000 });
        expect(
          records.every(
            (r) =>
              r.entry.time === -1 ||
              (!isKernelAuditEntry(r.entry) && r.entry.args['n'] === r.seq && r.entry.time === r.seq),
          ),
        ).toBe(true);
        // The next writer continues the same chain after the crash.
        await log.append([{ ...records[0]!.entry, time: -1 }]);
        expect((await log.verify()).ok).toBe(true);
        verifiedHead = verification.head + 1;
        await store.close();
      }
    },
  );
});
