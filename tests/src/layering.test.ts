import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/cli';

/** Runs the repository's layering check over a small tree of files, as `check:layers` does. */
function cruise(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'forgeone-layers-'));
  copyFileSync(join(repoRoot, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(
    join(dir, 'tsconfig.base.json'),
    '{"compilerOptions":{"module":"ESNext","moduleResolution":"Bundler"}}',
  );
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, dirname(path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const result = spawnSync(
    join(repoRoot, 'node_modules/.bin/depcruise'),
    ['packages', '--config', '.dependency-cruiser.cjs'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  return { code: result.status, output: result.stdout + result.stderr };
}

describe('layering (ARCHITECTURE.md, enforced by dependency-cruiser)', () => {
  it('accepts imports down the graph', () => {
    const run = cruise({
      'packages/core/src/a.ts': "import { x } from '@forgeone/execution'; export const a = x;",
      'packages/execution/src/b.ts': "import { y } from '@forgeone/common'; export const b = y;",
    });
    expect(run.output).toContain('no dependency violations');
    expect(run.code).toBe(0);
  });

  it('fails when common imports core', () => {
    const run = cruise({
      'packages/common/src/bad.ts': "import { Runtime } from '@forgeone/core'; export const r = Runtime;",
    });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('layer-common');
  });

  it('fails when a sibling is imported sideways (trust -> execution) or through a relative path', () => {
    const run = cruise({
      'packages/trust/src/bad.ts': "import '@forgeone/execution';",
      'packages/config/src/rel.ts': "import '../../crypto/src/index';",
      'packages/crypto/src/index.ts': 'export {};',
    });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('layer-trust');
    expect(run.output).toContain('layer-config');
  });

  it('fails on an import cycle', () => {
    const run = cruise({
      'packages/observer/src/a.ts': "import { b } from './b'; export const a = () => b;",
      'packages/observer/src/b.ts': "import { a } from './a'; export const b = () => a;",
    });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('no-circular');
  });

  it('accepts imports down the folders of execution/src, and host/ from the index', () => {
    const run = cruise({
      'packages/execution/src/index.ts': "export { host } from './host/wasmHost';",
      'packages/execution/src/host/wasmHost.ts':
        "import { run } from '../isolation/inline'; export const host = run;",
      'packages/execution/src/isolation/inline.ts':
        "import { gate } from '../gate/gate'; export const run = gate;",
      'packages/execution/src/gate/gate.ts':
        "import { read } from '../module/read'; export const gate = read;",
      'packages/execution/src/module/read.ts': 'export const read = 1;',
    });
    expect(run.output).toContain('no dependency violations');
    expect(run.code).toBe(0);
  });

  it('fails when a folder of execution/src imports one above it, or a file sits outside the folders', () => {
    const run = cruise({
      'packages/execution/src/module/read.ts':
        "import { gate } from '../gate/gate'; export const read = gate;",
      'packages/execution/src/gate/gate.ts': 'export const gate = 1;',
      'packages/execution/src/forge/kv.ts':
        "import { run } from '../isolation/inline'; export const kv = run;",
      'packages/execution/src/isolation/inline.ts':
        "import { host } from '../host/wasmHost'; export const run = host;",
      'packages/execution/src/host/wasmHost.ts': 'export const host = 1;',
      'packages/execution/src/stray.ts': "import { gate } from './gate/gate'; export const stray = gate;",
    });
    expect(run.code).not.toBe(0);
    for (const rule of [
      'execution-module',
      'execution-forge',
      'execution-isolation',
      'execution-folders-only',
    ]) {
      expect(run.output).toContain(rule);
    }
  });

  it('fails when a package imports the apps', () => {
    const run = cruise({ 'packages/interface/src/bad.ts': "import '@forgeone/cli';" });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('no-apps-import');
  });
});
