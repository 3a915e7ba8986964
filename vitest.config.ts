import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tests'],
    // Shared CI machines are slow and noisy; no test asserts on timing.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
