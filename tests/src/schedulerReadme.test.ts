import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from './support/cli';

it('the Scheduler example of packages/core/README.md runs and prints what it says', () => {
  const dir = join(repoRoot, 'packages/core');
  const section = readFileSync(join(dir, 'README.md'), 'utf8').split(/^## Scheduler\s*$/m)[1] ?? '';
  const example = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  expect(example).toBeTruthy();
  const file = join(dir, `.readme-scheduler-${process.pid}.mjs`);
  writeFileSync(file, example!);
  try {
    const run = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual([
      'report succeeded 3 ',
      'flaky failed 2 exit code 1',
      "after-flaky cancelled null dependency 'flaky' failed (exit code 1)",
      'urgent succeeded 1 ',
      'start order: urgent → flaky → report',
    ]);
  } finally {
    rmSync(file, { force: true });
  }
});
