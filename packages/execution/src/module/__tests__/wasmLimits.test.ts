import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyWasmLimits, readWasmModuleInfo } from '../../index';

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
/** Magic number and version 1. */
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const name = (text: string) => [...leb(text.length), ...Buffer.from(text)];

/** A module with one memory (min, max?), an exported `grow(pages) -> old size` and a custom section. */
function memoryModule(min: number, max: number | undefined): Uint8Array<ArrayBuffer> {
  const limits = max === undefined ? [0x00, ...leb(min)] : [0x01, ...leb(min), ...leb(max)];
  return Uint8Array.from([
    ...HEADER,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]),
    ...section(3, [1, 0]),
    ...section(5, [1, ...limits]),
    ...section(7, [2, ...name('grow'), 0x00, 0, ...name('memory'), 0x02, 0]),
    ...section(10, [1, ...leb(6), 0, 0x20, 0, 0x40, 0, 0x0b]),
    ...section(0, [...name('note'), 1, 2, 3]),
  ]);
}

describe('applyWasmLimits (memory section rewrite)', () => {
  it('caps every memory at the limit, keeps everything else, and the guest cannot grow past it (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 16 }),
        fc.option(fc.integer({ min: 0, max: 64 }), { nil: undefined }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 1, max: 80 }),
        (min, extra, cap, ask) => {
          const max = extra === undefined ? undefined : min + extra;
          const source = memoryModule(min, max);
          expect(WebAssembly.validate(source)).toBe(true);
          if (min > cap) {
            expect(() => applyWasmLimits(source, { maxMemoryPages: cap, maxTableElements: 10 })).toThrow(
              expect.objectContaining({ code: 'FORGE_LIMIT_MEMORY' }),
            );
            return;
          }
          const patched = new Uint8Array(
            applyWasmLimits(source, { maxMemoryPages: cap, maxTableElements: 10 }),
          );
          expect(WebAssembly.validate(patched)).toBe(true);
          const info = readWasmModuleInfo(patched);
          expect(info.memories).toEqual([
            { initial: min, maximum: Math.min(max ?? cap, cap), shared: false, index64: false },
          ]);
          expect(info.exports).toEqual(readWasmModuleInfo(source).exports);
          const module = new WebAssembly.Module(patched);
          expect(WebAssembly.Module.customSections(module, 'note')).toHaveLength(1);
          const { grow, memory } = new WebAssembly.Instance(module).exports as {
            grow: (n: number) => number;
            memory: WebAssembly.Memory;
          };
          const allowed = Math.min(max ?? cap, cap);
          expect(grow(ask)).toBe(min + ask <= allowed ? min : -1);
          expect(memory.buffer.byteLength).toBeLessThanOrEqual(allowed * 65536);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses 64-bit memories', () => {
    const source = Uint8Array.from([...HEADER, ...section(5, [1, 0x04, 1])]);
    expect(() => applyWasmLimits(source, { maxMemoryPages: 4, maxTableElements: 4 })).toThrow(
      expect.objectContaining({ code: 'FORGE_LIMIT_MEMORY' }),
    );
  });

  it('never returns anything but a module or a ForgeError for arbitrary bytes after a valid header (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => {
        const bytes = Uint8Array.from([...HEADER, ...tail]);
        try {
          const out = applyWasmLimits(bytes, { maxMemoryPages: 2, maxTableElements: 2 });
          expect(out).toBeInstanceOf(Uint8Array);
        } catch (error) {
          expect((error as Error).name).toMatch(/ForgeError|WasmFormatError/);
        }
      }),
    );
  });
});
