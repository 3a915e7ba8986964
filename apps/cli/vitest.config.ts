import { defineProject } from 'vitest/config';

// Shared CI machines are slow and noisy: generous timeouts, and no test asserts on timing.
export default defineProject({ test: { name: 'cli', testTimeout: 60_000, hookTimeout: 60_000 } });
