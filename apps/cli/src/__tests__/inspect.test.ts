import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJsonBytes, encodePackage, PrivateKey, signPackage } from '@forgeone/crypto';
import { cli } from './support/inProcess';

describe('forgeone inspect', () => {
  it('shows manifest, entries and signatures, as text or JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-cli-inspect-'));
    const key = PrivateKey.generate('ed25519');
    // A hostile entry name with a terminal escape: inspect shows packages it would never verify.
    const bytes = encodePackage({
      manifestBytes: canonicalJsonBytes({ name: 'hello', version: '1.0.0' }),
      entries: [{ name: 'a\u001b[31m', data: Uint8Array.of(1, 2) }],
      signatures: [],
    });
    await writeFile(join(dir, 'p.forgepkg'), signPackage(bytes, [key]));
    const text = await cli(['inspect', 'p.forgepkg'], dir);
    expect(text.code).toBe(0);
    expect(text.out[1]).toBe('package: hello@1.0.0');
    expect(text.out.join('\n')).toContain(`ed25519  ${key.keyId}  64 bytes`);
    expect(text.out.join('\n')).not.toContain('\u001b'); // control characters are escaped
    const json = await cli(['inspect', 'p.forgepkg', '--json'], dir);
    const body = JSON.parse(json.out[0] as string) as {
      ok: boolean;
      entries: unknown;
      signatures: Array<{ keyId: string }>;
    };
    expect(body.ok).toBe(true);
    expect(body.entries).toEqual([{ name: 'a\u001b[31m', size: 2 }]);
    expect(body.signatures[0]?.keyId).toBe(key.keyId);
  });

  it('a truncated or missing file is one coded line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-cli-inspect-'));
    await writeFile(join(dir, 't.forgepkg'), Buffer.from('FORGEPKG\u0000\u0001'));
    expect((await cli(['inspect', 't.forgepkg'], dir)).err).toEqual([
      expect.stringMatching(/^FORGE_PKG_TRUNCATED: /),
    ]);
    const missing = await cli(['inspect', 'nope.forgepkg', '--json'], dir);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out[0] as string)).toMatchObject({ ok: false, code: 'FORGE_PKG_IO' });
  });
});
