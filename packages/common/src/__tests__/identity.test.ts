import { describe, expect, it } from 'vitest';
import { IdentityContextSchema, TrustVectorSchema, assuranceLevels, parseWith } from '../index';

describe('IdentityContextSchema', () => {
  it('fills in defaults', () => {
    const identity = IdentityContextSchema.parse({ subject: 'pkg:acme/report@1.2.0' });
    expect(identity).toEqual({
      subject: 'pkg:acme/report@1.2.0',
      tenant: 'default',
      roles: [],
      attributes: {},
      assurance: 'none',
    });
    expect('signer' in identity).toBe(false);
  });

  it('keeps given values', () => {
    const input = {
      subject: 'user:alice',
      tenant: 'acme',
      roles: ['admin'],
      attributes: { team: 'red team' },
      assurance: 'high' as const,
      signer: 'key-1',
    };
    expect(IdentityContextSchema.parse(input)).toEqual(input);
  });

  it('rejects unknown fields, naming them', () => {
    expect(() => parseWith(IdentityContextSchema, { subject: 'user:bob', admin: true }, 'identity')).toThrow(
      /admin/,
    );
  });

  it.each([
    ['an empty subject', { subject: '' }],
    ['a subject with a space', { subject: 'user bob' }],
    ['a non-ASCII subject', { subject: 'user:zoë' }],
    ['a subject over 256 characters', { subject: 'x'.repeat(257) }],
    ['a bad role', { subject: 'user:bob', roles: ['has space'] }],
    ['too many roles', { subject: 'user:bob', roles: Array.from({ length: 65 }, (_, i) => `r${i}`) }],
    ['a bad attribute name', { subject: 'user:bob', attributes: { 'a b': 'x' } }],
    ['an unknown assurance level', { subject: 'user:bob', assurance: 'total' }],
    ['a long signer', { subject: 'user:bob', signer: 'k'.repeat(129) }],
  ])('rejects %s', (_label, input) => {
    expect(IdentityContextSchema.safeParse(input).success).toBe(false);
  });

  it('accepts a subject of exactly 256 printable characters', () => {
    expect(IdentityContextSchema.safeParse({ subject: '~'.repeat(256) }).success).toBe(true);
  });

  it('orders assurance levels weakest first', () => {
    expect(assuranceLevels).toEqual(['none', 'low', 'medium', 'high']);
  });
});

describe('TrustVectorSchema', () => {
  const vector = { identityAssurance: 0, provenance: 1, behaviour: 0.5, anomaly: 0.25, quarantineHistory: 1 };

  it('accepts signals in [0, 1]', () => {
    expect(TrustVectorSchema.parse(vector)).toEqual(vector);
  });

  it('rejects out-of-range, missing and unknown signals', () => {
    for (const bad of [
      { ...vector, behaviour: 1.01 },
      { ...vector, anomaly: -0.1 },
      { ...vector, provenance: Number.NaN },
      { identityAssurance: 0, provenance: 1, behaviour: 0.5, anomaly: 0.25 },
      { ...vector, extra: 0 },
    ]) {
      expect(TrustVectorSchema.safeParse(bad).success).toBe(false);
    }
  });
});
