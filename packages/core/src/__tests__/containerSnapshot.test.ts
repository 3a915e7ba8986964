import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '@forgeone/common';
import { generateKeyPair } from '@forgeone/crypto';
import { TraceStore } from '@forgeone/observer';
import type { ContainerConfig, Runtime } from '../index';
import { COMMAND, SERVICE, allow, containerRuntime } from './support/containerGuests';

const encode = (text: string) => new TextEncoder().encode(text);
const i32 = (value: number) => ({ type: 'i32' as const, value });

/**
 * A service whose `_initialize` counts its runs into a global and fills memory; `bump` adds to a
 * non-exported global and returns it; `peek` reads memory back; `forge_on_restore` counts restores.
 */
const STATEFUL = encode(`(module
  (memory (export "memory") 2)
  (global $inits (mut i32) (i32.const 0))
  (global $n (mut i32) (i32.const 0))
  (global $restores (mut i32) (i32.const 0))
  (func (export "_initialize")
    (global.set $inits (i32.add (global.get $inits) (i32.const 1)))
    (i32.store (i32.const 70000) (i32.const 1234)))
  (func (export "bump") (param i32) (result i32)
    (global.set $n (i32.add (global.get $n) (local.get 0))) (global.get $n))
  (func (export "inits") (result i32) (global.get $inits))
  (func (export "restores") (result i32) (global.get $restores))
  (func (export "peek") (result i32) (i32.load (i32.const 70000)))
  (func (export "poke") (param i32) (i32.store (i32.const 70000) (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "forge_on_restore") (global.set $restores (i32.add (global.get $restores) (i32.const 1)))))`);

const opened: Runtime[] = [];
function runtime() {
  const made = containerRuntime();
  opened.push(made.runtime);
  return made.runtime;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

/** An inline container of `source` (STATEFUL by default) with more of its config. */
const inline = (rt: Runtime, config: Partial<ContainerConfig> = {}) =>
  rt.launchContainer({ source: STATEFUL, policy: allow, isolation: 'inline', ...config });

const value = async (
  rt: Runtime,
  id: Parameters<Runtime['invoke']>[0],
  entry: string,
  args = [] as ReturnType<typeof i32>[],
) => {
  const result = await rt.invoke(id, entry, args);
  expect(result.outcome.status).toBe('returned');
  return result.values[0]?.value;
};

describe('container snapshots (Runtime.snapshot, launchContainer({ fromSnapshot }))', () => {
  it('captures a running service between calls and starts a new one from it, state and all, without initialising it again', async () => {
    const rt = runtime();
    const id = await inline(rt, { snapshots: true });
    expect(await value(rt, id, 'bump', [i32(5)])).toBe(5);
    await rt.invoke(id, 'poke', [i32(777)]);
    const snapshot = await rt.snapshot(id);
    expect(snapshot.id).toMatch(/^[0-9a-f]{64}$/);
    // The original goes on independently.
    expect(await value(rt, id, 'bump', [i32(1)])).toBe(6);

    const copy = await inline(rt, { fromSnapshot: snapshot.bytes });
    expect((await rt.get(copy)).state).toBe('running');
    expect(await value(rt, copy, 'bump', [i32(10)])).toBe(15);
    expect(await value(rt, copy, 'peek')).toBe(777);
    expect(await value(rt, copy, 'inits')).toBe(1);
    expect(await value(rt, copy, 'restores')).toBe(1);
    // A copy of the copy: the restore hook ran once more, on the restored count.
    const again = await inline(rt, { fromSnapshot: (await rt.snapshot(copy)).bytes });
    expect(await value(rt, again, 'restores')).toBe(2);
    expect(await value(rt, again, 'bump', [i32(0)])).toBe(15);
  });

  it("a restored container's durable trace goes on from the captured seq, with nothing counted as lost", async () => {
    const store = new MemoryStore();
    const made = containerRuntime({ store });
    opened.push(made.runtime);
    const rt = made.runtime;
    const id = await inline(rt, { source: SERVICE, snapshots: true });
    await rt.invoke(id, 'spin', [i32(5)]);
    const { bytes } = await rt.snapshot(id);
    const copy = await inline(rt, { source: SERVICE, fromSnapshot: bytes });
    await rt.invoke(copy, 'spin', [i32(3)]);
    await rt.stop(copy);
    const traces = new TraceStore(store);
    const seqs: number[] = [];
    for await (const event of traces.query({ containerId: copy })) seqs.push(event.seq);
    expect(seqs).toEqual([6, 7, 8]);
    expect((await traces.info(copy)).lost).toBeNull();
  });

  it('honours a signature: signed by the key is accepted, another key or no signature is refused', async () => {
    const rt = runtime();
    const key = generateKeyPair('ed25519');
    const stranger = generateKeyPair('ed25519');
    const id = await inline(rt, { snapshots: true });
    const signed = await rt.snapshot(id, { sign: key });
    const unsigned = await rt.snapshot(id);
    const launch = (bytes: Uint8Array, snapshotKey = key.publicKey) =>
      inline(rt, { fromSnapshot: bytes, snapshotKey });
    await expect(launch(signed.bytes)).resolves.toMatch(/^ctr_/);
    await expect(launch(signed.bytes, stranger.publicKey)).rejects.toMatchObject({
      code: 'FORGE_SNAPSHOT_SIGNATURE',
    });
    await expect(launch(unsigned.bytes)).rejects.toMatchObject({ code: 'FORGE_SNAPSHOT_UNSIGNED' });
  });

  it('refuses a tampered snapshot, one of another module, and one over the memory limit, before anything runs', async () => {
    const rt = runtime();
    const id = await inline(rt, { snapshots: true });
    const { bytes } = await rt.snapshot(id);
    const tampered = bytes.slice();
    tampered[tampered.length - 1]! ^= 0xff;
    const launch = (from: Uint8Array, source = STATEFUL, limits = {}) =>
      inline(rt, { source, fromSnapshot: from, limits });
    await expect(launch(tampered)).rejects.toMatchObject({ code: 'FORGE_SNAPSHOT_INVALID' });
    await expect(launch(bytes.subarray(0, 100))).rejects.toMatchObject({ code: 'FORGE_SNAPSHOT_INVALID' });
    await expect(launch(bytes, SERVICE)).rejects.toMatchObject({ code: 'FORGE_SNAPSHOT_MISMATCH' });
    // Grown to 5 pages, then started under a limit of 3 (the module itself needs 2).
    const grown = await inline(rt, { snapshots: true });
    await rt.invoke(grown, 'grow', [i32(3)]);
    const big = await rt.snapshot(grown);
    await expect(launch(big.bytes, STATEFUL, { memoryPages: 3 })).rejects.toMatchObject({
      code: 'FORGE_SNAPSHOT_LIMIT',
    });
    // Refused before the launch: no container was made for any of them.
    expect((await rt.list()).length).toBe(2);
  });

  it('refuses what it cannot honour: worker isolation, a command, a container launched without snapshots', async () => {
    const rt = runtime();
    await expect(
      rt.launchContainer({ source: STATEFUL, policy: allow, isolation: 'worker', snapshots: true }),
    ).rejects.toMatchObject({ code: 'FORGE_INVALID_INPUT', details: { field: 'snapshots' } });
    const plain = await inline(rt);
    await expect(rt.snapshot(plain)).rejects.toMatchObject({ code: 'FORGE_SNAPSHOT_STATE' });
    const worker = await rt.launchContainer({ source: SERVICE, policy: allow, isolation: 'worker' });
    await expect(rt.snapshot(worker)).rejects.toMatchObject({ code: 'FORGE_SNAPSHOT_STATE' });
    const command = await inline(rt, { source: COMMAND, snapshots: true });
    await expect(rt.snapshot(command)).rejects.toMatchObject({ code: 'FORGE_SNAPSHOT_STATE' });
    const id = await inline(rt, { snapshots: true });
    const { bytes } = await rt.snapshot(id);
    await expect(inline(rt, { kind: 'command', fromSnapshot: bytes })).rejects.toMatchObject({
      code: expect.stringMatching(/^FORGE_(INVALID_INPUT|WASM_EXPORT_MISSING)$/),
    });
    await expect(inline(rt, { snapshotKey: generateKeyPair('ed25519').publicKey })).rejects.toMatchObject({
      code: 'FORGE_INVALID_INPUT',
      details: { field: 'snapshotKey' },
    });
    await rt.pause(id);
    await expect(rt.snapshot(id)).rejects.toMatchObject({ code: 'FORGE_SNAPSHOT_STATE' });
  });
});
