import { afterAll, describe, expect, it } from 'vitest';
import {
  ForgeErrno,
  KV_MAX_VALUE_BYTES,
  MemoryKvBackend,
  WasmHost,
  type EnforcerSpec,
  type KvPutStatus,
  type WasmInstance,
} from '../../index';

// Keys live at 0 ("a"), 1 ("b") and 16 ("greeting"); "hello" at 32; values are read into and
// written from 65536 onwards (16 pages of room), a read's length goes to 96.
const GUEST = new TextEncoder().encode(`(module
  (import "forge" "kv_get" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 17)
  (data (i32.const 0) "ab")
  (data (i32.const 16) "greeting")
  (data (i32.const 32) "hello")
  ;; Puts "hello" under the one-byte key at $mine, then polls the key at $theirs until it is there:
  ;; returns only once the other guest's put is visible to this one.
  (func (export "handshake") (param $mine i32) (param $theirs i32) (result i32) (local $e i32)
    (local.set $e (call $put (local.get $mine) (i32.const 1) (i32.const 32) (i32.const 5)))
    (if (local.get $e) (then (return (local.get $e))))
    (loop $poll
      (local.set $e (call $get (local.get $theirs) (i32.const 1) (i32.const 64) (i32.const 16) (i32.const 96)))
      (br_if $poll (i32.eq (local.get $e) (i32.const ${ForgeErrno.NOT_FOUND}))))
    (local.get $e))
  (func (export "put_then_hang")
    (drop (call $put (i32.const 16) (i32.const 8) (i32.const 32) (i32.const 5)))
    (loop $spin (br $spin)))
  ;; Puts $len bytes from 65536 (byte i is i mod 251) under "greeting".
  (func (export "put") (param $len i32) (result i32) (local $i i32)
    (block $done (loop $fill
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (i32.store8 (i32.add (i32.const 65536) (local.get $i)) (i32.rem_u (local.get $i) (i32.const 251)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $fill)))
    (call $put (i32.const 16) (i32.const 8) (i32.const 65536) (local.get $len)))
  (func (export "get") (param $cap i32) (result i32)
    (call $get (i32.const 16) (i32.const 8) (i32.const 65536) (local.get $cap) (i32.const 96)))
  (func (export "len") (result i32) (i32.load (i32.const 96)))
  (func (export "byte") (param $i i32) (result i32) (i32.load8_u (i32.add (i32.const 65536) (local.get $i)))))`);

const allowForge: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.*'] } };
const hello = new TextEncoder().encode('hello');
const i32 = (value: number) => ({ type: 'i32', value }) as const;
/** A value whose byte i is i mod 251 (what the guest's `put` writes). */
const pattern = (length: number) => Uint8Array.from({ length }, (_, i) => i % 251);

const host = new WasmHost({ development: true, isolation: 'worker' });
afterAll(() => host.close());
const guest = host.loadModule(GUEST, { format: 'wat' });

/** Keeps the main thread busy: a worker guest asking it something meanwhile waits. */
function blockMainThread(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

async function call(instance: WasmInstance, entry: string, ...args: number[]): Promise<unknown> {
  const result = await instance.invoke(entry, args.map(i32));
  return result.values[0]?.value;
}

describe('worker isolation kv: every call goes to the one store on the main thread', () => {
  it('two live runs on one namespace see each other’s writes', async () => {
    const kv = new MemoryKvBackend('app');
    // Each returns only after it has read the other's put: with a copy per run, both would spin
    // until their deadline.
    const [first, second] = await Promise.all([
      host.run(await guest, {
        enforcer: allowForge,
        kv,
        entry: 'handshake',
        args: [i32(0), i32(1)],
        timeoutMs: 20_000,
      }),
      host.run(await guest, {
        enforcer: allowForge,
        kv,
        entry: 'handshake',
        args: [i32(1), i32(0)],
        timeoutMs: 20_000,
      }),
    ]);
    expect(first.values[0]?.value).toBe(ForgeErrno.OK);
    expect(second.values[0]?.value).toBe(ForgeErrno.OK);
    expect(kv.get('a')).toEqual(hello);
    expect(kv.get('b')).toEqual(hello);
  });

  it('keeps a write made just before the guest hung and was stopped at its deadline', async () => {
    const kv = new MemoryKvBackend('app');
    const run = await host.run(await guest, {
      enforcer: allowForge,
      kv,
      entry: 'put_then_hang',
      timeoutMs: 300,
    });
    expect(run.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
    // The put returned to the guest only once it was applied here, so the kill cannot lose it.
    expect(kv.get('greeting')).toEqual(hello);
  });

  it('answers QUOTA from the main thread’s quota and leaves the namespace as it was', async () => {
    const kv = new MemoryKvBackend('app', { maxBytes: 20 });
    kv.put('greeting', Uint8Array.of(1, 2));
    const before = kv.usage();
    const run = await host.run(await guest, { enforcer: allowForge, kv, entry: 'put', args: [i32(13)] });
    expect(run.values[0]?.value).toBe(ForgeErrno.QUOTA);
    expect(kv.get('greeting')).toEqual(Uint8Array.of(1, 2));
    expect(kv.usage()).toEqual(before);
    expect(run.instance.trace()[0]).toMatchObject({ syscall: 'forge.kv_put', action: 'allow' });
  });

  it('carries the largest value a guest can put, and every value any kv_put can store, both ways', async () => {
    const kv = new MemoryKvBackend('app', { maxBytes: 4 * KV_MAX_VALUE_BYTES });
    const instance = await host.instantiate(await guest, { enforcer: allowForge, kv });
    try {
      expect(await call(instance, 'put', 64 * 1024)).toBe(ForgeErrno.OK);
      expect(kv.get('greeting')).toEqual(pattern(64 * 1024));
      expect(await call(instance, 'put', 64 * 1024 + 1)).toBe(ForgeErrno.TOO_LARGE);
      // A value only the host could put (a guest's limit is at most KV_MAX_VALUE_BYTES) still crosses.
      kv.put('greeting', pattern(KV_MAX_VALUE_BYTES));
      expect(await call(instance, 'get', 16 * 65536)).toBe(ForgeErrno.OK);
      expect(await call(instance, 'len')).toBe(KV_MAX_VALUE_BYTES);
      expect(await call(instance, 'byte', KV_MAX_VALUE_BYTES - 1)).toBe((KV_MAX_VALUE_BYTES - 1) % 251);
      expect(await call(instance, 'get', 10)).toBe(ForgeErrno.TOO_SMALL);
      expect(await call(instance, 'len')).toBe(KV_MAX_VALUE_BYTES);
      // One bigger than that cannot be handed to a worker guest: a clear errno, not a crash.
      kv.put('greeting', pattern(KV_MAX_VALUE_BYTES + 1));
      expect(await call(instance, 'get', 16 * 65536)).toBe(ForgeErrno.TOO_LARGE);
    } finally {
      await instance.terminate();
    }
  });

  it('withdraws a call the main thread does not answer in time: UNAVAILABLE, not applied, reported', async () => {
    const kv = new MemoryKvBackend('app');
    const unanswered: unknown[] = [];
    const instance = await host.instantiate(await guest, {
      enforcer: allowForge,
      kv,
      kvTimeoutMs: 50,
      onKvUnanswered: (request) => unanswered.push(request),
    });
    try {
      const result = instance.invoke('put', [i32(5)]);
      blockMainThread(1_000);
      expect((await result).values[0]?.value).toBe(ForgeErrno.UNAVAILABLE);
      expect(kv.get('greeting')).toBeUndefined();
      // The request came before the result, so it has been seen (too late) by now.
      expect(unanswered).toEqual([{ op: 'put', key: 'greeting' }]);
      expect(await call(instance, 'put', 5)).toBe(ForgeErrno.OK);
      expect(kv.get('greeting')).toEqual(pattern(5));
    } finally {
      await instance.terminate();
    }
  });

  it('answers UNAVAILABLE when the main thread’s backend throws, and goes on', async () => {
    class BrokenKv extends MemoryKvBackend {
      override get(): Uint8Array | undefined {
        throw new Error('disk on fire');
      }
    }
    const kv = new BrokenKv('app');
    const instance = await host.instantiate(await guest, { enforcer: allowForge, kv });
    try {
      expect(await call(instance, 'get', 16)).toBe(ForgeErrno.UNAVAILABLE);
      expect(await call(instance, 'put', 5)).toBe(ForgeErrno.OK);
    } finally {
      await instance.terminate();
    }
  });
});

describe('worker isolation kv: a worker stopped during a kv call leaves the main side working', () => {
  it('stopped while its call waits on the main thread: the call is never applied', async () => {
    const kv = new MemoryKvBackend('app');
    const instance = await host.instantiate(await guest, { enforcer: allowForge, kv });
    const result = instance.invoke('put', [i32(5)]);
    blockMainThread(300); // the guest is now waiting for the answer to its put
    const ended = instance.terminate();
    await expect(result).rejects.toMatchObject({ code: 'FORGE_INSTANCE_STATE' });
    await ended;
    // Nobody told the guest it succeeded, and it did not happen.
    expect(kv.get('greeting')).toBeUndefined();
    const next = await host.run(await guest, { enforcer: allowForge, kv, entry: 'put', args: [i32(5)] });
    expect(next.values[0]?.value).toBe(ForgeErrno.OK);
    expect(kv.get('greeting')).toEqual(pattern(5));
  });

  it('stopped while the main thread applies its call: the write stands, the next run sees it', async () => {
    let instance: WasmInstance | undefined;
    class StoppingKv extends MemoryKvBackend {
      override put(key: string, value: Uint8Array): KvPutStatus {
        void instance?.terminate();
        return super.put(key, value);
      }
    }
    const kv = new StoppingKv('app');
    instance = await host.instantiate(await guest, { enforcer: allowForge, kv });
    await expect(instance.invoke('put', [i32(5)])).rejects.toMatchObject({ code: 'FORGE_INSTANCE_STATE' });
    expect(instance.state).toBe('terminated');
    expect(kv.get('greeting')).toEqual(pattern(5));
    instance = undefined;
    const next = await host.run(await guest, { enforcer: allowForge, kv, entry: 'get', args: [i32(16)] });
    expect(next.values[0]?.value).toBe(ForgeErrno.OK);
  });
});
