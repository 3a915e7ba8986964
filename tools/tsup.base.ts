import { defineConfig, type Options } from 'tsup';

/** The build every @forgeone package shares: ESM + CJS + declarations, one entry per public index. */
export function forgePackage(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    shims: true,
    splitting: false,
    treeshake: true,
    ...overrides,
  });
}
