import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package directory: children started here resolve `@forgeone/trust` to its own build. */
export const packageDir = fileURLToPath(new URL('../..', import.meta.url));

/** Absolute path of a file under `__tests__/fixtures/`. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** Fails with instructions when the built package that child processes and workers import is missing. */
export function assertBuilt(): void {
  if (!existsSync(new URL('../../dist/index.js', import.meta.url))) {
    throw new Error(
      '@forgeone/trust is not built (dist/index.js is missing); these tests run the built package in a child process or worker. ' +
        'Run `npx pnpm run build` at the repository root first.',
    );
  }
}
