import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decisionIdOf, newId, parseDecisionId } from '../index';

describe('decision ids', () => {
  it('name a container and a call, and parse back to them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (seq) => {
        const containerId = newId('container');
        const id = decisionIdOf(containerId, seq);
        expect(id).toMatch(/^dec_[0-9a-z]{26}_[0-9]+$/);
        expect(parseDecisionId(id)).toEqual({ containerId, seq });
      }),
    );
  });

  it('refuse anything else', () => {
    const good = decisionIdOf(newId('container'), 42);
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const parsed = parseDecisionId(s);
        if (parsed !== undefined) expect(decisionIdOf(parsed.containerId, parsed.seq)).toBe(s);
      }),
    );
    for (const bad of [
      good.replace(/_42$/, '_0'),
      good.replace(/_42$/, '_042'),
      good.replace(/_42$/, '_99999999999999999'),
      good.toUpperCase(),
      `${good}/../x`,
      good.replace('dec_', 'ctr_'),
      42,
      null,
    ]) {
      expect(parseDecisionId(bad)).toBeUndefined();
    }
  });
});
