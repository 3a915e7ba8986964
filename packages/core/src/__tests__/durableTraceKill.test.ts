import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '@forgeone/common';
import { TraceStore } from '@forgeone/observer';

describe('durable traces survive kill -9', () => {
  it('every event acknowledged before the kill is in the store, intact and in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-trace-kill-'));
    try {
      const script = fileURLToPath(new URL('./fixtures/durableTraceKernel.mjs', import.meta.url));
      const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      // Killed once a few batches are acknowledged, while the guest is still calling.
      const { id, acknowledged } = await new Promise<{ id: string; acknowledged: number }>(
        (resolve, reject) => {
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            const id = /^id (\S+)$/m.exec(out)?.[1];
            const acks = [...out.matchAll(/^ack (\d+)$/gm)].map((m) => Number(m[1]));
            const last = acks.at(-1) ?? 0;
            if (id !== undefined && last >= 5_000) resolve({ id, acknowledged: last });
          });
          child.on('exit', (code) =>
            reject(new Error(`the kernel exited (${code}) before it was killed: ${err}`)),
          );
        },
      );
      const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      const store = await SqliteStore.openReadOnly(join(dir, 'kernel.db'));
      try {
        const traces = new TraceStore(store);
        const info = await traces.info(id);
        // The store acknowledges at least what the process printed, and the run never ended.
        expect(info.acknowledgedSeq).toBeGreaterThanOrEqual(acknowledged);
        expect(info.end).toBeNull();
        expect(info.lost).toBeNull();
        let next = 1;
        // Every event is read back checked (schema and entry metadata): none is damaged.
        for await (const event of traces.query({
          containerId: id,
          toSeq: info.acknowledgedSeq,
          limit: 10_000,
        })) {
          expect(event.seq).toBe(next);
          expect(event).toMatchObject({ syscall: 'forge.clock_now', action: 'allow', executed: true });
          next += 1;
        }
        expect(next - 1).toBe(info.acknowledgedSeq);
        // The export of a killed run has no end record: `trace verify` says it is incomplete.
        const records = [];
        for await (const record of traces.records(id)) records.push(record.kind);
        expect(records.at(-1)).toBe('call');
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
