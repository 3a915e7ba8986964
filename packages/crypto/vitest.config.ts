import { defineProject } from 'vitest/config';

// Post-quantum keygen/sign in pure JS is slow on shared CI machines; no test asserts on timing.
export default defineProject({ extends: true, test: { name: 'crypto', testTimeout: 120_000, hookTimeout: 60_000 } });
