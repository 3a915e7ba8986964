import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ForgeError,
  IdentityContextSchema,
  ManualClock,
  MemoryStore,
  type ContainerId,
  type Enforcement,
  type SyscallEnforcerPort,
  type SyscallRequest,
} from '@forgeone/common';
import { DnaTracker, TraceRecorder } from '@forgeone/observer';
import {
  ForgeErrno,
  GuestMemory,
  MemoryKvBackend,
  StorageKvBackend,
  SyscallGate,
  compileModule,
  forgeKvSyscalls,
  kvStorageNamespace,
  type KvBackend,
  type KvQuota,
} from '../../index';

/** Each export forwards its arguments to one kv import, so tests can pass any pointer. */
const PROXY = `(module
  (import "forge" "kv_get" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_delete" (func $del (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "get") (param i32 i32 i32 i32 i32) (result i32)
    (call $get (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
  (func (export "put") (param i32 i32 i32 i32) (result i32)
    (call $put (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "del") (param i32 i32) (result i32) (call $del (local.get 0) (local.get 1))))`;

const allowAll: SyscallEnforcerPort = {
  enforce: (): Enforcement => ({
    decision: { action: 'allow', reasons: [{ policy: 'test', message: 'allowed' }] },
    execute: true,
    mode: 'enforce',
  }),
};

const KEY = 0; // where tests put keys
const VALUE = 1024; // values
const OUT = 4096; // output buffer
const LEN = 8192; // u32 length out

async function guest(
  backend: KvBackend,
  enforcer: SyscallEnforcerPort = allowAll,
  onBackendError?: (e: unknown) => void,
) {
  const clock = new ManualClock(1_700_000_000_000);
  const memory = new GuestMemory();
  const recorder = new TraceRecorder();
  const gate = new SyscallGate({
    enforcer,
    context: {
      containerId: 'ctr_kv' as ContainerId,
      identity: IdentityContextSchema.parse({ subject: 'kv-test' }),
      memory,
    },
    recorder,
    dna: new DnaTracker('ctr_kv'),
    clock,
  });
  const compiled = await compileModule(new TextEncoder().encode(PROXY), { format: 'wat' });
  const definitions = forgeKvSyscalls({
    backend,
    maxValueBytes: 4096,
    ...(onBackendError ? { onBackendError } : {}),
  });
  const instance = new WebAssembly.Instance(compiled.module, gate.imports(definitions));
  const wasmMemory = instance.exports.memory as WebAssembly.Memory;
  memory.bind(wasmMemory);
  const fns = instance.exports as unknown as {
    get(kp: number, kl: number, vp: number, cap: number, lenOut: number): number;
    put(kp: number, kl: number, vp: number, vl: number): number;
    del(kp: number, kl: number): number;
  };
  const bytes = () => new Uint8Array(wasmMemory.buffer);
  const poke = (at: number, data: string | Uint8Array) => {
    const raw = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    bytes().set(raw, at);
    return raw.byteLength;
  };
  const text = (at: number, len: number) => new TextDecoder().decode(bytes().slice(at, at + len));
  const u32At = (at: number) => new DataView(wasmMemory.buffer).getUint32(at, true);
  /** put(key, value) through the guest. */
  const put = (key: string, value: string | Uint8Array) => {
    const kl = poke(KEY, key);
    const vl = poke(VALUE, value);
    return fns.put(KEY, kl, VALUE, vl);
  };
  /** get(key) through the guest: the errno and, on OK, the value. */
  const get = (key: string, cap = 1024) => {
    const kl = poke(KEY, key);
    const errno = fns.get(KEY, kl, OUT, cap, LEN);
    return { errno, value: errno === ForgeErrno.OK ? text(OUT, u32At(LEN)) : undefined, len: u32At(LEN) };
  };
  const del = (key: string) => fns.del(KEY, poke(KEY, key));
  return { fns, put, get, del, poke, bytes, u32At, recorder };
}

describe('forge.kv_* through the gate', () => {
  it('stores, reads back, overwrites and deletes values', async () => {
    const backend = new MemoryKvBackend('app');
    const g = await guest(backend);
    expect(g.get('greeting').errno).toBe(ForgeErrno.NOT_FOUND);
    expect(g.put('greeting', 'hello')).toBe(ForgeErrno.OK);
    expect(g.get('greeting')).toMatchObject({ errno: ForgeErrno.OK, value: 'hello', len: 5 });
    expect(g.put('greeting', 'bye')).toBe(ForgeErrno.OK);
    expect(g.get('greeting').value).toBe('bye');
    expect(backend.usage()).toEqual({ bytes: 'greeting'.length + 3, keys: 1 });
    expect(g.del('greeting')).toBe(ForgeErrno.OK);
    expect(g.del('greeting')).toBe(ForgeErrno.NOT_FOUND);
    expect(g.get('greeting').errno).toBe(ForgeErrno.NOT_FOUND);
    expect(backend.usage()).toEqual({ bytes: 0, keys: 0 });
  });

  it('refuses writes past the key and byte quotas, but lets a namespace shrink', async () => {
    const g = await guest(new MemoryKvBackend('app', { maxKeys: 2, maxBytes: 20 }));
    expect(g.put('a', '123')).toBe(ForgeErrno.OK);
    expect(g.put('b', '456')).toBe(ForgeErrno.OK);
    expect(g.put('c', '7')).toBe(ForgeErrno.QUOTA);
    expect(g.get('c').errno).toBe(ForgeErrno.NOT_FOUND);
    expect(g.put('a', 'x'.repeat(17))).toBe(ForgeErrno.QUOTA); // 1+17 + 1+3 = 22 > 20
    expect(g.get('a').value).toBe('123');
    expect(g.put('a', 'x'.repeat(15))).toBe(ForgeErrno.OK); // exactly 20
    expect(g.put('a', 'y')).toBe(ForgeErrno.OK);
  });

  it('reports the needed length and leaves the buffer alone when it is too small', async () => {
    const g = await guest(new MemoryKvBackend('app'));
    g.put('k', 'a longer value');
    g.poke(OUT, 'untouched');
    const small = g.get('k', 4);
    expect(small.errno).toBe(ForgeErrno.TOO_SMALL);
    expect(small.len).toBe(14);
    expect(new TextDecoder().decode(g.bytes().slice(OUT, OUT + 9))).toBe('untouched');
    expect(g.get('k', 14).value).toBe('a longer value');
  });

  it('answers hostile pointers and lengths with errnos and writes nothing', async () => {
    const backend = new MemoryKvBackend('app');
    const g = await guest(backend);
    g.put('k', 'v');
    const pages = 65_536;
    const before = g.bytes().slice();
    // key, value buffer and length pointer outside memory
    expect(g.fns.get(pages - 1, 4, OUT, 16, LEN)).toBe(ForgeErrno.FAULT);
    expect(g.fns.get(KEY, 1, pages - 2, 16, LEN)).toBe(ForgeErrno.FAULT);
    expect(g.fns.get(KEY, 1, OUT, 16, pages - 2)).toBe(ForgeErrno.FAULT);
    expect(g.fns.get(KEY, 1, OUT, -1, LEN)).toBe(ForgeErrno.FAULT); // cap 4 GiB
    expect(g.fns.put(KEY, 1, -16, 32)).toBe(ForgeErrno.FAULT);
    expect(g.fns.put(-1, 2, VALUE, 1)).toBe(ForgeErrno.FAULT);
    expect(g.bytes()).toEqual(before);
    // malformed keys and sizes
    expect(g.fns.put(KEY, 0, VALUE, 1)).toBe(ForgeErrno.INVALID); // empty key
    expect(g.fns.put(KEY, -1, VALUE, 1)).toBe(ForgeErrno.TOO_LARGE); // 4 GiB key
    expect(g.fns.put(KEY, 257, VALUE, 1)).toBe(ForgeErrno.TOO_LARGE);
    g.poke(KEY, Uint8Array.of(0xc3, 0x28));
    expect(g.fns.put(KEY, 2, VALUE, 1)).toBe(ForgeErrno.INVALID); // not UTF-8
    g.poke(KEY, Uint8Array.of(0x61, 0x00));
    expect(g.fns.put(KEY, 2, VALUE, 1)).toBe(ForgeErrno.INVALID); // NUL
    expect(g.fns.put(KEY, 1, VALUE, 4097)).toBe(ForgeErrno.TOO_LARGE); // value over maxValueBytes
    expect(backend.usage()).toEqual({ bytes: 2, keys: 1 });
  });

  it('lets the policy decide on namespace and key, and records the refusal', async () => {
    const seen: SyscallRequest[] = [];
    const readOnlyPublic: SyscallEnforcerPort = {
      enforce: (request): Enforcement => {
        seen.push(request);
        const ok = request.syscall === 'forge.kv_get' || String(request.args.key).startsWith('public/');
        return {
          decision: ok
            ? { action: 'allow', reasons: [{ policy: 'test', message: 'ok' }] }
            : { action: 'deny', reasons: [{ policy: 'test', message: 'only public/ keys are writable' }] },
          execute: ok,
          mode: 'enforce',
        };
      },
    };
    const backend = new MemoryKvBackend('tenant-a');
    const g = await guest(backend, readOnlyPublic);
    expect(g.put('public/x', '1')).toBe(ForgeErrno.OK);
    expect(g.put('secret', '2')).toBe(ForgeErrno.DENIED);
    expect(g.del('public/x')).toBe(ForgeErrno.OK);
    expect(backend.usage().keys).toBe(0);
    expect(seen.map((r) => r.args)).toContainEqual({ namespace: 'tenant-a', key: 'secret', len: 1 });
    const denied = g.recorder.events().filter((e) => e.action === 'deny');
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ syscall: 'forge.kv_put', executed: false, result: ForgeErrno.DENIED });
  });

  it('turns a failing backend into UNAVAILABLE for the guest and tells the host', async () => {
    const errors: unknown[] = [];
    const broken: KvBackend = {
      namespace: 'app',
      get: () => {
        throw new Error('disk on fire');
      },
      put: () => 'ok',
      delete: () => false,
      usage: () => ({ bytes: 0, keys: 0 }),
    };
    const g = await guest(broken, allowAll, (e) => errors.push(e));
    expect(g.get('k').errno).toBe(ForgeErrno.UNAVAILABLE);
    expect(errors).toHaveLength(1);
  });

  it('refuses a bad namespace or quota when the backend is made', () => {
    for (const ns of ['', 'UPPER', 'a/b', 'x'.repeat(65), 'ctr_underscore', '-lead']) {
      expect(() => new MemoryKvBackend(ns)).toThrow(
        expect.objectContaining({ code: 'FORGE_KV_CONFIG_INVALID' }),
      );
    }
    expect(() => new MemoryKvBackend('ok', { maxBytes: -1 })).toThrow(ForgeError);
    expect(() => forgeKvSyscalls({ backend: new MemoryKvBackend('ok'), maxValueBytes: 10_000_000 })).toThrow(
      expect.objectContaining({ code: 'FORGE_KV_CONFIG_INVALID' }),
    );
  });

  it('never lets usage pass the quota, whatever the sequence of writes (property)', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('put' as const),
        key: fc.string({ minLength: 1, maxLength: 6 }),
        size: fc.nat(40),
      }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.string({ minLength: 1, maxLength: 6 }) }),
    );
    fc.assert(
      fc.property(fc.nat(200), fc.nat(8), fc.array(op, { maxLength: 60 }), (maxBytes, maxKeys, ops) => {
        const quota: KvQuota = { maxBytes, maxKeys };
        const kv = new MemoryKvBackend('prop', quota);
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'put') {
            if (kv.put(o.key, new Uint8Array(o.size)) === 'ok') model.set(o.key, o.size);
          } else {
            kv.delete(o.key);
            model.delete(o.key);
          }
          const bytes = [...model].reduce((sum, [k, size]) => sum + Buffer.byteLength(k) + size, 0);
          expect(kv.usage()).toEqual({ bytes, keys: model.size });
          expect(bytes).toBeLessThanOrEqual(maxBytes);
          expect(model.size).toBeLessThanOrEqual(maxKeys);
        }
      }),
    );
  });
});

describe('StorageKvBackend', () => {
  it('loads the namespace at launch and commits each write before the guest call returns', async () => {
    const store = new MemoryStore();
    const ns = kvStorageNamespace('orders');
    await store.putRecord(ns, 'seeded', Buffer.from('from before').toString('base64'));
    await store.putRecord(ns, 'doomed', Buffer.from('x').toString('base64'));
    const backend = await StorageKvBackend.load(store, 'orders', { maxKeys: 10 });
    const g = await guest(backend);
    expect(g.get('seeded').value).toBe('from before');
    expect(g.put('new', 'guest wrote this')).toBe(ForgeErrno.OK);
    // Already in the store: nothing to flush, nothing lost if the process died now.
    expect(backend.pendingWrites).toBe(0);
    expect((await store.getRecord(ns, 'new'))?.value).toBe(
      Buffer.from('guest wrote this').toString('base64'),
    );
    expect(g.del('doomed')).toBe(ForgeErrno.OK);
    expect(await store.getRecord(ns, 'doomed')).toBeUndefined();
    expect(await backend.flush()).toEqual({ written: 0, deleted: 0 });

    const reloaded = await StorageKvBackend.load(store, 'orders');
    expect(new TextDecoder().decode(reloaded.get('new'))).toBe('guest wrote this');
    expect(reloaded.usage()).toEqual({ bytes: 'seeded'.length + 11 + 'new'.length + 16, keys: 2 });
  });

  it('reads a namespace larger than one storage page', async () => {
    const store = new MemoryStore();
    const ns = kvStorageNamespace('big');
    await store.transaction(async (tx) => {
      for (let i = 0; i < 10_050; i += 1) await tx.putRecord(ns, `k${String(i).padStart(5, '0')}`, 'AA==');
    });
    const backend = await StorageKvBackend.load(store, 'big', { maxKeys: 20_000, maxBytes: 1_000_000 });
    expect(backend.usage().keys).toBe(10_050);
    expect(backend.get('k10049')).toEqual(Uint8Array.of(0));
  });

  it('refuses a namespace holding something that is not kv bytes', async () => {
    const store = new MemoryStore();
    await store.putRecord(kvStorageNamespace('bad'), 'k', { not: 'bytes' });
    await expect(StorageKvBackend.load(store, 'bad')).rejects.toMatchObject({
      code: 'FORGE_KV_STORE_CORRUPT',
    });
  });

  it('refuses a malformed durability, and a store that cannot commit synchronously', async () => {
    const store = new MemoryStore();
    for (const durability of ['relaxed', 'relaxed-0ms', 'relaxed-99999ms', 'sometimes', 'relaxed-1.5ms']) {
      await expect(
        StorageKvBackend.load(store, 'app', {}, { durability: durability as 'commit' }),
      ).rejects.toMatchObject({ code: 'FORGE_KV_CONFIG_INVALID' });
    }
    const remote = new Proxy(store, {
      get: (target, prop) => (prop === 'commitRecordsNow' ? undefined : Reflect.get(target, prop, target)),
    });
    await expect(StorageKvBackend.load(remote, 'app')).rejects.toMatchObject({
      code: 'FORGE_KV_CONFIG_INVALID',
      message: expect.stringMatching(/cannot commit synchronously/),
    });
  });

  it('undoes a write whose commit failed, and the guest is told UNAVAILABLE', async () => {
    const store = new MemoryStore();
    let fail = false;
    const flaky = new Proxy(store, {
      get(target, prop) {
        if (prop === 'commitRecordsNow' && fail) {
          return () => {
            throw new Error('disk unavailable');
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const backend = await StorageKvBackend.load(flaky, 'flaky');
    const g = await guest(backend);
    expect(g.put('a', 'one')).toBe(ForgeErrno.OK);
    fail = true;
    expect(g.put('a', 'two')).toBe(ForgeErrno.UNAVAILABLE);
    expect(g.put('b', 'new')).toBe(ForgeErrno.UNAVAILABLE);
    // Memory agrees with the store: the guest reads what it was told is kept.
    expect(g.get('a').value).toBe('one');
    expect(g.get('b').errno).toBe(ForgeErrno.NOT_FOUND);
    expect(backend.pendingWrites).toBe(0);
    fail = false;
    expect((await store.listRecords(kvStorageNamespace('flaky'))).map((r) => r.key)).toEqual(['a']);
  });

  it('answers grouped callers after one shared commit, and never reveals an uncommitted write', async () => {
    const store = new MemoryStore();
    let commits = 0;
    const counting = new Proxy(store, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (prop === 'commitRecordsNow') {
          return (...args: unknown[]) => {
            commits += 1;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const backend = await StorageKvBackend.load(counting, 'group');
    const answers: string[] = [];
    for (const key of ['a', 'b', 'c']) {
      backend.grouped(
        () => backend.put(key, Uint8Array.of(1)),
        (outcome) => answers.push(`${key}:${outcome.ok ? outcome.value : 'failed'}`),
      );
    }
    backend.grouped(
      () => backend.get('a'),
      (outcome) => answers.push(`read a:${outcome.ok ? String(outcome.value?.length) : 'failed'}`),
    );
    // Nothing answered before the commit: a worker would still be waiting.
    expect(answers).toEqual([]);
    expect(await store.listRecords(kvStorageNamespace('group'))).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(answers).toEqual(['a:ok', 'b:ok', 'c:ok', 'read a:1']);
    expect(commits).toBe(1);
    expect((await store.listRecords(kvStorageNamespace('group'))).map((r) => r.key)).toEqual(['a', 'b', 'c']);
  });

  it('with relaxed-<N>ms, acknowledges at once and commits within the window or on flush', async () => {
    const store = new MemoryStore();
    const ns = kvStorageNamespace('fast');
    const backend = await StorageKvBackend.load(store, 'fast', {}, { durability: 'relaxed-20ms' });
    expect(backend.durability).toEqual({ kind: 'relaxed', windowMs: 20 });
    backend.put('a', Uint8Array.of(1));
    expect(backend.pendingWrites).toBe(1);
    expect(await store.getRecord(ns, 'a')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await store.getRecord(ns, 'a')).toBeDefined();
    backend.put('b', Uint8Array.of(2));
    expect(await backend.flush()).toEqual({ written: 1, deleted: 0 });
    expect((await store.listRecords(ns)).map((r) => r.key)).toEqual(['a', 'b']);
  });
});
