import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isId, newId } from '../index';

const SHAPE = /^(ctr|trc|krn)_[0-9a-hjkmnp-tv-z]{26}$/;

describe('newId', () => {
  it('has a kind prefix and 26 Crockford base32 characters', () => {
    expect(newId('container')).toMatch(/^ctr_/);
    expect(newId('trace')).toMatch(/^trc_/);
    expect(newId('kernel')).toMatch(/^krn_/);
    for (let i = 0; i < 200; i += 1) expect(newId('trace')).toMatch(SHAPE);
  });

  it('encodes the time in the first ten characters', () => {
    expect(newId('trace', 0).slice(4, 14)).toBe('0000000000');
    expect(newId('trace', 32).slice(4, 14)).toBe('0000000010');
    expect(newId('trace', -5).slice(4, 14)).toBe('0000000000');
    expect(newId('trace', 1_700_000_000_000.9).slice(4, 14)).toBe(
      newId('trace', 1_700_000_000_000).slice(4, 14),
    );
  });

  it('does not repeat', () => {
    const ids = new Set(Array.from({ length: 20_000 }, () => newId('container', 1_000)));
    expect(ids.size).toBe(20_000);
  });

  it('sorts ids made in the same millisecond in the order they were made', () => {
    const ids = Array.from({ length: 5_000 }, () => newId('container', 1_234));
    expect([...ids].sort()).toEqual(ids);
    const now = Date.now();
    const a = newId('container', now);
    const b = newId('container', now);
    expect(a < b).toBe(true);
    expect(a.slice(4, 14)).toBe(b.slice(4, 14));
  });

  it('sorts by creation time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 50 - 1 }),
        fc.integer({ min: 0, max: 2 ** 50 - 1 }),
        (a, b) => {
          fc.pre(a !== b);
          const [early, late] = a < b ? [a, b] : [b, a];
          expect(newId('trace', early) < newId('trace', late)).toBe(true);
        },
      ),
    );
  });
});

describe('isId', () => {
  it('accepts ids of its kind only', () => {
    const id = newId('container');
    expect(isId('container', id)).toBe(true);
    expect(isId('trace', id)).toBe(false);
  });

  it('rejects malformed values', () => {
    const good = newId('trace');
    for (const bad of [
      good.toUpperCase(),
      `${good}x`,
      good.slice(0, -1),
      good.replace(/.$/, 'u'),
      'trc_',
      42,
      null,
    ]) {
      expect(isId('trace', bad)).toBe(false);
    }
  });
});
