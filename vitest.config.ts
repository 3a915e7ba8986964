import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      'packages/*',
      'apps/*',
      'tests',
      // The gate's and WASI's tests again on the closure hot imports (the reference path, taken
      // wherever code generation is refused), not the compiled ones (gate/compiledHotImport.ts).
      {
        extends: './packages/execution/vitest.config.ts',
        root: './packages/execution',
        test: {
          name: 'execution-closures',
          include: ['src/gate/__tests__/*.test.ts', 'src/wasi/__tests__/*.test.ts'],
          env: { FORGEONE_HOST_CODEGEN: 'off' },
        },
      },
      // WASI conformance and the host's tests again on modules instrumented for snapshots (every
      // mutable global and memory exported under reserved names): they must behave identically.
      {
        extends: './packages/execution/vitest.config.ts',
        root: './packages/execution',
        test: {
          name: 'execution-snapshot-exports',
          include: [
            'src/wasi/__tests__/*.test.ts',
            'src/host/__tests__/*.test.ts',
            'src/replay/__tests__/*.test.ts',
          ],
          env: { FORGEONE_SNAPSHOT_EXPORTS: 'on' },
        },
      },
    ],
    // Shared CI machines are slow and noisy; no test asserts on timing.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
