import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PrivateKey, readRootFile, verifyRootChain, writeKeyFiles } from '@forgeone/crypto';
import { cli } from './support/inProcess';

/** ed + ml (v1 keys) and ed3 + ml3 (v2 keys), unencrypted, in a fresh directory. */
async function keys() {
  const dir = await mkdtemp(join(tmpdir(), 'forge-cli-root-'));
  const made: Record<string, PrivateKey> = {};
  for (const [name, alg] of [
    ['ed', 'ed25519'],
    ['ml', 'ml-dsa-65'],
    ['ed3', 'ed25519'],
    ['ml3', 'ml-dsa-65'],
  ] as const) {
    made[name] = PrivateKey.generate(alg);
    await writeKeyFiles(join(dir, name), made[name]);
  }
  return { dir, made };
}
const init = [
  'root',
  'init',
  '--key',
  'ed.pub',
  'ml.pub',
  '--threshold',
  'ed25519=1',
  'ml-dsa-65=1',
  '--expires',
  '2099-01-01T00:00:00Z',
  '--sign',
  'ed.key',
  '--sign',
  'ml.key',
  '--out',
  'root.json',
];

describe('forgeone root', () => {
  it('init writes a hybrid root v1 that verifies', async () => {
    const { dir } = await keys();
    const run = await cli([...init, '--json'], dir);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out[0] as string)).toMatchObject({
      ok: true,
      version: 1,
      roles: { root: { ed25519: 1, 'ml-dsa-65': 1 } },
    });
    expect(verifyRootChain([await readRootFile(join(dir, 'root.json'))]).version).toBe(1);
  });

  it('init refuses to write a root its --sign keys do not meet', async () => {
    const { dir } = await keys();
    const run = await cli(
      init.map((a) => (a === 'ml.key' ? 'ed.key' : a)),
      dir,
    );
    expect(run.code).toBe(1);
    expect(run.err).toEqual([expect.stringMatching(/^FORGE_ROOT_THRESHOLD: /)]);
  });

  it('init says what n of --threshold <alg>=<n> must be', async () => {
    const { dir } = await keys();
    for (const [n, why] of [
      ['0', 'n must be ≥ 1, got 0'],
      ['257', 'n must be ≤ 256'],
      ['1e1', 'decimal digits'],
      ['1.5', 'decimal digits'],
      ['', 'decimal digits'],
    ]) {
      const run = await cli(
        init.map((a) => (a === 'ed25519=1' ? `ed25519=${n}` : a)),
        dir,
      );
      expect(run.code, n).toBe(2);
      expect(run.err).toEqual([expect.stringMatching(/^FORGE_CLI_USAGE: --threshold ed25519=n: n /)]);
      expect(run.err[0]).toContain(why);
    }
  });

  it('init validates flags as usage errors', async () => {
    const { dir } = await keys();
    expect(
      (
        await cli(
          init.map((a) => (a === 'ed25519=1' ? 'ed25519' : a)),
          dir,
        )
      ).code,
    ).toBe(2);
    expect(
      (
        await cli(
          init.map((a) => (a === '2099-01-01T00:00:00Z' ? 'next year' : a)),
          dir,
        )
      ).code,
    ).toBe(2);
  });

  it('init writes an already-expired root with a warning (so clients can be tested against it)', async () => {
    const { dir } = await keys();
    const run = await cli(
      init.map((a) => (a === '2099-01-01T00:00:00Z' ? '2020-01-01T00:00:00Z' : a)),
      dir,
    );
    expect(run.code).toBe(0);
    expect(run.err).toEqual([expect.stringMatching(/^warning: root v1 is already expired/)]);
  });

  it('rotate makes v2 signed by old and new keys; the chain verifies', async () => {
    const { dir, made } = await keys();
    expect((await cli(init, dir)).code).toBe(0);
    const rotate = [
      'root',
      'rotate',
      'root.json',
      '--key',
      'ed3.pub',
      'ml3.pub',
      '--threshold',
      'ed25519=1',
      'ml-dsa-65=1',
      '--expires',
      '2099-01-01T00:00:00Z',
      '--out',
      'root2.json',
      '--sign',
      'ed.key',
      'ml.key',
      'ed3.key',
      'ml3.key',
    ];
    expect((await cli(rotate, dir)).code).toBe(0);
    const chain = [await readRootFile(join(dir, 'root.json')), await readRootFile(join(dir, 'root2.json'))];
    const root = verifyRootChain(chain);
    expect(root.version).toBe(2);
    expect(root.keys.has((made.ed3 as PrivateKey).keyId)).toBe(true);
    const onlyNew = await cli(rotate.slice(0, -4).concat('ed3.key', 'ml3.key'), dir);
    expect(onlyNew.err).toEqual([
      expect.stringMatching(/^FORGE_ROOT_THRESHOLD: root v2 is not signed by a threshold of root v1 keys/),
    ]);
  });

  it('revoke adds a signed revocation list in place', async () => {
    const { dir, made } = await keys();
    await cli(
      [
        'root',
        'init',
        '--key',
        'ed.pub',
        'ml.pub',
        'ed3.pub',
        '--threshold',
        'ed25519=1',
        'ml-dsa-65=1',
        '--expires',
        '2099-01-01T00:00:00Z',
        '--sign',
        'ed.key',
        'ml.key',
        '--out',
        'root.json',
      ],
      dir,
    );
    const run = await cli(
      [
        'root',
        'revoke',
        'root.json',
        '--keyid',
        'ed3.pub',
        '--reason',
        'lost',
        '--sign',
        'ed.key',
        'ml.key',
        '--json',
      ],
      dir,
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out[0] as string)).toMatchObject({
      revocationVersion: 1,
      revoked: [(made.ed3 as PrivateKey).keyId],
    });
    expect(
      verifyRootChain([await readRootFile(join(dir, 'root.json'))]).revoked.has(
        (made.ed3 as PrivateKey).keyId,
      ),
    ).toBe(true);
  });
});
