import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ForgeError, parseWith } from '../index';

const Manifest = z.object({
  name: z.string(),
  limits: z.object({ memoryPages: z.number().int(), fuel: z.number().default(1000) }),
});

function thrown(fn: () => unknown): ForgeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ForgeError) return err;
    throw err;
  }
  throw new Error('expected a ForgeError');
}

describe('parseWith', () => {
  it('returns the parsed value, with defaults applied', () => {
    expect(parseWith(Manifest, { name: 'a', limits: { memoryPages: 2 } }, 'manifest')).toEqual({
      name: 'a',
      limits: { memoryPages: 2, fuel: 1000 },
    });
  });

  it('names the path of the first problem', () => {
    const error = thrown(() =>
      parseWith(Manifest, { name: 'a', limits: { memoryPages: 'two' } }, 'manifest'),
    );
    expect(error.code).toBe('FORGE_INVALID_INPUT');
    expect(error.message).toMatch(/^invalid manifest at limits\.memoryPages: .*number/);
    expect(error.details).toEqual({ path: 'limits.memoryPages' });
    expect(error.cause).toBeInstanceOf(z.ZodError);
  });

  it('counts further problems and uses (root) for a top-level failure', () => {
    const many = thrown(() => parseWith(Manifest, { limits: { memoryPages: 1.5 } }, 'manifest'));
    expect(many.message).toMatch(/\(\+1 more\)$/);
    const root = thrown(() => parseWith(Manifest, 'not an object', 'manifest'));
    expect(root.message).toMatch(/^invalid manifest at \(root\): /);
    expect(root.details).toEqual({ path: '(root)' });
  });

  it('uses the code the caller asks for', () => {
    expect(thrown(() => parseWith(z.number(), 'x', 'port', 'FORGE_STORAGE_INVALID')).code).toBe(
      'FORGE_STORAGE_INVALID',
    );
  });
});
