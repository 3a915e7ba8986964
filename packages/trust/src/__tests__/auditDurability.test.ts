import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '@forgeone/common';
import { AuditLog } from '../index';
import { assertBuilt, fixture, packageDir } from './builtPackage';

interface Run {
  readyHead: number;
  acked: number[];
  signal: NodeJS.Signals | null;
}

/** Starts the recording child and SIGKILLs it once it has acknowledged `target` flushes. */
function recordUntilKilled(path: string, target: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture('auditUntilKilled.mjs'), path], {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let readyHead = -1;
    const acked: number[] = [];
    let pending = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('ready ')) readyHead = Number(line.slice(6));
        else acked.push(Number(line));
      }
      // The child keeps recording while the signal is on its way: it dies somewhere mid-flush.
      if (!killed && acked.length >= target) killed = child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (!killed) reject(new Error(`the recording child exited on its own (code ${code}): ${stderr}`));
      else resolve({ readyHead, acked, signal });
    });
  });
}

describe('AuditLog under kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forgeone-audit-kill-'));
  const path = join(dir, 'audit.db');
  beforeAll(assertBuilt);
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
            (r) => r.entry.time === -1 || (r.entry.args['n'] === r.seq && r.entry.time === r.seq),
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
