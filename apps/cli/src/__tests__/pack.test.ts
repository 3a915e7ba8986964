import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectPackage, readPackageFile } from '@forgeone/crypto';
import { cli } from './support/inProcess';

async function sourceDir(manifest: unknown = { name: 'hello', version: '1.0.0', entry: 'main.wasm' }) {
  const dir = await mkdtemp(join(tmpdir(), 'forge-cli-pack-'));
  await mkdir(join(dir, 'src', 'lib'), { recursive: true });
  await writeFile(join(dir, 'src', 'forgepkg.json'), JSON.stringify(manifest));
  await writeFile(join(dir, 'src', 'main.wasm'), Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
  await writeFile(join(dir, 'src', 'lib', 'util.txt'), 'util');
  return dir;
}

describe('forgeone pack', () => {
  it('packs forgepkg.json and every file into an unsigned package', async () => {
    const dir = await sourceDir();
    const run = await cli(['pack', 'src', '--out', 'hello.forgepkg', '--json'], dir);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out[0] as string)).toMatchObject({
      ok: true,
      name: 'hello',
      version: '1.0.0',
      entries: 2,
    });
    const summary = inspectPackage(await readPackageFile(join(dir, 'hello.forgepkg')));
    expect(summary.entries.map((e) => e.name)).toEqual(['lib/util.txt', 'main.wasm']);
    expect(summary.signatures).toEqual([]);
  });

  it('refuses a bad manifest, a missing forgepkg.json and symlinks with coded errors', async () => {
    const bad = await sourceDir({ name: 'hello', version: 'v-one', entry: 'main.wasm' });
    expect((await cli(['pack', 'src', '--out', 'x.forgepkg'], bad)).err).toEqual([
      expect.stringMatching(/^FORGE_PKG_MANIFEST_INVALID: .*version/),
    ]);
    const missing = await mkdtemp(join(tmpdir(), 'forge-cli-pack-'));
    expect((await cli(['pack', '.', '--out', 'x.forgepkg'], missing)).err).toEqual([
      expect.stringMatching(/^FORGE_PKG_SOURCE: /),
    ]);
    const linked = await sourceDir();
    await symlink('/etc/passwd', join(linked, 'src', 'passwd'));
    expect((await cli(['pack', 'src', '--out', 'x.forgepkg'], linked)).err).toEqual([
      expect.stringMatching(/^FORGE_PKG_SOURCE: passwd is a symlink/),
    ]);
  });

  it('refuses an entry point that is not in the directory', async () => {
    const dir = await sourceDir({ name: 'hello', version: '1.0.0', entry: 'missing.wasm' });
    const run = await cli(['pack', 'src', '--out', 'x.forgepkg'], dir);
    expect(run.code).toBe(1);
    expect(run.err[0]).toMatch(/^FORGE_PKG_MANIFEST_INVALID: .*entry/);
  });
});
