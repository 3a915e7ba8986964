import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, MemoryStore } from '@forgeone/common';
import {
  PrivateKey,
  buildPackage,
  createRootSigned,
  recordInstalled,
  signPackage,
  signRoot,
  verifyRootChain,
  type TrustRoot,
} from '@forgeone/crypto';
import {
  ForgeErrno,
  PLUGIN_MANIFEST_ENTRY,
  PluginHost,
  watToWasm,
  type PluginManifestInput,
} from '../../index';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const clock = () => new ManualClock(NOW);
const signer = PrivateKey.fromSeed('ed25519', new Uint8Array(32).fill(7));
const stranger = PrivateKey.fromSeed('ed25519', new Uint8Array(32).fill(9));

const ECHO = `(module
  (import "forge" "input_len" (func $input_len (param i32) (result i32)))
  (import "forge" "input_read" (func $input_read (param i32 i32 i32) (result i32)))
  (import "forge" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "echo") (result i32)
    (drop (call $input_len (i32.const 0)))
    (drop (call $input_read (i32.const 16) (i32.const 0) (i32.load (i32.const 0))))
    (drop (call $output_write (i32.const 16) (i32.load (i32.const 0))))
    (i32.const 0)))`;

/** Calls echo/echo with its own input and outputs what came back. */
const RELAY = `(module
  (import "forge" "input_len" (func $input_len (param i32) (result i32)))
  (import "forge" "input_read" (func $input_read (param i32 i32 i32) (result i32)))
  (import "forge" "output_write" (func $output_write (param i32 i32) (result i32)))
  (import "forge" "call_plugin" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "echo/echo")
  (func (export "relay") (result i32) (local $errno i32)
    (drop (call $input_len (i32.const 0)))
    (drop (call $input_read (i32.const 1024) (i32.const 0) (i32.load (i32.const 0))))
    (local.set $errno (call $call (i32.const 100) (i32.const 9) (i32.const 1024) (i32.load (i32.const 0))
      (i32.const 4096) (i32.const 1024) (i32.const 8)))
    (if (i32.eqz (local.get $errno)) (then (drop (call $output_write (i32.const 4096) (i32.load (i32.const 12))))))
    (local.get $errno)))`;

let root: TrustRoot;
let echoWasm: Uint8Array;
let relayWasm: Uint8Array;
beforeAll(async () => {
  const signed = createRootSigned({
    expires: '2031-01-01T00:00:00Z',
    root: { keys: [signer.publicKey], threshold: { ed25519: 1 } },
  });
  root = verifyRootChain([signRoot(signed, [signer])], { clock: clock() });
  echoWasm = await watToWasm(ECHO);
  relayWasm = await watToWasm(RELAY);
});

/** A signed plugin package: the module as `plugin.wasm`, the manifest as `plugin.json`. */
function pluginPackage(
  plugin: PluginManifestInput | undefined,
  module: Uint8Array,
  pkg: { name?: string; version?: string; capabilities?: string[]; signers?: PrivateKey[] } = {},
): Uint8Array {
  const files = new Map<string, Uint8Array>([['plugin.wasm', module]]);
  if (plugin) files.set(PLUGIN_MANIFEST_ENTRY, new TextEncoder().encode(JSON.stringify(plugin)));
  const { bytes } = buildPackage(
    {
      name: pkg.name ?? plugin?.name ?? 'unnamed',
      version: pkg.version ?? plugin?.version ?? '1.0.0',
      entry: 'plugin.wasm',
      created_at: '2029-06-01T00:00:00Z',
      expires_at: '2030-06-01T00:00:00Z',
      capabilities: pkg.capabilities ?? plugin?.requires ?? [],
    },
    files,
  );
  return signPackage(bytes, pkg.signers ?? [signer]);
}

const echo: PluginManifestInput = {
  name: 'echo',
  version: '1.0.0',
  provides: ['plugin:call:echo/echo'],
  entryPoints: ['echo'],
};
const relay: PluginManifestInput = {
  name: 'relay',
  version: '1.0.0',
  requires: ['plugin:call:echo/echo'],
  entryPoints: ['relay'],
};

describe('plugins from ForgePkg', () => {
  it('loads verified packages and lets them call each other', async () => {
    const host = new PluginHost({ clock: clock(), trustRoot: root });
    const info = await host.load(pluginPackage(echo, echoWasm));
    expect(info).toMatchObject({ name: 'echo', verified: true, signers: [signer.keyId] });
    await host.load(pluginPackage(relay, relayWasm));
    const result = host.invoke('relay', 'relay', 'signed and sealed');
    expect(result.code).toBe(ForgeErrno.OK);
    expect(new TextDecoder().decode(result.output)).toBe('signed and sealed');
  });

  it('refuses a tampered package, an unknown signer and an unsigned one, loading nothing', async () => {
    const host = new PluginHost({ clock: clock(), trustRoot: root });
    const good = pluginPackage(echo, echoWasm);
    const tampered = good.slice();
    const at = Buffer.from(tampered).indexOf(Buffer.from(echoWasm.subarray(0, 16)));
    expect(at).toBeGreaterThan(0);
    tampered[at + 20] = tampered[at + 20]! ^ 0x01;
    await expect(host.load(tampered)).rejects.toMatchObject({ code: expect.stringMatching(/^FORGE_PKG_/) });
    await expect(host.load(pluginPackage(echo, echoWasm, { signers: [stranger] }))).rejects.toMatchObject({
      code: 'FORGE_PKG_UNKNOWN_SIGNER',
    });
    await expect(host.load(pluginPackage(echo, echoWasm, { signers: [] }))).rejects.toMatchObject({
      code: 'FORGE_PKG_UNSIGNED',
    });
    expect(host.list()).toEqual([]);
  });

  it('refuses a plugin manifest that disagrees with its signed package manifest', async () => {
    const host = new PluginHost({ clock: clock(), trustRoot: root });
    const cases = [
      pluginPackage(relay, relayWasm, { capabilities: [] }), // requires what the package does not declare
      pluginPackage(echo, echoWasm, { name: 'other' }),
      pluginPackage(echo, echoWasm, { version: '2.0.0' }),
      pluginPackage(undefined, echoWasm, { name: 'echo' }), // no plugin.json
    ];
    for (const pkg of cases) {
      await expect(host.load(pkg)).rejects.toMatchObject({ code: 'FORGE_PLUGIN_MANIFEST_INVALID' });
    }
    expect(host.list()).toEqual([]);
  });

  it('refuses an older version than the one installed', async () => {
    const store = new MemoryStore();
    await recordInstalled(store, { name: 'echo', version: '1.5.0' });
    const host = new PluginHost({ clock: clock(), trustRoot: root, versionStore: store });
    await expect(host.load(pluginPackage(echo, echoWasm))).rejects.toMatchObject({
      code: 'FORGE_PKG_ROLLBACK',
    });
  });
});
