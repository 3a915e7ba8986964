import { describe, expect, it, vi } from 'vitest';
import { ForgeError } from '@forgeone/common';
import { watToWasm } from '../../index';

const CRASH = ';; crash the parser';
let instances = 0;

// The real wabt, with one change: text carrying CRASH is replaced by text nested far deeper than
// wabt's own stack takes, which the host's nesting check would refuse before wabt saw it. That makes
// the real parser really crash (a trap inside its WebAssembly, its memory left corrupt) to test
// what the host does after.
vi.mock('wabt', async () => {
  const real = (await vi.importActual<{ default: () => Promise<Record<string, unknown>> }>('wabt')).default;
  return {
    default: async () => {
      instances += 1;
      const wabt = (await real()) as { parseWat: (name: string, text: unknown, f: unknown) => unknown };
      const parseWat = wabt.parseWat.bind(wabt);
      return {
        ...wabt,
        parseWat: (name: string, text: Uint8Array, features: unknown) => {
          const crash = new TextDecoder().decode(text).includes(CRASH);
          const deep = '(module (func ' + '(block '.repeat(5000) + ')'.repeat(5000) + '))';
          return parseWat(name, crash ? deep : text, features);
        },
      };
    },
  };
});

describe('watToWasm: a crash of the text parser', () => {
  it('is FORGE_WAT_INVALID with a clear message, and the next text parses on a fresh parser', async () => {
    expect(await watToWasm('(module)')).toBeInstanceOf(Uint8Array);
    expect(instances).toBe(1);
    for (let round = 1; round <= 2; round++) {
      const error = await watToWasm(`(module ${CRASH}\n)`, 'crash.wat').then(
        () => expect.unreachable(),
        (e: unknown) => e as ForgeError,
      );
      expect(error).toBeInstanceOf(ForgeError);
      expect(error.code).toBe('FORGE_WAT_INVALID');
      expect(error.message).toMatch(/^crash\.wat: the WebAssembly text parser failed on this text \(/);
      expect(error.message).not.toMatch(/ASSERTIONS/);
      // The crashed instance is dropped: a good module compiles again, to the same bytes as before.
      const after = await watToWasm('(module (func (export "f") (result i32) (i32.const 7)))');
      expect(after.byteLength).toBeGreaterThan(8);
      expect(instances).toBe(round + 1);
    }
  });
});
