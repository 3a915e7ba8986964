import { describe, expect, it } from 'vitest';
import { ForgeError, MemoryStore, type StoragePort } from '@forgeone/common';
import { AuditLog } from '@forgeone/trust';
import { createKernel } from '../index';

describe('createKernel', () => {
  it('composes a kernel with defaults that runs a module', async () => {
    const kernel = await createKernel();
    expect(kernel.config.mode).toBe('enforce');
    expect(kernel.id).toMatch(/^krn_/);
    const report = await kernel.runtime.runModule({
      source: new TextEncoder().encode('(module (func (export "_start")))'),
      name: 'empty.wat',
      pdp: { decide: () => ({ action: 'deny', reasons: [] }) },
    });
    expect(report.outcome.status).toBe('returned');
    await kernel.shutdown();
  });

  it('boots before composing when given boot options: the runtime honours the mode, the boot is audited', async () => {
    const store = new MemoryStore();
    const kernel = await createKernel({ store, auditStore: store, boot: { mode: 'recovery' } });
    expect(kernel.boot).toMatchObject({ mode: 'recovery', root: null, auditSeq: 1 });
    await expect(
      kernel.runtime.runModule({
        file: 'app.forgepkg',
        policy: { mode: 'enforce', policy: { kind: 'allow-list', allow: [] } },
      }),
    ).rejects.toMatchObject({ code: 'FORGE_KERNEL_RECOVERY' });
    const [record] = await new AuditLog(store).read();
    expect(record?.entry).toMatchObject({ kernel: 'boot', facts: { outcome: 'booted', mode: 'recovery' } });
    await kernel.shutdown();
  });

  it('refuses to compose a kernel whose boot is refused', async () => {
    await expect(createKernel({ boot: { rootPath: '/nonexistent/root.json' } })).rejects.toMatchObject({
      code: 'FORGE_ROOT_IO',
    });
  });

  it('gives each kernel its own state', async () => {
    const a = await createKernel();
    const b = await createKernel();
    expect(a.id).not.toBe(b.id);
    expect(a.events).not.toBe(b.events);
  });

  it('keeps durable traces in its store by default; durableTraces: false keeps none; options need a store', async () => {
    const source = new TextEncoder().encode('(module (func (export "_start")))');
    const pdp = { decide: () => ({ action: 'deny' as const, reasons: [] }) };
    const kept = await createKernel({ store: new MemoryStore() });
    expect((await kept.runtime.runModule({ source, pdp })).storedTrace).toBeDefined();
    await kept.shutdown();
    const off = await createKernel({ store: new MemoryStore(), durableTraces: false });
    expect((await off.runtime.runModule({ source, pdp })).storedTrace).toBeUndefined();
    await off.shutdown();
    await expect(createKernel({ durableTraces: { retention: { maxEvents: 10 } } })).rejects.toMatchObject({
      code: 'FORGE_INVALID_INPUT',
    });
  });

  it('refuses an invalid configuration with a coded error', async () => {
    await expect(createKernel({ config: { mode: 'yolo' as 'audit' } })).rejects.toBeInstanceOf(ForgeError);
  });

  it('closes the store it was given on shutdown, once', async () => {
    let closed = 0;
    const store = { kind: 'fake', close: async () => void (closed += 1) } as unknown as StoragePort;
    const kernel = await createKernel({ store });
    const events: string[] = [];
    kernel.events.on('kernel.shutdown', (e) => events.push(e.reason));
    await kernel.shutdown('test');
    await kernel.shutdown('again');
    expect(closed).toBe(1);
    expect(events).toEqual(['test']);
  });
});
