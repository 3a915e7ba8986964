import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/cli';

/** The first ```js block under "## Example" in a package README: the example users copy. */
function exampleOf(readme: string): string | undefined {
  const section = readme.split(/^## Example\s*$/m)[1];
  return section ? /```js\n([\s\S]*?)```/.exec(section)?.[1] : undefined;
}

const packagesDir = join(repoRoot, 'packages');
const packages = readdirSync(packagesDir).filter((name) => existsSync(join(packagesDir, name, 'README.md')));

describe('every package README has an example that runs', () => {
  it.each(packages)('%s', (name) => {
    const dir = join(packagesDir, name);
    const example = exampleOf(readFileSync(join(dir, 'README.md'), 'utf8'));
    expect(example, `packages/${name}/README.md needs a \`\`\`js block under "## Example"`).toBeTruthy();
    // Written inside the package so that it imports the package by its own name, as a user would.
    const file = join(dir, `.readme-example-${process.pid}.mjs`);
    writeFileSync(file, example!);
    try {
      const run = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout.length).toBeGreaterThan(0);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
