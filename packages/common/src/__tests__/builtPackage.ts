import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package directory: children started here resolve `@forgeone/common` to its own build. */
export const packageDir = fileURLToPath(new URL('../..', import.meta.url));

/** Absolute path of a file under `__tests__/fixtures/`. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** Fails with instructions when the built package that child processes import is missing. */
export function assertBuilt(): void {
  for (const file of ['dist/index.js', 'dist/index.cjs']) {
    if (!existsSync(new URL(`../../${file}`, import.meta.url))) {
      throw new Error(
        `@forgeone/common is not built (${file} is missing); these tests run the built package in a child process. ` +
          'Run `npx pnpm run build` at the repository root first (the root `test` script does).',
      );
    }
  }
}

/** Runs `node <args>` in the package directory and returns its output once it exits. */
export function runNode(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
