import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ForgeError, isForgeError } from '@forgeone/common';
import { WAT_NESTING_LIMIT, compileModule, watToWasm } from '../../index';

/** A function body nested `n` levels inside `(module (func ...))`, which are two levels themselves. */
const shapes = {
  folded: (n: number) => '(module (func (export "_start") ' + '(block '.repeat(n) + ')'.repeat(n) + '))',
  flat: (n: number) => '(module (func (export "_start")\n' + 'block\n'.repeat(n) + 'end\n'.repeat(n) + '))',
  flatIf: (n: number) =>
    '(module (func (export "_start")\n' + 'i32.const 1\nif\n'.repeat(n) + 'else\nend\n'.repeat(n) + '))',
  mixed: (n: number) =>
    '(module (func (export "_start") ' + '(block block '.repeat(n / 2) + 'end)'.repeat(n / 2) + '))',
  foldedIf: (n: number) =>
    '(module (func (export "_start") ' + '(if (i32.const 1) (then '.repeat(n / 2) + '))'.repeat(n / 2) + '))',
};

async function refusal(source: string | Uint8Array, name = 'deep.wat'): Promise<ForgeError> {
  try {
    await watToWasm(source, name);
  } catch (error) {
    expect(error).toBeInstanceOf(ForgeError);
    return error as ForgeError;
  }
  throw new Error('expected a ForgeError');
}

describe('watToWasm: nesting depth', () => {
  it('refuses 100,000-deep text, folded or flat, with FORGE_WAT_TOO_DEEP naming where and what to do', async () => {
    for (const shape of Object.values(shapes)) {
      const error = await refusal(shape(100_000));
      expect(error.code).toBe('FORGE_WAT_TOO_DEEP');
      expect(error.message).toMatch(/^deep\.wat:\d+:\d+: nested more than 100 levels deep/);
      expect(error.message).toMatch(/give a binary \.wasm module/);
      expect(error.details).toMatchObject({ limit: 'watNesting', max: WAT_NESTING_LIMIT });
    }
  });

  it('names the line and column where the limit is crossed', async () => {
    const error = await refusal(shapes.flat(1000));
    // `(module (func` is two levels, so the 99th `block` (on line 100) is level 101.
    expect(error.details).toMatchObject({ line: 100, column: 1 });
  });

  it('compiles every shape at exactly the limit, so the limit sits below what the parser takes', async () => {
    for (const [name, shape] of Object.entries(shapes)) {
      const binary = await watToWasm(shape(WAT_NESTING_LIMIT - 2), `${name}.wat`);
      const compiled = await compileModule(binary);
      expect(compiled.exports.map((e) => e.name)).toEqual(['_start']);
    }
  });

  it('keeps working after a refusal (the parser never saw the text)', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await refusal(shapes.folded(1000))).code).toBe('FORGE_WAT_TOO_DEEP');
      expect(await watToWasm(shapes.folded(10))).toBeInstanceOf(Uint8Array);
    }
  });

  it('does not count parentheses or block keywords in comments, strings or names', async () => {
    const wide = 10_000;
    const source = [
      '(module',
      `;; ${'('.repeat(wide)} block block`,
      `(; ${'('.repeat(wide)} (; nested ${'block '.repeat(wide)} ;) still a comment ${'('.repeat(wide)} ;)`,
      '(memory 1)',
      `(data (i32.const 0) "${'('.repeat(wide)}\\"${'('.repeat(wide)}")`,
      '(func $block (export "_start") (local $loop i32)',
      '  block $if',
      '  end)',
      ')',
    ].join('\n');
    const compiled = await compileModule(await watToWasm(source));
    expect(compiled.exports.map((e) => e.name)).toEqual(['_start']);
  });

  it('reads a small Node Buffer (a view into a shared pool) from the view alone', async () => {
    // Buffer.from of a short string lands in Node's 8 KiB pool, and Buffer#slice does not copy.
    const wat = Buffer.from('(module (func (export "f")))');
    expect(wat.byteLength).toBeLessThan(wat.buffer.byteLength);
    const compiled = await compileModule(await watToWasm(wat));
    expect(compiled.exports.map((e) => e.name)).toEqual(['f']);
  });

  it('property: any mix of nesting, comments and strings gives a module or a coded error', async () => {
    const piece = fc.constantFrom(
      '(block ',
      ')',
      'block\n',
      'end\n',
      '(loop ',
      'loop ',
      ';; (((\n',
      '(; ((( ;)',
      '"(("',
      'nop ',
      '(i32.const 1) drop ',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 400 }), async (pieces) => {
        try {
          await watToWasm(`(module (func ${pieces.join('')}))`);
        } catch (error) {
          expect(isForgeError(error)).toBe(true);
          expect(['FORGE_WAT_INVALID', 'FORGE_WAT_TOO_DEEP']).toContain((error as ForgeError).code);
          expect((error as ForgeError).message).not.toMatch(/memory access out of bounds|Aborted\(/);
        }
      }),
      { numRuns: 150 },
    );
  });
});
