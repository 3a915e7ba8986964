import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { alignSequences, type Alignment } from '../../index';

/** Applies an alignment to `a`: what it says `b` is, or throws when the runs do not tile both sides. */
function apply(a: Int32Array, b: Int32Array, alignment: Alignment): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  for (const run of alignment.runs) {
    expect(run.length).toBeGreaterThan(0);
    expect([run.aStart, run.bStart]).toEqual([i, j]);
    if (run.kind === 'same') {
      for (let k = 0; k < run.length; k += 1) expect(a[i + k]).toBe(b[j + k]);
      out.push(...a.subarray(i, i + run.length));
      i += run.length;
      j += run.length;
    } else if (run.kind === 'delete') i += run.length;
    else {
      out.push(...b.subarray(j, j + run.length));
      j += run.length;
    }
  }
  expect([i, j]).toEqual([a.length, b.length]);
  return out;
}

/** Length of a longest common subsequence (dynamic programming: the reference). */
function lcs(a: Int32Array, b: Int32Array): number {
  let row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i += 1) {
    const next = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j += 1)
      next[j] = a[i - 1] === b[j - 1] ? row[j - 1]! + 1 : Math.max(row[j]!, next[j - 1]!);
    row = next;
  }
  return row[b.length]!;
}

const sequence = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 40 }).map((xs) => Int32Array.from(xs));

describe('alignSequences', () => {
  it('is a shortest edit script: it turns a into b and keeps a longest common subsequence (property)', () => {
    fc.assert(
      fc.property(sequence, sequence, (a, b) => {
        const alignment = alignSequences(a, b);
        expect(apply(a, b, alignment)).toEqual([...b]);
        expect(alignment.approximate).toBe(false);
        expect(alignment.same).toBe(lcs(a, b));
      }),
      { numRuns: 500 },
    );
  });

  it('stays a valid edit script when the cost bound is tiny (anchors, then whole regions) (property)', () => {
    fc.assert(
      fc.property(sequence, sequence, fc.integer({ min: 1, max: 3 }), (a, b, maxCost) => {
        const alignment = alignSequences(a, b, { maxCost });
        expect(apply(a, b, alignment)).toEqual([...b]);
        expect(alignment.same).toBeLessThanOrEqual(lcs(a, b));
      }),
      { numRuns: 500 },
    );
  });

  it('one inserted item shifts nothing after it', () => {
    const a = Int32Array.from({ length: 10_000 }, (_, i) => i % 7);
    const b = Int32Array.from([...a.subarray(0, 5000), 99, ...a.subarray(5000)]);
    const alignment = alignSequences(a, b);
    expect(alignment.same).toBe(10_000);
    expect(alignment.runs.filter((run) => run.kind !== 'same')).toEqual([
      { kind: 'insert', aStart: 5000, bStart: 5000, length: 1 },
    ]);
  });

  it('aligns two long, mostly different runs by their unique anchors without giving up', () => {
    // Past the exact search's bound: 3,000 edits between anchors that occur once on each side.
    const a: number[] = [];
    const b: number[] = [];
    for (let block = 0; block < 30; block += 1) {
      a.push(1000 + block, ...Array.from({ length: 50 }, (_, i) => (i % 3) + 1));
      b.push(1000 + block, ...Array.from({ length: 50 }, (_, i) => (i % 2) + 5));
    }
    const alignment = alignSequences(Int32Array.from(a), Int32Array.from(b), { maxCost: 200 });
    expect(apply(Int32Array.from(a), Int32Array.from(b), alignment)).toEqual(b);
    expect(alignment.same).toBe(30);
  });
});
