import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ForgeError, isForgeError } from '@forgeone/common';
import { checkImports, compileModule, detectFormat, watToWasm } from '../../index';

const text = (s: string) => new TextEncoder().encode(s);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ForgeError);
    return (error as ForgeError).code;
  }
  throw new Error('expected a ForgeError');
}

describe('compileModule', () => {
  it('compiles text and binary to the same module, identified by SHA-256', async () => {
    const wat = '(module (func (export "f") (result i32) (i32.const 42)))';
    const binary = await watToWasm(wat);
    expect(detectFormat(binary)).toBe('wasm');
    expect(detectFormat(text(wat))).toBe('wat');
    const a = await compileModule(text(wat));
    const b = await compileModule(binary);
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.sha256).toBe(b.sha256);
    expect(a.exports.map((e) => e.name)).toEqual(['f']);
  });

  it('compiles WAT given as a view into a larger buffer (a package entry) from the view alone', async () => {
    const wat = text('(module (func (export "f")))');
    const file = new Uint8Array(wat.byteLength + 16);
    file.set(wat, 8);
    file.fill(0xff, 8 + wat.byteLength); // what follows the entry in a package: not WAT
    const compiled = await compileModule(file.subarray(8, 8 + wat.byteLength), { format: 'wat' });
    expect(compiled.exports.map((e) => e.name)).toEqual(['f']);
  });

  it('tells whether a module has a start function (instantiating it runs guest code)', async () => {
    const withStart = await compileModule(await watToWasm('(module (func $s) (start $s))'));
    const without = await compileModule(await watToWasm('(module (func (export "_start")))'));
    expect(withStart.info?.hasStart).toBe(true);
    expect(without.info?.hasStart).toBe(false);
  });

  it('names the line of a WAT syntax error', async () => {
    try {
      await compileModule(text('(module\n (func (i32.const)))'), { name: 'bad.wat' });
      expect.unreachable();
    } catch (error) {
      expect((error as ForgeError).code).toBe('FORGE_WAT_INVALID');
      expect((error as ForgeError).message).toMatch(/bad\.wat:2:/);
    }
  });

  it('refuses an invalid binary, text given as binary, and an oversized module', async () => {
    expect(await codeOf(compileModule(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1)))).toBe(
      'FORGE_WASM_INVALID',
    );
    expect(await codeOf(compileModule(text('(module)'), { format: 'wasm' }))).toBe('FORGE_WASM_INVALID');
    expect(await codeOf(compileModule(new Uint8Array(100), { limits: { maxModuleBytes: 99 } }))).toBe(
      'FORGE_WASM_LIMIT',
    );
  });

  it('refuses a module with more imports than the limit', async () => {
    const imports = Array.from({ length: 5 }, (_, i) => `(import "forge" "f${i}" (func))`).join(' ');
    expect(await codeOf(compileModule(text(`(module ${imports})`), { limits: { maxImports: 4 } }))).toBe(
      'FORGE_WASM_LIMIT',
    );
  });

  it('names an import the host does not provide', async () => {
    const compiled = await compileModule(text('(module (import "env" "secret" (func)))'));
    try {
      checkImports(compiled, { forge: { log: () => 0 } });
      expect.unreachable();
    } catch (error) {
      expect((error as ForgeError).code).toBe('FORGE_WASM_IMPORT_UNKNOWN');
      expect((error as ForgeError).message).toContain("'env.secret'");
    }
  });

  it('refuses imported memories and tables (only functions are offered)', async () => {
    const compiled = await compileModule(text('(module (import "forge" "log" (memory 1)))'));
    expect(() => checkImports(compiled, { forge: { log: () => 0 } })).toThrow(/memory 'forge.log'/);
  });

  it('turns any byte string into a module or a ForgeError, never anything else (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc
            .uint8Array({ maxLength: 64 })
            .map((tail) => Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...tail])),
          fc.string({ maxLength: 64 }).map((s) => text(`(module ${s})`)),
        ),
        async (bytes) => {
          try {
            await compileModule(bytes);
          } catch (error) {
            expect(isForgeError(error)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
