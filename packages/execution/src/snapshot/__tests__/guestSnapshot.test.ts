import { afterAll, describe, expect, it } from 'vitest';
import { decodeSnapshot } from '@forgeone/observer';
import { wat } from '../../__tests__/support/testWat';
import { WasmHost, type EnforcerSpec, type HostInstanceOptions, type InlineInstance } from '../../index';

const allowWrite: EnforcerSpec = {
  mode: 'enforce',
  policy: { kind: 'allow-list', allow: ['wasi.fd_write'] },
};

/** A service whose init grows and fills memory and sets globals of every number type. */
const SERVICE = wat(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 64)
  (data (i32.const 16) "hi\\n")
  (global $counter (mut i32) (i32.const 0))
  (global $big (mut i64) (i64.const 0))
  (global $f (mut f64) (f64.const 0))
  (global $g (mut f32) (f32.const 0))
  (global $seed (mut i32) (i32.const 0))
  (global $const i32 (i32.const 9))
  (func (export "init")
    (drop (memory.grow (i32.const 2)))
    (global.set $counter (i32.const 41))
    (global.set $big (i64.const -5))
    (global.set $f (f64.const 1.5))
    (global.set $g (f32.const -0.25))
    (i32.store (i32.const 70000) (i32.const 12345))
    (memory.fill (i32.const 131072) (i32.const 7) (i32.const 65536)))
  (func (export "next") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))
  (func (export "peek") (result i32) (i32.load (i32.const 70000)))
  (func (export "tail") (result i32) (i32.load8_u (i32.const 196607)))
  (func (export "big") (result i64) (global.get $big))
  (func (export "f") (result f64) (global.get $f))
  (func (export "g") (result f32) (global.get $g))
  (func (export "pages") (result i32) (memory.size))
  (func (export "hello") (result i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "forge_on_restore") (global.set $seed (i32.add (global.get $seed) (i32.const 1))))
  (func (export "seed") (result i32) (global.get $seed)))`);

const hosts: WasmHost[] = [];
function host(options: ConstructorParameters<typeof WasmHost>[0] = {}): WasmHost {
  const h = new WasmHost({ development: true, isolation: 'inline', snapshots: true, ...options });
  hosts.push(h);
  return h;
}
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
});

async function started(h: WasmHost, bytes: Uint8Array, options: HostInstanceOptions = {}) {
  const module = await h.loadModule(bytes);
  return {
    module,
    instance: (await h.instantiate(module, { enforcer: allowWrite, ...options })) as InlineInstance,
  };
}

async function value(instance: InlineInstance, entry: string): Promise<unknown> {
  const result = await instance.invoke(entry);
  expect(result.outcome.status).toBe('returned');
  return result.values[0]?.value;
}

describe('snapshots of inline instances', () => {
  it('captures after init and restores memory, globals, DNA and trace position into a fresh instance', async () => {
    const h = host();
    const { module, instance } = await started(h, SERVICE);
    await instance.invoke('init');
    expect(await value(instance, 'hello')).toBe(0);
    const encoded = instance.captureSnapshot();
    // The original goes on by itself: the snapshot holds the state at capture.
    expect(await value(instance, 'next')).toBe(42);
    expect(await value(instance, 'next')).toBe(43);

    const snapshot = decodeSnapshot(encoded.bytes);
    expect(snapshot.id).toBe(encoded.id);
    expect(snapshot.memoryByteLength).toBe(3 * 65_536);
    const restored = (await h.instantiate(module, {
      enforcer: allowWrite,
      fromSnapshot: snapshot,
    })) as InlineInstance;
    expect(restored.restoredFrom).toBe(encoded.id);
    expect(restored.restoreOutcome?.status).toBe('returned');
    expect(await value(restored, 'pages')).toBe(3);
    expect(await value(restored, 'next')).toBe(42);
    expect(await value(restored, 'peek')).toBe(12345);
    expect(await value(restored, 'tail')).toBe(7);
    expect(await value(restored, 'big')).toBe(-5n);
    expect(await value(restored, 'f')).toBe(1.5);
    expect(await value(restored, 'g')).toBe(-0.25);
    // forge_on_restore ran once, right after the restore (the original never saw it).
    expect(await value(restored, 'seed')).toBe(1);
    expect(await value(instance, 'seed')).toBe(0);
    // Host state: the DNA goes on from the snapshot's, and so do trace sequence numbers.
    expect(restored.dna().totalCalls).toBe(1);
    expect(await value(restored, 'hello')).toBe(0);
    expect(restored.dna().syscallCounts['wasi.fd_write']).toBe(2);
    expect(restored.trace().at(-1)?.seq).toBe(instance.trace().at(-1)!.seq + 1);
    expect(new TextDecoder().decode(restored.stdout())).toBe('hi\n');
  });

  it('restores one snapshot many times, each instance with the same state', async () => {
    const h = host();
    const { module, instance } = await started(h, SERVICE);
    await instance.invoke('init');
    const snapshot = decodeSnapshot(instance.captureSnapshot({ compression: 'deflate' }).bytes);
    const values: unknown[] = [];
    for (let i = 0; i < 3; i += 1) {
      const copy = (await h.instantiate(module, {
        enforcer: allowWrite,
        fromSnapshot: snapshot,
      })) as InlineInstance;
      values.push(await value(copy, 'next'));
    }
    expect(values).toEqual([42, 42, 42]);
  });

  it('refuses a snapshot of another module, and restores nothing', async () => {
    const h = host();
    const { instance } = await started(h, SERVICE);
    await instance.invoke('init');
    const snapshot = decodeSnapshot(instance.captureSnapshot().bytes);
    const other = await h.loadModule(
      wat(
        '(module (memory (export "memory") 1) (global (mut i32) (i32.const 0)) (func (export "next") (result i32) (i32.const 0)))',
      ),
    );
    await expect(h.instantiate(other, { fromSnapshot: snapshot })).rejects.toMatchObject({
      code: 'FORGE_SNAPSHOT_MISMATCH',
    });
  });

  it('refuses another version of the same module name', async () => {
    const h = host();
    const { module, instance } = await started(h, SERVICE, { moduleName: 'svc', moduleVersion: '1.0.0' });
    await instance.invoke('init');
    const snapshot = decodeSnapshot(instance.captureSnapshot().bytes);
    expect(snapshot.context.module).toMatchObject({ name: 'svc', version: '1.0.0' });
    await expect(
      h.instantiate(module, { enforcer: allowWrite, fromSnapshot: snapshot, moduleVersion: '1.0.1' }),
    ).rejects.toMatchObject({ code: 'FORGE_SNAPSHOT_MISMATCH' });
  });

  it('refuses a memory larger than the limits allow the instance restored into', async () => {
    const { instance } = await started(host(), SERVICE);
    await instance.invoke('init');
    const snapshot = decodeSnapshot(instance.captureSnapshot().bytes);
    const small = host({ limits: { memoryPages: 2 } });
    const module = await small.loadModule(SERVICE);
    await expect(
      small.instantiate(module, { enforcer: allowWrite, fromSnapshot: snapshot }),
    ).rejects.toMatchObject({
      code: 'FORGE_SNAPSHOT_LIMIT',
    });
  });

  it('refuses a module the snapshot cannot describe: a table it changes', async () => {
    const { instance } = await started(
      host(),
      wat(`(module (table 2 funcref) (func $a) (elem declare func $a)
        (func (export "set") (table.set (i32.const 1) (ref.func $a))))`),
    );
    expect(() => instance.captureSnapshot()).toThrow(
      expect.objectContaining({ code: 'FORGE_SNAPSHOT_UNSUPPORTED', details: { what: 'table 0' } }),
    );
  });

  it('refuses a module with a start function (a restore would run it, and its host calls, again)', async () => {
    const { instance } = await started(
      host(),
      wat(`(module (global $n (mut i32) (i32.const 0))
        (func $init (global.set $n (i32.const 1))) (start $init)
        (func (export "n") (result i32) (global.get $n)))`),
    );
    expect(() => instance.captureSnapshot()).toThrow(
      expect.objectContaining({ code: 'FORGE_SNAPSHOT_UNSUPPORTED', details: { what: 'start function' } }),
    );
  });

  it('captures a module whose tables the code never changes', async () => {
    const h = host();
    const bytes = wat(`(module (table 2 funcref) (global $n (mut i32) (i32.const 0))
      (func $one (result i32) (i32.const 1)) (func $two (result i32) (i32.const 2)) (elem (i32.const 0) $one $two)
      (type $t (func (result i32)))
      (func (export "pick") (param i32) (result i32) (global.set $n (local.get 0)) (call_indirect (type $t) (local.get 0)))
      (func (export "again") (result i32) (call_indirect (type $t) (global.get $n))))`);
    const { module, instance } = await started(h, bytes);
    await instance.invoke('pick', [{ type: 'i32', value: 1 }]);
    const restored = (await h.instantiate(module, {
      fromSnapshot: decodeSnapshot(instance.captureSnapshot().bytes),
    })) as InlineInstance;
    expect(await value(restored, 'again')).toBe(2);
  });

  it('refuses a writable in-memory preopen, whose files a snapshot does not hold', async () => {
    const { instance } = await started(host(), SERVICE, {
      wasi: { preopens: [{ kind: 'memory', guestPath: '/data', files: { a: 'x' } }] },
    });
    expect(() => instance.captureSnapshot()).toThrow(
      expect.objectContaining({ code: 'FORGE_SNAPSHOT_UNSUPPORTED', details: { what: 'preopen /data' } }),
    );
  });

  it('keeps preopens by name, and refuses a container that lacks one the snapshot has', async () => {
    const h = host();
    const preopens = [{ kind: 'memory' as const, guestPath: '/data', files: { a: 'x' }, readOnly: true }];
    const { module, instance } = await started(h, SERVICE, { wasi: { preopens } });
    const snapshot = decodeSnapshot(instance.captureSnapshot().bytes);
    expect(snapshot.context.host.wasi?.fds.map((fd) => fd.kind)).toEqual([
      'stdio',
      'stdio',
      'stdio',
      'preopen',
    ]);
    const same = (await h.instantiate(module, {
      enforcer: allowWrite,
      fromSnapshot: snapshot,
      wasi: { preopens },
    })) as InlineInstance;
    expect(await value(same, 'hello')).toBe(0);
    await expect(
      h.instantiate(module, { enforcer: allowWrite, fromSnapshot: snapshot }),
    ).rejects.toMatchObject({
      code: 'FORGE_SNAPSHOT_MISMATCH',
      details: { preopen: '/data' },
    });
  });

  it('refuses a module compiled without snapshots, an instance that is not between calls, and worker isolation', async () => {
    const plain = host({ snapshots: false });
    const { instance } = await started(plain, SERVICE);
    expect(() => instance.captureSnapshot()).toThrow(
      expect.objectContaining({ code: 'FORGE_SNAPSHOT_STATE' }),
    );

    const h = host();
    const { module, instance: live } = await started(h, SERVICE);
    const snapshot = decodeSnapshot(live.captureSnapshot().bytes);
    await live.terminate();
    expect(() => live.captureSnapshot()).toThrow(expect.objectContaining({ code: 'FORGE_SNAPSHOT_STATE' }));
    await expect(
      h.instantiate(module, { isolation: 'worker', fromSnapshot: snapshot }),
    ).rejects.toMatchObject({
      code: 'FORGE_SNAPSHOT_UNSUPPORTED',
    });
    const worker = await h.instantiate(module, { isolation: 'worker' });
    expect(() => worker.captureSnapshot()).toThrow(
      expect.objectContaining({ code: 'FORGE_SNAPSHOT_UNSUPPORTED' }),
    );
    await worker.terminate();
  });
});
