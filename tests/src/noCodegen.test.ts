import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/cli';

/**
 * No code generated from strings on the host, outside the one documented module (the gate's
 * compiled hot imports). The lint rule says the same; this also catches an `eslint-disable`.
 */
const ALLOWED = new Set(['packages/execution/src/gate/compiledHotImport.ts']);
const PATTERNS = [/\bnew\s+Function\s*\(/, /(?<![.\w])eval\s*\(/, /\bFunction\s*\(\s*['"`]/];

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === '__tests__') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (/\.(ts|js|mjs|cjs)$/.test(name)) out.push(path);
  }
  return out;
}

describe('code generation from strings', () => {
  const files = ['packages', 'apps'].flatMap((top) =>
    readdirSync(join(repoRoot, top)).map((name) => join(repoRoot, top, name, 'src')),
  );
  const all = files.flatMap((dir) => {
    try {
      return sources(dir);
    } catch {
      return [];
    }
  });

  it('finds the package and app sources it checks', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all.map((file) => relative(repoRoot, file))).toContain([...ALLOWED][0]);
  });

  it('appears only in the compiled hot-import module', () => {
    const offenders = all
      .map((file) => relative(repoRoot, file))
      .filter((file) => !ALLOWED.has(file))
      .filter((file) => PATTERNS.some((pattern) => pattern.test(readFileSync(join(repoRoot, file), 'utf8'))));
    expect(offenders).toEqual([]);
  });

  it('would catch one', () => {
    expect(PATTERNS.some((p) => p.test("const f = new Function('return 1');"))).toBe(true);
    expect(PATTERNS.some((p) => p.test('eval("1")'))).toBe(true);
    expect(PATTERNS.some((p) => p.test('x.evaluate(1)'))).toBe(false);
  });
});
