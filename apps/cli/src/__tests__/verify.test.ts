import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildPackage,
  createRevocationList,
  createRootSigned,
  PrivateKey,
  signPackage,
  signRevocationList,
  signRoot,
  withRevocations,
  writeRootFile,
} from '@forgeone/crypto';
import { cli } from './support/inProcess';

const ed = PrivateKey.generate('ed25519');
const ml = PrivateKey.generate('ml-dsa-65');
const ed2 = PrivateKey.generate('ed25519');
const hybrid = { ed25519: 1, 'ml-dsa-65': 1 };

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'forge-cli-verify-'));
  const root = signRoot(
    createRootSigned({
      expires: '2099-01-01T00:00:00Z',
      root: { keys: [ed.publicKey, ml.publicKey, ed2.publicKey], threshold: hybrid },
    }),
    [ed, ml],
  );
  await writeRootFile(join(dir, 'root.json'), root);
  const pkg = (version: string, extra: Record<string, unknown> = {}, signers = [ed, ml]) =>
    signPackage(
      buildPackage(
        { name: 'app', version, entry: 'main.wasm', ...extra },
        new Map([['main.wasm', Uint8Array.of(0, 0x61, 0x73, 0x6d)]]),
      ).bytes,
      signers,
    );
  return { dir, root, pkg };
}

describe('forgeone verify', () => {
  it('exits 0 for a valid hybrid-signed package, and --json lists every check', async () => {
    const { dir, pkg } = await setup();
    await writeFile(join(dir, 'app.forgepkg'), pkg('1.0.0'));
    const text = await cli(['verify', 'app.forgepkg', '--root', 'root.json'], dir);
    expect(text).toMatchObject({ code: 0, err: [] });
    expect(text.out[0]).toMatch(/^OK: app@1\.0\.0 is valid/);
    const json = await cli(['verify', 'app.forgepkg', '--root', 'root.json', '--json'], dir);
    const body = JSON.parse(json.out[0] as string) as {
      ok: boolean;
      code: string;
      checks: Array<{ name: string; outcome: string }>;
    };
    expect(body).toMatchObject({ ok: true, code: 'OK' });
    expect(body.checks.map((c) => c.name)).toContain('threshold');
  });

  it('a failure is one coded line (exit 1); with --json it is {ok:false, code, message, checks}', async () => {
    const { dir, pkg } = await setup();
    await writeFile(join(dir, 'bad.forgepkg'), pkg('1.0.0', {}, [ed]));
    const text = await cli(['verify', 'bad.forgepkg', '--root', 'root.json'], dir);
    expect(text.code).toBe(1);
    expect(text.out).toEqual([]);
    expect(text.err).toEqual([
      expect.stringMatching(/^FORGE_PKG_THRESHOLD: threshold: not met for ml-dsa-65 0\/1/),
    ]);
    const json = await cli(['verify', 'bad.forgepkg', '--root', 'root.json', '--json'], dir);
    expect(json.code).toBe(1);
    const body = JSON.parse(json.out[0] as string) as {
      ok: boolean;
      code: string;
      checks: Array<{ name: string; outcome: string }>;
    };
    expect(body).toMatchObject({ ok: false, code: 'FORGE_PKG_THRESHOLD' });
    expect(body.checks.find((c) => c.name === 'threshold')?.outcome).toBe('fail');
  });

  it('--state and --install give rollback protection and dependency checks across runs', async () => {
    const { dir, pkg } = await setup();
    await writeFile(join(dir, 'v2.forgepkg'), pkg('2.0.0'));
    await writeFile(join(dir, 'v1.forgepkg'), pkg('1.0.0'));
    await writeFile(
      join(dir, 'dependent.forgepkg'),
      signPackage(
        buildPackage(
          { name: 'plugin', version: '1.0.0', entry: 'x', dependencies: { app: '^2.0.0' } },
          new Map([['x', Uint8Array.of(1)]]),
        ).bytes,
        [ed, ml],
      ),
    );
    const state = ['--state', 'state.sqlite'];
    expect((await cli(['verify', 'dependent.forgepkg', '--root', 'root.json', ...state], dir)).err).toEqual([
      expect.stringMatching(/^FORGE_PKG_DEPENDENCY: /),
    ]);
    expect(
      (await cli(['verify', 'v2.forgepkg', '--root', 'root.json', ...state, '--install'], dir)).code,
    ).toBe(0);
    expect((await cli(['verify', 'v1.forgepkg', '--root', 'root.json', ...state], dir)).err).toEqual([
      expect.stringMatching(/^FORGE_PKG_ROLLBACK: /),
    ]);
    expect((await cli(['verify', 'dependent.forgepkg', '--root', 'root.json', ...state], dir)).code).toBe(0);
    expect((await cli(['verify', 'v1.forgepkg', '--root', 'root.json', '--install'], dir)).code).toBe(2);
  });

  it('applies the revocation list in the root', async () => {
    const { dir, root, pkg } = await setup();
    const revoked = withRevocations(
      root,
      signRevocationList(createRevocationList({ version: 1, revoked: [{ keyid: ed.keyId }] }), [ed2, ml]),
    );
    await writeRootFile(join(dir, 'revoked.json'), revoked);
    await writeFile(join(dir, 'app.forgepkg'), pkg('1.0.0'));
    expect((await cli(['verify', 'app.forgepkg', '--root', 'revoked.json'], dir)).err).toEqual([
      expect.stringMatching(/^FORGE_PKG_KEY_REVOKED: /),
    ]);
  });

  it('bad roots and missing flags are coded errors', async () => {
    const { dir, pkg } = await setup();
    await writeFile(join(dir, 'app.forgepkg'), pkg('1.0.0'));
    await writeFile(join(dir, 'junk.json'), '{"signed":');
    expect((await cli(['verify', 'app.forgepkg', '--root', 'junk.json'], dir)).err).toEqual([
      expect.stringMatching(/^FORGE_ROOT_INVALID: /),
    ]);
    expect((await cli(['verify', 'app.forgepkg'], dir)).code).toBe(2);
    expect((await cli(['verify', 'nope.forgepkg', '--root', 'root.json'], dir)).err).toEqual([
      expect.stringMatching(/^FORGE_PKG_IO: /),
    ]);
  });
});
