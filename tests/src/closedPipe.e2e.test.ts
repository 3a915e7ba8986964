import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJsonBytes, encodePackage } from '@forgeone/crypto';
import { cliPath } from './support/cli';

// `forgeone inspect big.forgepkg | head -1`: the reader goes away after its first line. The CLI
// ends quietly, as a Unix tool killed by SIGPIPE does: nothing on stderr, exit 141.
describe('a closed pipe on stdout', () => {
  it('ends the command quietly with exit 141, not FORGE_INTERNAL: write EPIPE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-pipe-'));
    // 10,000 entries: about 400 KB of listing, far more than a pipe holds.
    const entries = Array.from({ length: 10_000 }, (_, i) => ({
      name: `entry-${String(i).padStart(5, '0')}-of-a-long-listing.txt`,
      data: new Uint8Array(0),
    }));
    writeFileSync(
      join(dir, 'big.forgepkg'),
      encodePackage({
        manifestBytes: canonicalJsonBytes({ name: 'big', version: '1.0.0' }),
        entries,
        signatures: [],
      }),
    );
    const child = spawn(process.execPath, [cliPath, 'inspect', 'big.forgepkg'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    // Like `head -1`: read the first chunk, then close the read end.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(141);
  }, 60_000);
});
