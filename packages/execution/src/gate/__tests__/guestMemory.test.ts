import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuestFault, GuestMemory, type MemoryWriteSink } from '../../index';

function bound(pages = 1) {
  const memory = new GuestMemory();
  const wasm = new WebAssembly.Memory({ initial: pages, maximum: 4 });
  memory.bind(wasm);
  return { memory, wasm };
}

describe('GuestMemory', () => {
  it('refuses any range that is not whole, non-negative and inside memory (property)', () => {
    const { memory } = bound();
    const size = memory.size;
    fc.assert(
      fc.property(
        fc.oneof(fc.nat(size + 8), fc.constant(0xffff_ffff), fc.integer({ min: -8, max: -1 })),
        fc.oneof(
          fc.nat(size + 8),
          fc.constantFrom(NaN, Infinity, -1, 1.5, 2 ** 32, 2 ** 53),
          fc.double({ noNaN: false }),
        ),
        (ptr, len) => {
          const u = ptr >>> 0;
          const valid = Number.isInteger(len) && len >= 0 && u + len <= size;
          if (valid) expect(memory.view(ptr, len)).toHaveLength(len);
          else expect(() => memory.view(ptr, len)).toThrow(GuestFault);
        },
      ),
    );
  });

  it('hands every host write to its write sink, and follows memory.grow', () => {
    const { memory, wasm } = bound();
    const seen: string[] = [];
    const sink: MemoryWriteSink = {
      captureWrite: (ptr, len, bytes) =>
        seen.push(`${ptr}+${len}:${bytes.subarray(ptr, ptr + len).join(',')}`),
      captureU32: (ptr, value, bytes) =>
        seen.push(`${ptr}+4:${bytes.subarray(ptr, ptr + 4).join(',')}=${value.toString(16)}`),
    };
    memory.writeSink = sink;
    memory.writeU32(8, 0x01020304);
    memory.write(100, new Uint8Array([9, 9]));
    wasm.grow(1);
    memory.writeU8(65_536 + 10, 7);
    memory.writeSink = undefined;
    memory.writeU8(0, 1);
    expect(seen).toEqual(['8+4:4,3,2,1=1020304', '100+2:9,9', '65546+1:7']);
    expect(memory.size).toBe(2 * 65_536);
    expect(() => memory.readU32(2 * 65_536 - 2)).toThrow(GuestFault);
  });

  it('sees a shared memory grow (its buffer is replaced, not detached)', () => {
    const memory = new GuestMemory();
    const wasm = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    memory.bind(wasm);
    memory.writeU32(0, 7);
    expect(() => memory.writeU32(65_536, 1)).toThrow(GuestFault);
    wasm.grow(2);
    memory.writeU32(65_536 * 2 + 4, 42);
    expect(new DataView(wasm.buffer).getUint32(65_536 * 2 + 4, true)).toBe(42);
    expect(memory.readU32(0)).toBe(7);
    expect(memory.size).toBe(3 * 65_536);
  });
});
