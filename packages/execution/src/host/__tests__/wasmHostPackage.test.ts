import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@forgeone/common';
import {
  PrivateKey,
  buildPackage,
  createRootSigned,
  signPackage,
  signRoot,
  verifyRootChain,
  type TrustRoot,
} from '@forgeone/crypto';
import { WasmHost, watToWasm } from '../../index';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const signer = PrivateKey.fromSeed('ed25519', new Uint8Array(32).fill(3));
const stranger = PrivateKey.fromSeed('ed25519', new Uint8Array(32).fill(4));
let root: TrustRoot;
let wasm: Uint8Array;
const hosts: WasmHost[] = [];
beforeAll(async () => {
  const signed = createRootSigned({
    expires: '2031-01-01T00:00:00Z',
    root: { keys: [signer.publicKey], threshold: { ed25519: 1 } },
  });
  root = verifyRootChain([signRoot(signed, [signer])], { clock: new ManualClock(NOW) });
  wasm = await watToWasm(`(module (import "forge" "log" (func $log (param i32 i32) (result i32)))
    (memory (export "memory") 1) (data (i32.const 0) "signed")
    (func (export "_start") (drop (call $log (i32.const 0) (i32.const 6)))))`);
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
});

function pkg(signers: PrivateKey[], capabilities = ['forge.log'], module = wasm): Uint8Array {
  const { bytes } = buildPackage(
    {
      name: 'hello',
      version: '1.0.0',
      entry: 'hello.wasm',
      created_at: '2029-06-01T00:00:00Z',
      expires_at: '2030-06-01T00:00:00Z',
      capabilities,
    },
    new Map([['hello.wasm', module]]),
  );
  return signPackage(bytes, signers);
}

describe('WasmHost.loadPackage', () => {
  it('runs the entry of a package that verifies, with its manifest', async () => {
    const h = new WasmHost({ isolation: 'inline', trustRoot: root, clock: new ManualClock(NOW) });
    hosts.push(h);
    const loaded = await h.loadPackage(pkg([signer]));
    expect(loaded.manifest).toMatchObject({ name: 'hello', capabilities: ['forge.log'] });
    const run = await h.run(loaded, {
      enforcer: { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.log'] } },
    });
    expect(run.instance.logs()).toEqual(['signed']);
  });

  it('runs nothing from a package signed by an unknown key, or tampered with', async () => {
    const h = new WasmHost({ isolation: 'inline', trustRoot: root, clock: new ManualClock(NOW) });
    hosts.push(h);
    await expect(h.loadPackage(pkg([stranger]))).rejects.toMatchObject({ code: 'FORGE_PKG_UNKNOWN_SIGNER' });
    const tampered = pkg([signer]);
    const at = Buffer.from(tampered).indexOf(Buffer.from('signed'));
    tampered[at] = 'S'.charCodeAt(0);
    await expect(h.loadPackage(tampered)).rejects.toMatchObject({
      code: expect.stringMatching(/^FORGE_PKG_/),
    });
  });
});
