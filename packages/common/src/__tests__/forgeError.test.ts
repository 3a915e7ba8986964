import { describe, expect, it } from 'vitest';
import {
  ForgeError,
  describeErrorCode,
  forgeErrorCodes,
  isForgeError,
  toForgeError,
  type ForgeErrorCode,
} from '../index';

describe('ForgeError', () => {
  it('carries its code, details and cause', () => {
    const cause = new Error('disk on fire');
    const error = new ForgeError('FORGE_STORAGE_IO', 'write failed', {
      cause,
      details: { path: '/x', retry: false },
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ForgeError');
    expect(error.code).toBe('FORGE_STORAGE_IO');
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ path: '/x', retry: false });
    expect(new ForgeError('FORGE_INTERNAL', 'x').details).toEqual({});
    expect('cause' in new ForgeError('FORGE_INTERNAL', 'x')).toBe(false);
  });

  it('prints as one line prefixed by its code', () => {
    const error = new ForgeError('FORGE_INVALID_INPUT', 'bad manifest:\n   name is missing  \n\n and more');
    expect(error.toLine()).toBe('FORGE_INVALID_INPUT: bad manifest: name is missing and more');
  });

  it('serializes to JSON without the stack', () => {
    const error = new ForgeError('FORGE_NOT_FOUND', 'no such package', { details: { name: 'acme' } });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'FORGE_NOT_FOUND',
      message: 'no such package',
      details: { name: 'acme' },
    });
  });
});

describe('isForgeError', () => {
  it('recognises a ForgeError from a duplicated copy of the package by its shape', () => {
    // What a second installed copy of @forgeone/common would throw: same name and code, other class.
    class OtherCopyForgeError extends Error {
      override readonly name = 'ForgeError';
      readonly code = 'FORGE_STORAGE_CLOSED';
    }
    const foreign = new OtherCopyForgeError('closed');
    expect(foreign instanceof ForgeError).toBe(false);
    expect(isForgeError(foreign)).toBe(true);
    expect(isForgeError(new ForgeError('FORGE_INTERNAL', 'x'))).toBe(true);
  });

  it('rejects look-alikes', () => {
    const unknownCode = Object.assign(new Error('x'), { name: 'ForgeError', code: 'NOT_A_FORGE_CODE' });
    const wrongName = Object.assign(new Error('x'), { code: 'FORGE_INTERNAL' });
    const notAnError = { name: 'ForgeError', code: 'FORGE_INTERNAL', message: 'x' };
    const inheritedCode = Object.assign(new Error('x'), { name: 'ForgeError', code: 'toString' });
    for (const value of [
      unknownCode,
      wrongName,
      notAnError,
      inheritedCode,
      null,
      'FORGE_INTERNAL',
      undefined,
    ]) {
      expect(isForgeError(value)).toBe(false);
    }
  });
});

describe('toForgeError', () => {
  it('returns ForgeErrors unchanged', () => {
    const original = new ForgeError('FORGE_STORAGE_CONFLICT', 'changed');
    expect(toForgeError(original)).toBe(original);
  });

  it('wraps anything else with the fallback code, keeping the cause', () => {
    const cause = new TypeError('x is not a function');
    const wrapped = toForgeError(cause);
    expect(wrapped).toBeInstanceOf(ForgeError);
    expect(wrapped.code).toBe('FORGE_INTERNAL');
    expect(wrapped.message).toBe('x is not a function');
    expect(wrapped.cause).toBe(cause);

    const fromString = toForgeError('plain text thrown', 'FORGE_STORAGE_IO');
    expect([fromString.code, fromString.message, fromString.cause]).toEqual([
      'FORGE_STORAGE_IO',
      'plain text thrown',
      'plain text thrown',
    ]);
  });
});

describe('error codes', () => {
  it('are all FORGE_ names with a description', () => {
    const codes = Object.keys(forgeErrorCodes) as ForgeErrorCode[];
    expect(codes.length).toBeGreaterThan(10);
    for (const code of codes) {
      expect(code).toMatch(/^FORGE_[A-Z0-9_]+$/);
      expect(describeErrorCode(code).length).toBeGreaterThan(10);
    }
    expect(describeErrorCode('FORGE_STORAGE_CORRUPT')).toMatch(/integrity/);
  });
});
