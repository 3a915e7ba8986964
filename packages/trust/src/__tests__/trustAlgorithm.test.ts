import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrustAlgorithm, defaultTrustWeights, signalsFromIdentity } from '../index';
import { identity } from './support';

describe('TrustAlgorithm', () => {
  const algorithm = new TrustAlgorithm();

  it('scores the documented formula: Σ w·c / Σ w', () => {
    // A hybrid-signed, high-assurance package with no refusals, no anomaly, never quarantined: 1.
    expect(algorithm.score({ assurance: 'high', provenance: 'hybrid' }).score).toBeCloseTo(1, 10);
    // Unsigned, no assurance, clean behaviour: behaviour 0.2 + anomaly 0.25 + history 0.1.
    expect(algorithm.score({}).score).toBeCloseTo(0.55, 10);
    // Signed once (0.6 of provenance), medium assurance, half the calls refused, anomaly 0.4, quarantined once.
    const s = algorithm.score({
      assurance: 'medium',
      provenance: 'signed',
      deniedRatio: 0.5,
      anomaly: 0.4,
      quarantines: 1,
    });
    const expected = 0.2 * (2 / 3) + 0.25 * 0.6 + 0.2 * 0.5 + 0.25 * 0.6 + 0.1 * 0.5;
    expect(s.score).toBeCloseTo(expected, 10);
    expect(Object.values(s.contributions).reduce((a, b) => a + b, 0)).toBeCloseTo(s.score, 10);
    expect(s.vector).toEqual({
      identityAssurance: 2 / 3,
      provenance: 0.6,
      behaviour: 0.5,
      anomaly: 0.4,
      quarantineHistory: 0.5,
    });
  });

  it('a baseline deviation takes precedence over the refusal ratio, and an untrusted signer halves provenance', () => {
    expect(algorithm.vector({ dnaDeviation: 0.8, deniedRatio: 0 }).behaviour).toBeCloseTo(0.2, 10);
    expect(algorithm.vector({ provenance: 'hybrid', trustedSigner: false }).provenance).toBe(0.5);
  });

  it('weights are configurable and only their ratios matter', () => {
    const anomalyOnly = new TrustAlgorithm({
      identityAssurance: 0,
      provenance: 0,
      behaviour: 0,
      quarantineHistory: 0,
      anomaly: 5,
    });
    expect(anomalyOnly.score({ anomaly: 0.3 }).score).toBeCloseTo(0.7, 10);
    expect(() => new TrustAlgorithm({ anomaly: -1 })).toThrow(
      expect.objectContaining({ code: 'FORGE_INVALID_INPUT' }),
    );
    expect(
      () =>
        new TrustAlgorithm({
          identityAssurance: 0,
          provenance: 0,
          behaviour: 0,
          anomaly: 0,
          quarantineHistory: 0,
        }),
    ).toThrow();
    expect(new TrustAlgorithm().weights).toEqual(defaultTrustWeights);
  });

  it('the score stays in [0, 1] and never rises with more anomaly, refusals or quarantines', () => {
    const unit = fc.double({ min: 0, max: 1, noNaN: true });
    fc.assert(
      fc.property(
        unit,
        unit,
        unit,
        fc.nat(10),
        fc.constantFrom('none', 'low', 'medium', 'high' as const),
        (a, b, d, q, assurance) => {
          const base = {
            assurance,
            provenance: 'signed' as const,
            deniedRatio: d,
            anomaly: Math.min(a, b),
            quarantines: q,
          };
          const worse = {
            ...base,
            anomaly: Math.max(a, b),
            deniedRatio: Math.min(1, d + 0.1),
            quarantines: q + 1,
          };
          const s1 = algorithm.score(base).score;
          const s2 = algorithm.score(worse).score;
          expect(s1).toBeGreaterThanOrEqual(0);
          expect(s1).toBeLessThanOrEqual(1);
          expect(s2).toBeLessThan(s1);
        },
      ),
    );
  });

  it('for any weights, the score is the contributions summed in signal order, each w·c / Σ w', () => {
    const keys = ['identityAssurance', 'provenance', 'behaviour', 'anomaly', 'quarantineHistory'] as const;
    const unit = fc.double({ min: 0, max: 1, noNaN: true });
    fc.assert(
      fc.property(
        fc.tuple(...keys.map(() => fc.double({ min: 0, max: 10, noNaN: true }))),
        fc.record({
          assurance: fc.constantFrom('none', 'low', 'medium', 'high' as const),
          provenance: fc.constantFrom('unsigned', 'signed', 'hybrid' as const),
          trustedSigner: fc.boolean(),
          deniedRatio: unit,
          anomaly: unit,
          quarantines: fc.nat(5),
        }),
        (w, signals) => {
          fc.pre(w.some((x) => x > 0));
          const algorithm = new TrustAlgorithm(Object.fromEntries(keys.map((k, i) => [k, w[i]])));
          const { score, vector, contributions } = algorithm.score(signals);
          const total = keys.reduce((sum, _, i) => sum + w[i]!, 0);
          const good = {
            ...vector,
            anomaly: 1 - vector.anomaly,
            quarantineHistory: 1 - vector.quarantineHistory,
          };
          let sum = 0;
          keys.forEach((key, i) => {
            expect(contributions[key]).toBe((w[i]! * good[key]) / total);
            sum += contributions[key];
          });
          expect(Object.keys(contributions)).toEqual(keys);
          expect(score).toBe(Math.min(1, Math.max(0, sum)));
        },
      ),
    );
  });

  it('reads assurance and provenance from an identity', () => {
    expect(signalsFromIdentity(identity())).toEqual({ assurance: 'none', provenance: 'unsigned' });
    expect(signalsFromIdentity(identity({ signer: 'k', assurance: 'high' }))).toEqual({
      assurance: 'high',
      provenance: 'signed',
    });
    expect(
      signalsFromIdentity(identity({ signer: 'k', attributes: { provenance: 'hybrid' } })).provenance,
    ).toBe('hybrid');
  });
});
