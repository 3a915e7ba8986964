import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KernelEventBus, SqliteStore, systemClock, type StoragePort } from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import { ForgeErrno, kvStorageNamespace, type EnforcerSpec, type Isolation } from '@forgeone/execution';
import { Runtime, type RunModuleOptions } from '../index';

/** A guest whose exports each make one kind of kv or event call and return its errno. */
const GUEST = new TextEncoder().encode(`(module
  (import "forge" "kv_get" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_delete" (func $del (param i32 i32) (result i32)))
  (import "forge" "emit_event" (func $emit (param i32 i32 i32 i32) (result i32)))
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "greeting")
  (data (i32.const 16) "hello")
  (data (i32.const 32) "order.created")
  (data (i32.const 48) "{\\"id\\":1}")
  (data (i32.const 96) "ab")
  (func $putGreeting (result i32) (call $put (i32.const 0) (i32.const 8) (i32.const 16) (i32.const 5)))
  (func (export "put") (result i32) (call $putGreeting))
  ;; Logs the value it read, so the report shows it.
  (func (export "get") (result i32) (local $e i32)
    (local.set $e (call $get (i32.const 0) (i32.const 8) (i32.const 256) (i32.const 64) (i32.const 512)))
    (if (i32.eqz (local.get $e)) (then (drop (call $log (i32.const 256) (i32.load (i32.const 512))))))
    (local.get $e))
  (func (export "del") (result i32) (call $del (i32.const 0) (i32.const 8)))
  (func (export "fill") (param $n i32) (result i32)
    (call $put (i32.const 0) (i32.const 8) (i32.const 1024) (local.get $n)))
  (func (export "put_then_trap") (drop (call $putGreeting)) unreachable)
  (func (export "log_then_put") (result i32) (drop (call $log (i32.const 16) (i32.const 5))) (call $putGreeting))
  (func (export "put_then_hang") (drop (call $putGreeting)) (loop $spin (br $spin)))
  ;; Puts "hello" under the one-byte key at $mine, then polls the key at $theirs until it is there.
  (func (export "handshake") (param $mine i32) (param $theirs i32) (result i32) (local $e i32)
    (local.set $e (call $put (local.get $mine) (i32.const 1) (i32.const 16) (i32.const 5)))
    (if (local.get $e) (then (return (local.get $e))))
    (loop $poll
      (local.set $e (call $get (local.get $theirs) (i32.const 1) (i32.const 256) (i32.const 64) (i32.const 512)))
      (br_if $poll (i32.eq (local.get $e) (i32.const ${ForgeErrno.NOT_FOUND}))))
    (local.get $e))
  (func (export "emit") (result i32)
    (call $emit (i32.const 32) (i32.const 13) (i32.const 48) (i32.const 8))))`);

const allowForge: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.*'] } };
const dir = mkdtempSync(join(tmpdir(), 'forgeone-core-kv-'));
const opened: StoragePort[] = [];
let nextDb = 0;

/** A runtime over a fresh SQLite store, with every bus event it publishes. */
async function kernel(options: { store?: boolean } = {}) {
  const events = new KernelEventBus();
  const seen: string[] = [];
  events.on('container.launched', (e) => seen.push(`launched ${e.containerId}`));
  events.on('guest.event', (e) => seen.push(`event ${e.containerId} ${e.name}`));
  events.on('container.exited', (e) => seen.push(`exited ${e.containerId} ${e.reason}`));
  let store: SqliteStore | undefined;
  if (options.store !== false) {
    store = await SqliteStore.open(join(dir, `kernel-${nextDb++}.db`));
    opened.push(store);
  }
  const runtime = new Runtime({
    clock: systemClock,
    events,
    limits: defaultRuntimeConfig().limits,
    mode: 'enforce',
    ...(store ? { store } : {}),
  });
  return { runtime, store, seen };
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

const errno = (report: { values: readonly { value: unknown }[] }) => report.values[0]?.value;

describe.each(['inline', 'worker'] as const)('Runtime.runModule with kv and events (%s)', (isolation) => {
  const call = (entry: string, more: Partial<RunModuleOptions> = {}): RunModuleOptions => ({
    source: GUEST,
    name: 'kv.wat',
    policy: allowForge,
    isolation: isolation as Isolation,
    kv: { namespace: 'app' },
    entry,
    ...more,
  });

  it('keeps a namespace between containers: a later run reads what an earlier one put, delete removes it', async () => {
    const { runtime } = await kernel();
    try {
      const put = await runtime.runModule(call('put'));
      expect(errno(put)).toBe(ForgeErrno.OK);
      expect(put.kv).toEqual({ namespace: 'app', written: 1, deleted: 0, usage: { keys: 1, bytes: 13 } });
      const get = await runtime.runModule(call('get'));
      expect(get.containerId).not.toBe(put.containerId);
      expect(errno(get)).toBe(ForgeErrno.OK);
      expect(get.logs).toEqual(['hello']);
      expect(errno(await runtime.runModule(call('del')))).toBe(ForgeErrno.OK);
      const gone = await runtime.runModule(call('get'));
      expect(errno(gone)).toBe(ForgeErrno.NOT_FOUND);
      expect(gone.kv?.usage).toEqual({ keys: 0, bytes: 0 });
    } finally {
      await runtime.close();
    }
  });

  it('answers QUOTA past the namespace quota, and the store never holds more than the quota', async () => {
    const { runtime, store } = await kernel();
    const quota = { namespace: 'app', quota: { maxBytes: 100 } };
    try {
      const fits = await runtime.runModule(call('fill', { kv: quota, args: [{ type: 'i32', value: 50 }] }));
      expect(errno(fits)).toBe(ForgeErrno.OK);
      const over = await runtime.runModule(call('fill', { kv: quota, args: [{ type: 'i32', value: 93 }] }));
      expect(errno(over)).toBe(ForgeErrno.QUOTA);
      expect(over.kv).toMatchObject({ written: 0, usage: { keys: 1, bytes: 58 } });
      const records = await store!.listRecords(kvStorageNamespace('app'));
      expect(records.map((r) => [r.key, Buffer.from(r.value as string, 'base64').byteLength])).toEqual([
        ['greeting', 50],
      ]);
    } finally {
      await runtime.close();
    }
  });

  it('keeps the writes a guest made before it trapped', async () => {
    const { runtime } = await kernel();
    try {
      const trapped = await runtime.runModule(call('put_then_trap'));
      expect(trapped.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_WASM_TRAP' } });
      expect(trapped.kv?.written).toBe(1);
      expect((await runtime.runModule(call('get'))).logs).toEqual(['hello']);
    } finally {
      await runtime.close();
    }
  });

  it('lets the policy decide: kv calls it does not allow answer DENIED and write nothing', async () => {
    const { runtime, store } = await kernel();
    try {
      const logOnly: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.log'] } };
      const report = await runtime.runModule(call('put', { policy: logOnly }));
      expect(errno(report)).toBe(ForgeErrno.DENIED);
      expect(report.trace[0]).toMatchObject({ syscall: 'forge.kv_put', action: 'deny', executed: false });
      expect(await store!.listRecords(kvStorageNamespace('app'))).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it('puts emitted events in the report and on the bus, between launched and exited', async () => {
    const { runtime, seen } = await kernel();
    try {
      const report = await runtime.runModule(call('emit'));
      expect(errno(report)).toBe(ForgeErrno.OK);
      expect(report.events).toHaveLength(1);
      expect(report.events[0]?.name).toBe('order.created');
      expect(new TextDecoder().decode(report.events[0]?.payload)).toBe('{"id":1}');
      const id = report.containerId;
      expect(seen).toEqual([`launched ${id}`, `event ${id} order.created`, `exited ${id} returned`]);
    } finally {
      await runtime.close();
    }
  });

  it('without a namespace, an allowed kv call answers DENIED and its trace shows namespace null', async () => {
    const { runtime } = await kernel({ store: false });
    try {
      const { kv: _none, ...noKv } = call('put');
      const report = await runtime.runModule(noKv);
      expect(errno(report)).toBe(ForgeErrno.DENIED);
      expect(report.trace[0]).toMatchObject({ action: 'allow', args: { namespace: null, key: 'greeting' } });
      expect(report.kv).toBeUndefined();
    } finally {
      await runtime.close();
    }
  });
});

describe('Runtime.runModule kv configuration', () => {
  it('needs a kernel store for a namespace, and names the problem', async () => {
    const { runtime } = await kernel({ store: false });
    await expect(
      runtime.runModule({ source: GUEST, name: 'kv.wat', policy: allowForge, kv: { namespace: 'app' } }),
    ).rejects.toMatchObject({
      code: 'FORGE_INVALID_INPUT',
      message: expect.stringMatching(/needs a kernel with a store/),
    });
  });

  it('refuses a bad namespace with FORGE_KV_CONFIG_INVALID before running anything', async () => {
    const { runtime, seen } = await kernel();
    await expect(
      runtime.runModule({ source: GUEST, name: 'kv.wat', policy: allowForge, kv: { namespace: '../etc' } }),
    ).rejects.toMatchObject({ code: 'FORGE_KV_CONFIG_INVALID' });
    expect(seen).toEqual([]);
  });

  it('lets two live worker runs on one namespace see each other’s writes, and keeps both', async () => {
    const { runtime, store } = await kernel();
    const options = { source: GUEST, name: 'kv.wat', policy: allowForge, kv: { namespace: 'app' } };
    const handshake = (mine: number, theirs: number) =>
      runtime.runModule({
        ...options,
        isolation: 'worker',
        entry: 'handshake',
        args: [
          { type: 'i32', value: mine },
          { type: 'i32', value: theirs },
        ],
        limits: { timeoutMs: 20_000 },
      });
    try {
      // Each returns only after it read the other's put: with a copy per run both would hang.
      const [first, second] = await Promise.all([handshake(96, 97), handshake(97, 96)]);
      expect([errno(first), errno(second)]).toEqual([ForgeErrno.OK, ForgeErrno.OK]);
      expect(first.kv).toMatchObject({ written: 1, deleted: 0 });
      expect(second.kv).toMatchObject({ written: 1, deleted: 0, usage: { keys: 2 } });
      const records = await store!.listRecords(kvStorageNamespace('app'));
      expect(records.map((r) => r.key)).toEqual(['a', 'b']);
    } finally {
      await runtime.close();
    }
  });

  it('reads a namespace from the store again once no run holds it', async () => {
    const { runtime, store } = await kernel();
    const options = { source: GUEST, name: 'kv.wat', policy: allowForge, kv: { namespace: 'app' } };
    try {
      expect(errno(await runtime.runModule({ ...options, entry: 'put' }))).toBe(ForgeErrno.OK);
      await store!.putRecord(kvStorageNamespace('app'), 'greeting', Buffer.from('other').toString('base64'));
      expect((await runtime.runModule({ ...options, entry: 'get' })).logs).toEqual(['other']);
    } finally {
      await runtime.close();
    }
  });

  it('reports a worker kv call the busy main thread did not answer in time, and applies nothing', async () => {
    const { runtime, store } = await kernel();
    try {
      const report = await runtime.runModule({
        source: GUEST,
        name: 'kv.wat',
        policy: allowForge,
        kv: { namespace: 'app' },
        isolation: 'worker',
        entry: 'log_then_put',
        limits: { timeoutMs: 30_000 },
        // Handling the log keeps the main thread busy past the 5 s kv timeout while the put waits.
        onLog: () => {
          const until = Date.now() + 5_500;
          while (Date.now() < until);
        },
      });
      expect(errno(report)).toBe(ForgeErrno.UNAVAILABLE);
      expect(report.kv).toMatchObject({ written: 0, unavailable: 1, usage: { keys: 0 } });
      expect(await store!.listRecords(kvStorageNamespace('app'))).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it('keeps a write made before a worker guest hung and was stopped at its deadline', async () => {
    const { runtime } = await kernel();
    const options = { source: GUEST, name: 'kv.wat', policy: allowForge, kv: { namespace: 'app' } };
    try {
      const hung = await runtime.runModule({
        ...options,
        isolation: 'worker',
        entry: 'put_then_hang',
        limits: { timeoutMs: 1000 },
      });
      expect(hung.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
      expect((await runtime.runModule({ ...options, entry: 'get' })).logs).toEqual(['hello']);
    } finally {
      await runtime.close();
    }
  });

  it('close() ends a running worker guest and resolves only once its run kept its kv writes', async () => {
    const { runtime, store } = await kernel();
    const run = runtime.runModule({
      source: GUEST,
      name: 'kv.wat',
      policy: allowForge,
      isolation: 'worker',
      kv: { namespace: 'app' },
      entry: 'put_then_hang',
      limits: { timeoutMs: 60_000 },
    });
    // Committed before kv_put returned: in the store while the guest still spins.
    for (;;) {
      if ((await store!.getRecord(kvStorageNamespace('app'), 'greeting')) !== undefined) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await runtime.close();
    await expect(run).rejects.toBeDefined();
    expect(runtime.kvEnded()).toEqual([
      { namespace: 'app', written: 1, deleted: 0, unavailable: 0, kept: true },
    ]);
  });

  it('refuses a malformed durability before running anything, and keeps relaxed writes at the end', async () => {
    const { runtime, store } = await kernel();
    const options = { source: GUEST, name: 'kv.wat', policy: allowForge, entry: 'put' };
    try {
      await expect(
        runtime.runModule({ ...options, kv: { namespace: 'app', durability: 'later' as 'commit' } }),
      ).rejects.toMatchObject({ code: 'FORGE_KV_CONFIG_INVALID' });
      const relaxed = await runtime.runModule({
        ...options,
        kv: { namespace: 'app', durability: 'relaxed-60000ms' },
      });
      expect(relaxed.kv).toMatchObject({ written: 1 });
      expect(await store!.getRecord(kvStorageNamespace('app'), 'greeting')).toBeDefined();
    } finally {
      await runtime.close();
    }
  });
});
