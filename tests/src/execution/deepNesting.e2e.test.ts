import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, type CliRun } from '../support/cli';

const scratch = mkdtempSync(join(tmpdir(), 'forgeone-e2e-deep-'));
const file = (name: string, content: string | Uint8Array) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};

function leb128(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/** A binary module whose `_start` opens `blocks` nested empty blocks and closes `ends` of them. */
function nestedBlocksWasm(blocks: number, ends: number): Uint8Array {
  const body = new Uint8Array(1 + 2 * blocks + ends + 1); // no locals, blocks, ends, the body's end
  let at = 1;
  for (let i = 0; i < blocks; i++) {
    body[at++] = 0x02; // block
    body[at++] = 0x40; // with no result
  }
  body.fill(0x0b, at); // end
  const section = (id: number, content: number[]) => [id, ...leb128(content.length), ...content];
  const header = Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 0, 0]), // type 0: () -> ()
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, 6, ...new TextEncoder().encode('_start'), 0, 0]), // export it as _start
  ]);
  const bodySize = leb128(body.length);
  const code = Uint8Array.from([10, ...leb128(1 + bodySize.length + body.length), 1, ...bodySize]);
  return Buffer.concat([header, code, body]);
}

/** Refused with one `CODE: message` line on stderr, a non-zero exit, no stack. */
function expectOneLine(run: CliRun, code: string, says: RegExp) {
  expect(run.code).toBe(1);
  expect(hasStackTrace(run.stderr + run.stdout)).toBe(false);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${code}: `));
  expect(lines[0]).toMatch(says);
}

describe('forgeone run: deeply nested modules (end to end)', () => {
  it('refuses 100,000-deep WebAssembly text, folded or flat, with FORGE_WAT_TOO_DEEP', () => {
    const n = 100_000;
    const folded = file(
      'folded.wat',
      `(module (func (export "_start") ${'(block '.repeat(n)}${')'.repeat(n)}))`,
    );
    const flat = file(
      'flat.wat',
      `(module (func (export "_start")\n${'block\n'.repeat(n)}${'end\n'.repeat(n)}))`,
    );
    expectOneLine(forgeone(['run', folded]), 'FORGE_WAT_TOO_DEEP', /folded\.wat:1:\d+: nested more than 100/);
    expectOneLine(forgeone(['run', flat]), 'FORGE_WAT_TOO_DEEP', /flat\.wat:100:1: .*binary \.wasm/);
  });

  it('runs a binary module with 100,000 nested blocks (V8 validates it), and refuses broken ones in one line', () => {
    const deep = forgeone([
      'run',
      file('deep.wasm', nestedBlocksWasm(100_000, 100_000)),
      '--timeout',
      '30000',
    ]);
    expect(hasStackTrace(deep.stderr + deep.stdout)).toBe(false);
    expect(deep.stderr).toBe('');
    expect(deep.stdout).toContain('returned, exit code 0');
    expect(deep.code).toBe(0);

    expectOneLine(
      forgeone(['run', file('unclosed.wasm', nestedBlocksWasm(100_000, 0))]),
      'FORGE_WASM_INVALID',
      /unclosed\.wasm: .*unterminated control structure/,
    );
    // 4,000,000 nested blocks: past V8's largest function body.
    expectOneLine(
      forgeone(['run', file('huge.wasm', nestedBlocksWasm(4_000_000, 4_000_000))]),
      'FORGE_WASM_INVALID',
      /huge\.wasm: .*maximum function size/,
    );
  });
});
