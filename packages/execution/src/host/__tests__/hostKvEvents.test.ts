import { afterAll, describe, expect, it } from 'vitest';
import { KernelEventBus, type KernelEvents } from '@forgeone/common';
import {
  ForgeErrno,
  MemoryKvBackend,
  WasmHost,
  forgeKvSyscalls,
  type EnforcerSpec,
  type GuestEvent,
  type KvPutStatus,
} from '../../index';

const GUEST = new TextEncoder().encode(`(module
  (import "forge" "kv_get" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (import "forge" "emit_event" (func $emit (param i32 i32 i32 i32) (result i32)))
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "greeting")
  (data (i32.const 32) "order.created")
  (data (i32.const 48) "{\\"id\\":1}")
  (func (export "get") (result i32) (local $e i32)
    (local.set $e (call $get (i32.const 0) (i32.const 8) (i32.const 256) (i32.const 64) (i32.const 512)))
    (if (i32.eqz (local.get $e)) (then (drop (call $log (i32.const 256) (i32.load (i32.const 512))))))
    (local.get $e))
  ;; Puts 0, 1, ..., n-1 (4 bytes each) under one key, one call each.
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store (i32.const 64) (local.get $i))
      (drop (call $put (i32.const 0) (i32.const 8) (i32.const 64) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.const 0))
  (func (export "emit") (result i32)
    (call $emit (i32.const 32) (i32.const 13) (i32.const 48) (i32.const 8))))`);

const allowForge: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.*'] } };

/** A namespace that counts the puts applied to it. */
class CountingKv extends MemoryKvBackend {
  puts = 0;
  override put(key: string, value: Uint8Array): KvPutStatus {
    const status = super.put(key, value);
    if (status === 'ok') this.puts += 1;
    return status;
  }
}

const bus = new KernelEventBus();
const host = new WasmHost({ development: true, events: bus });
afterAll(() => host.close());
const guest = host.loadModule(GUEST, { format: 'wat' });
const u32 = (value: number) => new Uint8Array(new Uint32Array([value]).buffer);

describe.each(['inline', 'worker'] as const)('WasmHost kv and events (%s)', (isolation) => {
  it('serves what the namespace holds', async () => {
    const kv = new MemoryKvBackend('app');
    kv.put('greeting', new TextEncoder().encode('hello'));
    const run = await host.run(await guest, { isolation, enforcer: allowForge, kv, entry: 'get' });
    expect(run.values[0]?.value).toBe(ForgeErrno.OK);
    expect(run.instance.logs()).toEqual(['hello']);
  });

  it('applies every write to the given backend, in order, before the call returns', async () => {
    const kv = new CountingKv('app');
    const run = await host.run(await guest, {
      isolation,
      enforcer: allowForge,
      kv,
      entry: 'count',
      args: [{ type: 'i32', value: 1000 }],
    });
    expect(run.outcome.status).toBe('returned');
    expect(kv.puts).toBe(1000);
    expect(kv.get('greeting')).toEqual(u32(999));
  });

  it('hands each event to onEvent and to the bus as guest.event', async () => {
    const onBus: KernelEvents['guest.event'][] = [];
    const off = bus.on('guest.event', (event) => onBus.push(event));
    const seen: GuestEvent[] = [];
    try {
      const run = await host.run(await guest, {
        isolation,
        enforcer: allowForge,
        entry: 'emit',
        onEvent: (event) => seen.push(event),
      });
      expect(run.values[0]?.value).toBe(ForgeErrno.OK);
      const expected = {
        containerId: run.instance.containerId,
        name: 'order.created',
        payload: new TextEncoder().encode('{"id":1}'),
      };
      expect(seen).toEqual([expected]);
      expect(onBus).toEqual([expected]);
    } finally {
      off();
    }
  });
});

describe('WasmHost kv and events: edges', () => {
  it('in a worker, an event listener that throws neither reaches the guest nor stops the host', async () => {
    const run = await host.run(await guest, {
      isolation: 'worker',
      enforcer: allowForge,
      entry: 'emit',
      onEvent: () => {
        throw new Error('listener failed');
      },
    });
    expect(run.values[0]?.value).toBe(ForgeErrno.OK);
  });

  it('lets extraDefinitions replace the built-in kv calls (inline)', async () => {
    const own = new MemoryKvBackend('own');
    own.put('greeting', new TextEncoder().encode('from own'));
    const run = await host.run(await guest, {
      isolation: 'inline',
      enforcer: allowForge,
      extraDefinitions: forgeKvSyscalls({ backend: own }),
      entry: 'get',
    });
    expect(run.instance.logs()).toEqual(['from own']);
    expect(run.instance.trace()[0]?.args).toMatchObject({ namespace: 'own' });
  });
});
