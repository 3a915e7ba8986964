import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The built CLI (the test command builds before testing). */
export const cliPath = resolve(repoRoot, 'apps/cli/dist/main.js');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `forgeone <args>` as a real child process, as a user would. */
export function forgeone(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): CliRun {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    input: options.input ?? '',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** True when the output contains something that looks like a JavaScript stack trace. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+\(.+:\d+:\d+\)$/m.test(text) || /node:internal/.test(text);
}

/** A coded failure: exit `exit`, and exactly one line `CODE: message` on stderr. */
export function expectFailure(result: CliRun, forgeCode: string, exit = 1): void {
  expect(result.code, result.stderr).toBe(exit);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${forgeCode}: `));
}
