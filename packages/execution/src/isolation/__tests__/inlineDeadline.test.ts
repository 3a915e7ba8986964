import { describe, expect, it } from 'vitest';
import { DeadlineExpired, callWithDeadline } from '../internal/inlineDeadline';
import { compileModule, watToWasm } from '../../index';

const spinner = async () => {
  const { module } = await compileModule(await watToWasm('(module (func (export "spin") (loop br 0)))'));
  return new WebAssembly.Instance(module).exports.spin as () => void;
};

describe('callWithDeadline (inline deadlines)', () => {
  it("returns the call's value and passes its errors through unchanged", () => {
    expect(callWithDeadline(() => 42, 1_000)).toBe(42);
    const error = new TypeError('mine');
    expect(() =>
      callWithDeadline(() => {
        throw error;
      }, 1_000),
    ).toThrow(error);
    // No deadline past what node:vm takes.
    expect(callWithDeadline(() => 'done', Number.POSITIVE_INFINITY)).toBe('done');
  });

  it('stops a guest spinning in (loop br 0) on this thread, and this thread runs on', async () => {
    const spin = await spinner();
    expect(() => callWithDeadline(spin, 100)).toThrow(DeadlineExpired);
    expect(callWithDeadline(() => 'after', 1_000)).toBe('after');
  });

  it('keeps nested deadlines apart: an inner one ends only the inner call; an outer one ends both', async () => {
    const spin = await spinner();
    const innerStopped = callWithDeadline(() => {
      try {
        callWithDeadline(spin, 50);
        return 'inner ran on';
      } catch (error) {
        return error instanceof DeadlineExpired ? `inner stopped at ${error.timeoutMs}` : 'other';
      }
    }, 5_000);
    expect(innerStopped).toBe('inner stopped at 50');
    let innerCaught = false;
    expect(() =>
      callWithDeadline(() => {
        try {
          callWithDeadline(spin, 60_000);
        } catch {
          innerCaught = true; // never: V8 unwinds the inner call without running its handlers
        }
      }, 100),
    ).toThrow(expect.objectContaining({ name: 'DeadlineExpired', timeoutMs: 100 }));
    expect(innerCaught).toBe(false);
  });
});
