import { describe, expect, it } from 'vitest';
import { canonicalJson, isCanonicalJson, parseJson } from '../index';
import { codeOf } from './fixtures';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops whitespace', () => {
    // RFC 8785 §3.2.3 sorting example.
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = Object.keys(JSON.parse(canonicalJson(value)) as object);
    expect(
      canonicalJson(value).startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6"'),
    ).toBe(true);
    expect(keys.at(-1)).toBe('\ufb33');
  });

  it('serializes numbers the ECMAScript way', () => {
    expect(canonicalJson([1e21, 0.1, -0, 1.5e-7, 100, 333333333.3333333])).toBe(
      '[1e+21,0.1,0,1.5e-7,100,333333333.3333333]',
    );
  });

  it('escapes strings minimally', () => {
    expect(canonicalJson({ a: '\u0001\n"\\/\u00e9' })).toBe('{"a":"\\u0001\\n\\"\\\\/\u00e9"}');
  });

  it('refuses what JSON cannot carry, with FORGE_CRYPTO_JSON', () => {
    expect(codeOf(() => canonicalJson({ n: Number.NaN }))).toBe('FORGE_CRYPTO_JSON');
    expect(codeOf(() => canonicalJson({ s: '\ud800' }))).toBe('FORGE_CRYPTO_JSON');
    expect(codeOf(() => canonicalJson(10n))).toBe('FORGE_CRYPTO_JSON');
    expect(codeOf(() => canonicalJson(new Date()))).toBe('FORGE_CRYPTO_JSON');
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(codeOf(() => canonicalJson(deep))).toBe('FORGE_CRYPTO_JSON');
  });

  it('parseJson bounds size and depth and reports coded errors', () => {
    expect(codeOf(() => parseJson(Buffer.from('{"a":1}'), 3))).toBe('FORGE_CRYPTO_JSON');
    expect(codeOf(() => parseJson(Buffer.from('{"a":'), 100))).toBe('FORGE_CRYPTO_JSON');
    expect(codeOf(() => parseJson(Uint8Array.from([0xff, 0xfe]), 100))).toBe('FORGE_CRYPTO_JSON');
    expect(codeOf(() => parseJson(Buffer.from('['.repeat(5000) + ']'.repeat(5000)), 100_000))).toBe(
      'FORGE_CRYPTO_JSON',
    );
  });

  it('isCanonicalJson tells canonical bytes from equivalent non-canonical ones', () => {
    const value = { b: 1, a: [true, null] };
    expect(isCanonicalJson(Buffer.from('{"a":[true,null],"b":1}'), value)).toBe(true);
    expect(isCanonicalJson(Buffer.from('{"b":1,"a":[true,null]}'), value)).toBe(false);
    expect(isCanonicalJson(Buffer.from('{"a":[true, null],"b":1}'), value)).toBe(false);
  });
});
