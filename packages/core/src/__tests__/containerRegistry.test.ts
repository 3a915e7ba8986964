import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryStore, openStateStore } from '@forgeone/common';
import { TraceStore } from '@forgeone/observer';
import { AuditLog } from '@forgeone/trust';
import { describe, expect, it } from 'vitest';
import { SERVICE, allow, containerRuntime } from './support/containerGuests';

describe('the audit log of containers', () => {
  it.each(['inline', 'worker'] as const)(
    'appends every call a %s container made, once it ended',
    async (isolation) => {
      const store = new MemoryStore();
      const audit = new AuditLog(store);
      const { runtime } = containerRuntime({ audit });
      const id = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation });
      await runtime.invoke(id, 'spin', [{ type: 'i32', value: 3 }]);
      await runtime.invoke(id, 'spin', [{ type: 'i32', value: 2 }]);
      await runtime.stop(id);
      const records = await audit.read();
      expect(records).toHaveLength(5);
      expect(JSON.stringify(records)).toContain(id);
      expect((await audit.verify()).ok).toBe(true);
      await runtime.close();
    },
  );

  it.each(['inline', 'worker'] as const)(
    'a %s container with a durable trace too: both get every call, each once and in order',
    async (isolation) => {
      const store = new MemoryStore();
      const audit = new AuditLog(store);
      const { runtime } = containerRuntime({ audit, store });
      const id = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation });
      // Several trace batches per call, handed to both the audit and the durable trace.
      await runtime.invoke(id, 'spin', [{ type: 'i32', value: 3000 }]);
      await runtime.invoke(id, 'spin', [{ type: 'i32', value: 2500 }]);
      await runtime.stop(id);
      const records = await audit.read({ limit: 10_000 });
      expect(records).toHaveLength(5500);
      expect(records.every((r) => JSON.stringify(r.entry).includes('forge.clock_now'))).toBe(true);
      expect((await audit.verify()).ok).toBe(true);
      const kept: number[] = [];
      for await (const event of new TraceStore(store).query({ containerId: id, limit: 10_000 }))
        kept.push(event.seq);
      expect(kept).toEqual(Array.from({ length: 5500 }, (_, i) => i + 1));
      await runtime.close();
    },
  );
});

describe('the container registry in the store', () => {
  it('a new runtime on the same store lists every container; the live ones show failed("interrupted")', async () => {
    const store = new MemoryStore();
    const first = containerRuntime({ store });
    const live = await first.runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'inline',
      name: 'live',
    });
    const paused = await first.runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'inline',
      name: 'p',
    });
    await first.runtime.pause(paused);
    const done = await first.runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'inline',
      name: 'done',
    });
    await first.runtime.stop(done);
    // The first kernel is never closed: to the second, it died.
    const second = containerRuntime({ store });
    const listed = await second.runtime.list();
    expect(listed.map((i) => [i.name, i.state, i.reason])).toEqual([
      ['live', 'failed', 'interrupted'],
      ['p', 'failed', 'interrupted'],
      ['done', 'stopped', undefined],
    ]);
    await expect(second.runtime.resume(paused)).rejects.toMatchObject({ code: 'FORGE_CONTAINER_STATE' });
    await second.runtime.remove(live);
    expect((await store.listRecords('containers')).map((r) => r.key).sort()).toEqual([done, paused].sort());
    await first.runtime.close();
    await second.runtime.close();
  });

  it('a container held in quarantine when its kernel died: interrupted, and its redzone record ended', async () => {
    const store = new MemoryStore();
    const first = containerRuntime({ store });
    const held = await first.runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'inline',
      name: 'held',
    });
    await first.runtime.containers.quarantine(held, 'looks like a scan');
    expect((await first.runtime.containers.redzone.get(held))?.state).toBe('active');
    // The first kernel is never closed: to the second, it died with the container held.
    const second = containerRuntime({ store });
    expect((await second.runtime.get(held)).state).toBe('failed');
    const record = await second.runtime.containers.redzone.get(held);
    expect(record?.state).toBe('terminated');
    expect(record?.history.at(-1)).toMatchObject({ action: 'terminate', by: 'kernel' });
    expect(await store.listRecords('redzone.held')).toEqual([]);
    await first.runtime.close();
    await second.runtime.close();
  });

  it('refuses a registry record that is not a container', async () => {
    const store = new MemoryStore();
    await store.putRecord('containers', 'ctr_x', { hello: 'world' });
    const { runtime } = containerRuntime({ store });
    await expect(runtime.list()).rejects.toMatchObject({ code: 'FORGE_STORAGE_CORRUPT' });
  });

  it('survives kill -9 of a kernel process: a new kernel on its state lists every container', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-containers-'));
    try {
      const script = fileURLToPath(new URL('./fixtures/containerKernel.mjs', import.meta.url));
      const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const ids = await new Promise<Record<string, string>>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line !== undefined && out.includes('\n')) resolve(JSON.parse(line) as Record<string, string>);
        });
        child.on('exit', (code) =>
          reject(new Error(`the kernel exited (${code}) before it was killed: ${err}`)),
        );
      });
      const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      const store = await openStateStore(dir);
      const { runtime } = containerRuntime({ store });
      const byName = Object.fromEntries((await runtime.list()).map((i) => [i.name, i]));
      expect(Object.keys(byName).sort()).toEqual(['done', 'endless', 'paused', 'service']);
      expect(byName['service']).toMatchObject({ id: ids['service'], state: 'failed', reason: 'interrupted' });
      expect(byName['endless']).toMatchObject({
        id: ids['endless'],
        kind: 'command',
        state: 'failed',
        reason: 'interrupted',
      });
      expect(byName['paused']).toMatchObject({ state: 'failed', reason: 'interrupted' });
      expect(byName['done']).toMatchObject({ state: 'stopped' });
      expect(byName['service']!.updated_at).toBeGreaterThanOrEqual(byName['service']!.created_at);
      // The new kernel runs containers of its own beside the old entries.
      const fresh = await runtime.launchContainer({
        source: SERVICE,
        policy: allow,
        isolation: 'inline',
        name: 'fresh',
      });
      expect((await runtime.get(fresh)).state).toBe('running');
      await runtime.close();
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
