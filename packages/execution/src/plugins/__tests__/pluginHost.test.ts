import { describe, expect, it } from 'vitest';
import { KernelEventBus, ManualClock } from '@forgeone/common';
import {
  ForgeErrno,
  MemoryKvBackend,
  PluginHost,
  watToWasm,
  type PluginHostOptions,
  type PluginManifestInput,
} from '../../index';

const BUFFERS = `
  (import "forge" "input_len" (func $input_len (param i32) (result i32)))
  (import "forge" "input_read" (func $input_read (param i32 i32 i32) (result i32)))
  (import "forge" "output_write" (func $output_write (param i32 i32) (result i32)))`;

/** greet: outputs "hello, <input>" and returns 42. secret is not provided to others; crash traps. */
const GREETER = `(module ${BUFFERS}
  (memory (export "memory") 1)
  (data (i32.const 0) "hello, ")
  (func (export "greet") (result i32) (local $n i32)
    (drop (call $input_len (i32.const 1024)))
    (local.set $n (i32.load (i32.const 1024)))
    (drop (call $input_read (i32.const 7) (i32.const 0) (local.get $n)))
    (drop (call $output_write (i32.const 0) (i32.add (i32.const 7) (local.get $n))))
    (i32.const 42))
  (func (export "secret") (result i32) (i32.const 7))
  (func (export "crash") (result i32) unreachable))`;

/**
 * run: input is [u32 out_cap][u32 target_len][target][callee input]. Calls forge.call_plugin and
 * outputs [u32 errno][i32 callee code][u32 callee output length][callee output as received].
 */
const CALLER = `(module ${BUFFERS}
  (import "forge" "call_plugin" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (local $n i32) (local $tl i32) (local $errno i32) (local $olen i32)
    (drop (call $input_len (i32.const 60000)))
    (local.set $n (i32.load (i32.const 60000)))
    (drop (call $input_read (i32.const 0) (i32.const 0) (local.get $n)))
    (local.set $tl (i32.load (i32.const 4)))
    (local.set $errno (call $call
      (i32.const 8) (local.get $tl)
      (i32.add (i32.const 8) (local.get $tl)) (i32.sub (local.get $n) (i32.add (i32.const 8) (local.get $tl)))
      (i32.const 32768) (i32.load (i32.const 0)) (i32.const 60008)))
    (i32.store (i32.const 60004) (local.get $errno))
    (drop (call $output_write (i32.const 60004) (i32.const 12)))
    (local.set $olen (i32.load (i32.const 60012)))
    (if (i32.gt_u (local.get $olen) (i32.load (i32.const 0))) (then (local.set $olen (i32.load (i32.const 0)))))
    (if (i32.or (i32.eqz (local.get $errno)) (i32.eq (local.get $errno) (i32.const 7)))
      (then (drop (call $output_write (i32.const 32768) (local.get $olen)))))
    (local.get $errno)))`;

/** store: puts its input under "k"; load: outputs the value under "k". Both return the errno. */
const NOTES = `(module ${BUFFERS}
  (import "forge" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_get" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "k")
  (func (export "store") (result i32)
    (drop (call $input_len (i32.const 16)))
    (drop (call $input_read (i32.const 64) (i32.const 0) (i32.load (i32.const 16))))
    (call $put (i32.const 0) (i32.const 1) (i32.const 64) (i32.load (i32.const 16))))
  (func (export "load") (result i32) (local $errno i32)
    (local.set $errno (call $get (i32.const 0) (i32.const 1) (i32.const 64) (i32.const 1024) (i32.const 16)))
    (if (i32.eqz (local.get $errno)) (then (drop (call $output_write (i32.const 64) (i32.load (i32.const 16))))))
    (local.get $errno)))`;

/** read: opens the relative path in its input under the /data preopen (fd 3) and outputs the file. */
const READER = `(module ${BUFFERS}
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "read") (result i32) (local $errno i32)
    (drop (call $input_len (i32.const 16)))
    (drop (call $input_read (i32.const 64) (i32.const 0) (i32.load (i32.const 16))))
    (local.set $errno (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.load (i32.const 16))
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 20)))
    (if (i32.eqz (local.get $errno)) (then
      (i32.store (i32.const 24) (i32.const 1024)) (i32.store (i32.const 28) (i32.const 512))
      (drop (call $read (i32.load (i32.const 20)) (i32.const 24) (i32.const 1) (i32.const 32)))
      (drop (call $output_write (i32.const 1024) (i32.load (i32.const 32))))))
    (local.get $errno)))`;

const greeterManifest: PluginManifestInput = {
  name: 'greeter',
  version: '1.0.0',
  provides: ['plugin:call:greeter/greet', 'plugin:call:greeter/crash'],
  entryPoints: ['greet', 'secret', 'crash'],
};

const callerManifest = (name: string, requires: string[]): PluginManifestInput => ({
  name,
  version: '1.0.0',
  requires,
  provides: [`plugin:call:${name}/run`],
  entryPoints: ['run'],
});

/** Input for CALLER.run. */
function callInput(target: string, calleeInput = '', outCap = 4096): Uint8Array {
  const t = new TextEncoder().encode(target);
  const rest = new TextEncoder().encode(calleeInput);
  const input = new Uint8Array(8 + t.byteLength + rest.byteLength);
  new DataView(input.buffer).setUint32(0, outCap, true);
  new DataView(input.buffer).setUint32(4, t.byteLength, true);
  input.set(t, 8);
  input.set(rest, 8 + t.byteLength);
  return input;
}

/** CALLER's output: the errno of its call_plugin, the callee's code and output length, and the output. */
function callOutput(output: Uint8Array) {
  const view = new DataView(output.buffer, output.byteOffset, output.byteLength);
  return {
    errno: view.getUint32(0, true),
    code: view.getInt32(4, true),
    length: view.getUint32(8, true),
    text: new TextDecoder().decode(output.subarray(12)),
  };
}

async function host(options: Partial<PluginHostOptions> = {}) {
  const h = new PluginHost({ clock: new ManualClock(1_700_000_000_000), developmentMode: true, ...options });
  await h.loadDevelopment(greeterManifest, await watToWasm(GREETER));
  return h;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('PluginHost', () => {
  it('invokes an entry point with input bytes and returns its code and output', async () => {
    const h = await host();
    const result = h.invoke('greeter', 'greet', 'world');
    expect(result.outcome.status).toBe('returned');
    expect(result.code).toBe(42);
    expect(text(result.output)).toBe('hello, world');
    expect(h.invoke('greeter', 'greet', 'again').output).toEqual(new TextEncoder().encode('hello, again'));
    expect(h.list().map((p) => [p.name, p.verified])).toEqual([['greeter', false]]);
  });

  it('lets one plugin call another only through a granted plugin:call capability', async () => {
    const events = new KernelEventBus();
    const decided: string[] = [];
    events.on('syscall.decided', (e) => decided.push(`${e.request.syscall}:${e.decision.action}`));
    const h = await host({ events });
    await h.loadDevelopment(
      callerManifest('allowed', ['plugin:call:greeter/greet']),
      await watToWasm(CALLER),
    );
    await h.loadDevelopment(callerManifest('refused', []), await watToWasm(CALLER));

    const ok = h.invoke('allowed', 'run', callInput('greeter/greet', 'plugin'));
    expect(ok.code).toBe(ForgeErrno.OK);
    expect(callOutput(ok.output)).toEqual({ errno: 0, code: 42, length: 13, text: 'hello, plugin' });

    const greeterCalls = h.trace('greeter').length;
    const no = h.invoke('refused', 'run', callInput('greeter/greet', 'plugin'));
    expect(no.code).toBe(ForgeErrno.DENIED);
    expect(callOutput(no.output)).toMatchObject({ errno: ForgeErrno.DENIED, length: 0, text: '' });
    expect(h.trace('greeter')).toHaveLength(greeterCalls); // the greeter never ran
    const refusal = h.trace('refused').find((e) => e.syscall === 'forge.call_plugin');
    expect(refusal).toMatchObject({
      action: 'deny',
      executed: false,
      args: { plugin: 'greeter', export: 'greet' },
    });
    expect(refusal?.reasons[0]?.message).toBe('plugin refused lacks capability plugin:call:greeter/greet');
    expect(decided).toContain('forge.call_plugin:deny');
  });

  it('reaches only exports the callee provides, and only loaded plugins', async () => {
    const h = await host();
    await h.loadDevelopment(
      callerManifest('caller', ['plugin:call:greeter/*', 'plugin:call:ghost/run']),
      await watToWasm(CALLER),
    );
    const errno = (target: string) => callOutput(h.invoke('caller', 'run', callInput(target)).output).errno;
    expect(errno('greeter/greet')).toBe(ForgeErrno.OK);
    expect(errno('greeter/secret')).toBe(ForgeErrno.NOT_FOUND); // an entry point, but not provided
    expect(errno('ghost/run')).toBe(ForgeErrno.NOT_FOUND);
    expect(errno('greeter/crash')).toBe(ForgeErrno.CALL_FAILED);
    expect(errno('greeter/../greet')).toBe(ForgeErrno.DENIED); // malformed: no capability names it
    h.unload('greeter');
    expect(errno('greeter/greet')).toBe(ForgeErrno.NOT_FOUND);
    expect(() => h.invoke('greeter', 'greet')).toThrow(
      expect.objectContaining({ code: 'FORGE_PLUGIN_NOT_FOUND' }),
    );
  });

  it('cuts a long answer to the caller buffer and reports its full length', async () => {
    const h = await host();
    await h.loadDevelopment(callerManifest('caller', ['plugin:call:greeter/greet']), await watToWasm(CALLER));
    const out = callOutput(h.invoke('caller', 'run', callInput('greeter/greet', 'everyone', 3)).output);
    expect(out).toEqual({ errno: ForgeErrno.TOO_SMALL, code: 42, length: 15, text: 'hel' });
  });

  it('refuses re-entry and calls past the depth limit with BUSY', async () => {
    const h = await host({ limits: { maxCallDepth: 2 } });
    const grants = ['plugin:call:a/run', 'plugin:call:b/run', 'plugin:call:greeter/greet'];
    await h.loadDevelopment(callerManifest('a', grants), await watToWasm(CALLER));
    await h.loadDevelopment(callerManifest('b', grants), await watToWasm(CALLER));
    // a calls itself
    expect(callOutput(h.invoke('a', 'run', callInput('a/run')).output).errno).toBe(ForgeErrno.BUSY);
    // a calls b, b calls a back: b's call is refused, a's call to b completes with b's code
    const cycle = callOutput(
      h.invoke('a', 'run', callInput('b/run', new TextDecoder().decode(callInput('a/run')))).output,
    );
    expect(cycle).toMatchObject({ errno: ForgeErrno.OK, code: ForgeErrno.BUSY });
    // a calls b, b calls greeter: depth 3 > 2
    const deep = callOutput(
      h.invoke('a', 'run', callInput('b/run', new TextDecoder().decode(callInput('greeter/greet')))).output,
    );
    expect(deep).toMatchObject({ errno: ForgeErrno.OK, code: ForgeErrno.BUSY });
    // after all that, everything is idle again
    expect(h.invoke('greeter', 'greet', 'x').code).toBe(42);
  });

  it('gives kv access per action, and the operator can grant less than a plugin asks', async () => {
    const backend = new MemoryKvBackend('notes');
    const manifest = (name: string): PluginManifestInput => ({
      name,
      version: '1.0.0',
      requires: ['kv:write:notes', 'kv:read:notes'],
      entryPoints: ['store', 'load'],
    });
    const h = new PluginHost({
      clock: new ManualClock(0),
      developmentMode: true,
      kv: () => backend,
      grant: (m) => (m.name === 'writer' ? ['kv:write:*'] : ['kv:read:notes', 'kv:write:other']),
    });
    const module = await watToWasm(NOTES);
    const writer = await h.loadDevelopment(manifest('writer'), module);
    const reader = await h.loadDevelopment(manifest('reader'), module);
    expect(writer).toMatchObject({ granted: ['kv:write:notes'], notGranted: ['kv:read:notes'] });
    expect(reader).toMatchObject({ granted: ['kv:read:notes'], notGranted: ['kv:write:notes'] });
    expect(h.invoke('writer', 'store', 'remember me').code).toBe(ForgeErrno.OK);
    expect(h.invoke('writer', 'load').code).toBe(ForgeErrno.DENIED);
    expect(h.invoke('reader', 'store', 'overwrite').code).toBe(ForgeErrno.DENIED);
    const loaded = h.invoke('reader', 'load');
    expect(loaded.code).toBe(ForgeErrno.OK);
    expect(text(loaded.output)).toBe('remember me');
  });

  it('lets a plugin reach only the files its fs capability names', async () => {
    const h = new PluginHost({
      clock: new ManualClock(0),
      developmentMode: true,
      wasi: () => ({
        preopens: [
          {
            guestPath: '/data',
            kind: 'memory',
            files: { 'public/a.txt': 'public text', 'secret.txt': 'secret' },
          },
        ],
      }),
    });
    await h.loadDevelopment(
      { name: 'reader', version: '1.0.0', requires: ['fs:read:/data/public'], entryPoints: ['read'] },
      await watToWasm(READER),
    );
    await h.loadDevelopment(
      { name: 'admin', version: '1.0.0', requires: ['fs:read:/data'], entryPoints: ['read'] },
      await watToWasm(READER),
    );
    expect(text(h.invoke('admin', 'read', 'secret.txt').output)).toBe('secret');
    const read = (path: string) => h.invoke('reader', 'read', path);
    expect(read('public/a.txt')).toMatchObject({ code: 0 });
    expect(text(read('public/a.txt').output)).toBe('public text');
    const NOTCAPABLE = 76;
    for (const path of ['secret.txt', 'public/../secret.txt', '../data/secret.txt', '/data/secret.txt']) {
      expect(read(path).code, path).toBe(NOTCAPABLE);
      expect(read(path).output, path).toHaveLength(0);
    }
  });

  it('loads raw bytes only in development mode', async () => {
    const h = new PluginHost({ clock: new ManualClock(0) });
    await expect(h.loadDevelopment(greeterManifest, await watToWasm(GREETER))).rejects.toMatchObject({
      code: 'FORGE_WASM_UNVERIFIED',
    });
    await expect(h.load(new Uint8Array(10))).rejects.toMatchObject({ code: 'FORGE_INVALID_INPUT' });
    expect(h.list()).toEqual([]);
  });

  it('refuses hostile manifests and modules at load, naming the problem', async () => {
    const h = await host();
    const module = await watToWasm(GREETER);
    const manifestCases: [unknown, string][] = [
      [{ ...greeterManifest, name: 'Greeter' }, 'name'],
      [{ ...greeterManifest, name: 'other', provides: ['plugin:call:greeter/greet'] }, 'provides.0'],
      [{ ...greeterManifest, provides: ['plugin:call:greeter/nope'] }, 'provides.0'],
      [{ ...greeterManifest, requires: ['fs:read:/data/../etc'] }, 'requires.0'],
      [{ ...greeterManifest, requires: ['kv:read:a', 'kv:read:a'] }, 'requires'],
      [{ ...greeterManifest, entryPoints: [] }, 'entryPoints'],
      [{ ...greeterManifest, version: 'latest' }, 'version'],
      [{ ...greeterManifest, extra: true }, '(root)'],
      ['not an object', '(root)'],
    ];
    for (const [manifest, path] of manifestCases) {
      await expect(h.loadDevelopment(manifest, module), path).rejects.toMatchObject({
        code: 'FORGE_PLUGIN_MANIFEST_INVALID',
        details: { path },
      });
    }
    await expect(h.loadDevelopment(greeterManifest, module)).rejects.toMatchObject({
      code: 'FORGE_PLUGIN_EXISTS',
    });
    await expect(
      h.loadDevelopment({ ...greeterManifest, name: 'g2', provides: [], entryPoints: ['missing'] }, module),
    ).rejects.toMatchObject({ code: 'FORGE_WASM_EXPORT_MISSING' });
    const sneaky = await watToWasm(`(module (import "env" "system" (func (param i32)))
      (func (export "run") (result i32) (i32.const 0)))`);
    await expect(
      h.loadDevelopment({ name: 'sneaky', version: '1.0.0', entryPoints: ['run'] }, sneaky),
    ).rejects.toMatchObject({ code: 'FORGE_WASM_IMPORT_UNKNOWN' });
    const wantsKv = await watToWasm(NOTES); // no kv backend configured for this host
    await expect(
      h.loadDevelopment({ name: 'notes', version: '1.0.0', entryPoints: ['store'] }, wantsKv),
    ).rejects.toMatchObject({ code: 'FORGE_WASM_IMPORT_UNKNOWN' });
    expect(h.list().map((p) => p.name)).toEqual(['greeter']);
  });

  it('keeps a plugin inside its memory limit, even one that declares none', async () => {
    const h = await host({ limits: { maxMemoryPages: 4 } });
    const bomb = await watToWasm(`(module (memory (export "memory") 1)
      (func (export "grow") (result i32) (memory.grow (i32.const 100))))`);
    await h.loadDevelopment({ name: 'bomb', version: '1.0.0', entryPoints: ['grow'] }, bomb);
    expect(h.invoke('bomb', 'grow').code).toBe(-1);
  });

  it('stops a plugin spinning past its deadline, and the plugins it was calling, and all stay usable', async () => {
    const h = await host({ limits: { timeoutMs: 200 } });
    await h.loadDevelopment(
      { name: 'spinner', version: '1.0.0', provides: ['plugin:call:spinner/spin'], entryPoints: ['spin'] },
      await watToWasm(
        '(module (memory (export "memory") 1) (func (export "spin") (result i32) (loop br 0) (i32.const 0)))',
      ),
    );
    await h.loadDevelopment(
      callerManifest('caller', ['plugin:call:spinner/spin', 'plugin:call:greeter/greet']),
      await watToWasm(CALLER),
    );
    const timedOut = { status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } };
    expect(h.invoke('spinner', 'spin').outcome).toMatchObject(timedOut);
    // The caller's own deadline stops it while the spinner runs inside its call; V8 unwinds both.
    expect(h.invoke('caller', 'run', callInput('spinner/spin')).outcome).toMatchObject(timedOut);
    // Neither is left marked as running (which would answer BUSY), and both run again.
    expect(h.invoke('spinner', 'spin').outcome).toMatchObject(timedOut);
    expect(callOutput(h.invoke('caller', 'run', callInput('greeter/greet', 'again')).output)).toMatchObject({
      errno: ForgeErrno.OK,
      code: 42,
      text: 'hello, again',
    });
  });

  it('reports a trap as the outcome and stays usable', async () => {
    const h = await host();
    const crashed = h.invoke('greeter', 'crash');
    expect(crashed.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_WASM_TRAP' } });
    expect(crashed.code).toBeNull();
    expect(h.invoke('greeter', 'greet', 'after').code).toBe(42);
    expect(() => h.invoke('greeter', 'nope')).toThrow(
      expect.objectContaining({ code: 'FORGE_PLUGIN_NOT_FOUND' }),
    );
    expect(() => h.invoke('greeter', 'greet', new Uint8Array(2 * 1024 * 1024))).toThrow(
      expect.objectContaining({ code: 'FORGE_INVOKE_ARGS' }),
    );
  });
});
