import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));

describe('the README containers example', () => {
  it('runs: launches a service, invokes it twice, stops it', () => {
    const readme = readFileSync(`${packageDir}README.md`, 'utf8');
    const example = /```js\n([\s\S]*?)```/.exec(readme.split(/^## Containers\s*$/m)[1] ?? '')?.[1];
    expect(example).toBeTruthy();
    // Written inside the package so that it imports the package by its own name, as a user would.
    const file = `${packageDir}.readme-containers-${process.pid}.mjs`;
    writeFileSync(file, example!);
    try {
      const run = spawnSync(process.execPath, [file], { cwd: packageDir, encoding: 'utf8', timeout: 60_000 });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe('1 2 stopped');
      expect(run.status).toBe(0);
    } finally {
      rmSync(file, { force: true });
    }
  });
});

describe('the README quarantine example', () => {
  it('runs: a policy quarantines a run, and its record is kept', () => {
    const readme = readFileSync(`${packageDir}README.md`, 'utf8');
    const example = /```js\n([\s\S]*?)```/.exec(readme.split(/^## Quarantine\s*$/m)[1] ?? '')?.[1];
    expect(example).toBeTruthy();
    const file = `${packageDir}.readme-quarantine-${process.pid}.mjs`;
    writeFileSync(file, example!);
    try {
      const run = spawnSync(process.execPath, [file], { cwd: packageDir, encoding: 'utf8', timeout: 60_000 });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim().split('\n')).toEqual([
        "FORGE_CONTAINER_QUARANTINED it logged [ 'base/no-logging' ]",
        'true',
      ]);
      expect(run.status).toBe(0);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
