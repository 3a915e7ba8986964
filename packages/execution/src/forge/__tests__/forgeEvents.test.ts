import { describe, expect, it } from 'vitest';
import { ManualClock } from '@forgeone/common';
import { ForgeErrno, PluginHost, watToWasm, type GuestEvent } from '../../index';

/**
 * A plugin whose `emit` entry point reads its input into memory at 0 and calls forge.emit_event
 * with the four u32s at its start (name_ptr, name_len, payload_ptr, payload_len): the test picks
 * every argument, hostile ones included. `flood` emits `tick` until refused and outputs the count.
 */
const EMITTER = `(module
  (import "forge" "input_len" (func $input_len (param i32) (result i32)))
  (import "forge" "input_read" (func $input_read (param i32 i32 i32) (result i32)))
  (import "forge" "output_write" (func $output_write (param i32 i32) (result i32)))
  (import "forge" "emit_event" (func $emit (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 60000) "tick")
  (func (export "emit") (result i32)
    (drop (call $input_len (i32.const 60100)))
    (drop (call $input_read (i32.const 0) (i32.const 0) (i32.load (i32.const 60100))))
    (call $emit (i32.load (i32.const 0)) (i32.load (i32.const 4)) (i32.load (i32.const 8)) (i32.load (i32.const 12))))
  (func (export "flood") (result i32) (local $errno i32)
    (loop $again
      (local.set $errno (call $emit (i32.const 60000) (i32.const 4) (i32.const 60000) (i32.const 0)))
      (if (i32.eqz (local.get $errno))
        (then (i32.store (i32.const 60200) (i32.add (i32.load (i32.const 60200)) (i32.const 1))) (br $again))))
    (drop (call $output_write (i32.const 60200) (i32.const 4)))
    (local.get $errno)))`;

const HEADER = 16;

/** Input for `emit`: the header, then the name and payload bytes right after it (at 16 in guest memory). */
function emitInput(
  name: string | Uint8Array,
  payload: Uint8Array,
  header: Partial<Record<0 | 1 | 2 | 3, number>> = {},
) {
  const nameBytes = typeof name === 'string' ? new TextEncoder().encode(name) : name;
  const input = new Uint8Array(HEADER + nameBytes.byteLength + payload.byteLength);
  input.set(nameBytes, HEADER);
  input.set(payload, HEADER + nameBytes.byteLength);
  const fields = [HEADER, nameBytes.byteLength, HEADER + nameBytes.byteLength, payload.byteLength];
  const view = new DataView(input.buffer);
  fields.forEach((value, i) => view.setUint32(i * 4, header[i as 0 | 1 | 2 | 3] ?? value, true));
  return input;
}

async function emitter(requires: string[], sink?: (plugin: string, event: GuestEvent) => void) {
  const events: { plugin: string; event: GuestEvent }[] = [];
  const host = new PluginHost({
    clock: new ManualClock(0),
    developmentMode: true,
    onEvent: sink ?? ((plugin, event) => events.push({ plugin, event })),
  });
  const info = await host.loadDevelopment(
    { name: 'emitter', version: '1.0.0', requires, entryPoints: ['emit', 'flood'] },
    await watToWasm(EMITTER),
  );
  const emit = (...args: Parameters<typeof emitInput>) =>
    host.invoke('emitter', 'emit', emitInput(...args)).code;
  return { host, info, events, emit };
}

describe('forge.emit_event', () => {
  it('delivers the name and a copy of the payload to the sink, tagged with the emitter', async () => {
    const { emit, events, info } = await emitter(['event:emit:*']);
    expect(emit('order.created', Uint8Array.of(1, 2, 3))).toBe(ForgeErrno.OK);
    expect(emit('audit', new Uint8Array(0))).toBe(ForgeErrno.OK);
    expect(events).toHaveLength(2);
    expect(events[0]).toEqual({
      plugin: 'emitter',
      event: { containerId: info.containerId, name: 'order.created', payload: Uint8Array.of(1, 2, 3) },
    });
    expect(events[1]?.event.name).toBe('audit');
  });

  it('emits only the names its capability grants, and the gate records the refusal', async () => {
    const { host, emit, events } = await emitter(['event:emit:order.created']);
    expect(emit('order.created', Uint8Array.of(1))).toBe(ForgeErrno.OK);
    expect(emit('order.deleted', Uint8Array.of(1))).toBe(ForgeErrno.DENIED);
    expect(events.map((e) => e.event.name)).toEqual(['order.created']);
    const refused = host.trace('emitter').find((e) => e.action === 'deny');
    expect(refused?.args).toMatchObject({ name: 'order.deleted' });
    expect(refused?.reasons[0]?.message).toContain('lacks capability event:emit:order.deleted');
  });

  it('refuses malformed names and oversized payloads without calling the sink', async () => {
    const { emit, events } = await emitter(['event:emit:*']);
    // A malformed name can match no capability, so the gate refuses it before the call runs.
    for (const name of ['', 'Upper', '.lead', 'a..b', 'sp ace', Uint8Array.of(0xff, 0xfe), 'nul\0']) {
      expect(emit(name, Uint8Array.of(1))).toBe(ForgeErrno.DENIED);
    }
    expect(emit('x'.repeat(65), Uint8Array.of(1))).toBe(ForgeErrno.DENIED);
    expect(emit('big', Uint8Array.of(1), { 3: 64 * 1024 + 1 })).toBe(ForgeErrno.TOO_LARGE);
    expect(events).toHaveLength(0);
  });

  it('answers pointers outside guest memory with FAULT', async () => {
    const { emit, events } = await emitter(['event:emit:*']);
    expect(emit('ok', Uint8Array.of(1), { 0: 65_535, 1: 8 })).toBe(ForgeErrno.FAULT);
    expect(emit('ok', Uint8Array.of(1), { 2: 65_530, 3: 100 })).toBe(ForgeErrno.FAULT);
    expect(emit('ok', Uint8Array.of(1), { 2: 0xffff_fff0, 3: 0x20 })).toBe(ForgeErrno.FAULT);
    expect(events).toHaveLength(0);
  });

  it('stops a flood at the per-run event quota', async () => {
    const { host, events } = await emitter(['event:emit:tick']);
    const result = host.invoke('emitter', 'flood');
    expect(result.code).toBe(ForgeErrno.QUOTA);
    expect(new DataView(result.output.buffer).getUint32(0, true)).toBe(10_000);
    expect(events).toHaveLength(10_000);
  });

  it('gives the guest UNAVAILABLE when the sink throws, and the host keeps running', async () => {
    const { emit } = await emitter(['event:emit:*'], () => {
      throw new Error('sink down');
    });
    expect(emit('x', Uint8Array.of(1))).toBe(ForgeErrno.UNAVAILABLE);
  });
});
