import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPackage, inspectPackage, PrivateKey, readPackageFile, writeKeyFiles } from '@forgeone/crypto';
import { cli } from './support/inProcess';

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'forge-cli-sign-'));
  const ed = PrivateKey.generate('ed25519');
  const ml = PrivateKey.generate('ml-dsa-65');
  await writeKeyFiles(join(dir, 'ed'), ed);
  await writeKeyFiles(join(dir, 'ml'), ml, { passphrase: 'pw', scrypt: { N: 1024, r: 8, p: 1 } });
  const { bytes } = buildPackage(
    { name: 'hello', version: '1.0.0', entry: 'a' },
    new Map([['a', Uint8Array.of(1)]]),
  );
  await writeFile(join(dir, 'p.forgepkg'), bytes);
  return { dir, ed, ml };
}

describe('forgeone sign', () => {
  it('adds one signature per --key, decrypting with FORGEONE_PASSPHRASE', async () => {
    const { dir, ed, ml } = await setup();
    const run = await cli(['sign', 'p.forgepkg', '--key', 'ed.key', '--key', 'ml.key'], dir, {
      FORGEONE_PASSPHRASE: 'pw',
    });
    expect(run.code).toBe(0);
    const sigs = inspectPackage(await readPackageFile(join(dir, 'p.forgepkg'))).signatures;
    expect(sigs.map((s) => s.keyId)).toEqual([ed.keyId, ml.keyId]);
  });

  it('a wrong or missing passphrase is a coded one-line error and the package is unchanged', async () => {
    const { dir } = await setup();
    const before = await readPackageFile(join(dir, 'p.forgepkg'));
    const wrong = await cli(['sign', 'p.forgepkg', '--key', 'ml.key'], dir, { FORGEONE_PASSPHRASE: 'nope' });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toEqual([expect.stringMatching(/^FORGE_KEY_PASSPHRASE: wrong passphrase/)]);
    const missing = await cli(['sign', 'p.forgepkg', '--key', 'ml.key'], dir);
    expect(missing.err).toEqual([expect.stringMatching(/^FORGE_KEY_PASSPHRASE_REQUIRED: /)]);
    expect(Buffer.compare(await readPackageFile(join(dir, 'p.forgepkg')), before)).toBe(0);
  });

  it('needs --key, and refuses a file that is not a package', async () => {
    const { dir } = await setup();
    expect((await cli(['sign', 'p.forgepkg'], dir)).code).toBe(2);
    await writeFile(join(dir, 'junk'), 'hello');
    expect((await cli(['sign', 'junk', '--key', 'ed.key'], dir)).err).toEqual([
      expect.stringMatching(/^FORGE_PKG_MAGIC: /),
    ]);
  });
});
