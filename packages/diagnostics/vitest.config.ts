import { defineProject } from 'vitest/config';

// Shared CI machines are slow and noisy: generous timeouts, and no test asserts on timing.
export default defineProject({ test: { name: 'diagnostics', testTimeout: 60_000, hookTimeout: 60_000 } });
