import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Errno } from '../wasiConstants';
import { errnoOf } from '../wasiErrno';
import { OutputCapture } from '../wasiState';

describe('captured guest output', () => {
  it('keeps exactly what was written up to its cap, and gives the sink copies of its own (property)', () => {
    const writes = fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 40 });
    fc.assert(
      fc.property(writes, fc.integer({ min: 1, max: 5000 }), (chunks, maxBytes) => {
        const seen: Uint8Array[] = [];
        const capture = new OutputCapture({ maxBytes, sink: (bytes) => seen.push(bytes) });
        const expected: number[] = [];
        for (const chunk of chunks) {
          const room = maxBytes - expected.length;
          try {
            const taken = capture.append(chunk);
            expect(taken).toBe(Math.min(chunk.byteLength, room));
            expected.push(...chunk.subarray(0, taken));
          } catch (error) {
            expect(room).toBe(0);
            expect(chunk.byteLength).toBeGreaterThan(0);
            expect(errnoOf(error)).toBe(Errno.FBIG);
          }
          // The writer reuses its buffer: nothing kept may change with it.
          chunk.fill(0xee);
        }
        expect([...capture.bytes()]).toEqual(expected);
        expect(seen.flatMap((bytes) => [...bytes])).toEqual(expected);
        for (const bytes of seen) bytes.fill(0xdd);
        expect([...capture.bytes()]).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
