import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from './support/inProcess';

const dir = mkdtempSync(join(tmpdir(), 'forgeone-cli-snapshot-'));
const env = { FORGEONE_PASSPHRASE: 'correct horse battery staple' };
const INLINE = ['--isolation', 'inline'];
writeFileSync(
  join(dir, 'service.wat'),
  `(module
    (memory (export "memory") 1 8)
    (global $counter (mut i32) (i32.const 0))
    (global $restores (mut i32) (i32.const 0))
    (func (export "init") (param $start i32)
      (drop (memory.grow (i32.const 2)))
      (i32.store (i32.const 140000) (i32.const 99))
      (global.set $counter (local.get $start)))
    (func (export "next") (result i32)
      (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
      (i32.add (global.get $counter) (i32.load (i32.const 140000))))
    (func (export "restores") (result i32) (global.get $restores))
    (func (export "forge_on_restore") (global.set $restores (i32.add (global.get $restores) (i32.const 1)))))`,
);
writeFileSync(
  join(dir, 'other.wat'),
  '(module (memory (export "memory") 1) (func (export "next") (result i32) (i32.const 0)))',
);

beforeAll(async () => {
  for (const name of ['kernel', 'stranger'])
    expect((await cli(['keygen', '--alg', 'ed25519', '--out', name], dir, env)).code).toBe(0);
  const run = await cli(
    ['run', 'service.wat', ...INLINE, '--call', 'init', '--args', '41', '--snapshot-out', 's.fsnap'],
    dir,
  );
  expect(run.err.at(-1)).toMatch(/^snapshot [0-9a-f]{64} written to s\.fsnap/);
  expect(run.code).toBe(0);
});

describe('forgeone run --snapshot-out / --from-snapshot', () => {
  it('starts a container from the snapshot and goes on from its state, forge_on_restore called', async () => {
    const next = await cli(
      ['run', 'service.wat', ...INLINE, '--from-snapshot', 's.fsnap', '--call', 'next'],
      dir,
    );
    expect(next.code).toBe(0);
    expect(next.out).toEqual(['=> i32 141']);
    const restores = await cli(
      ['run', 'service.wat', ...INLINE, '--from-snapshot', 's.fsnap', '--call', 'restores', '--json'],
      dir,
    );
    expect(JSON.parse(restores.out[0]!)).toMatchObject({ ok: true, results: [{ type: 'i32', value: 1 }] });
  });

  it('refuses a snapshot of another module, a memory over --memory-pages, a tampered file: one line, exit 1', async () => {
    const other = await cli(
      ['run', 'other.wat', ...INLINE, '--from-snapshot', 's.fsnap', '--call', 'next'],
      dir,
    );
    expect(other.code).toBe(1);
    expect(other.out).toEqual([]);
    expect(other.err).toEqual([expect.stringMatching(/^FORGE_SNAPSHOT_MISMATCH: /)]);
    const small = await cli(
      [
        'run',
        'service.wat',
        ...INLINE,
        '--memory-pages',
        '2',
        '--from-snapshot',
        's.fsnap',
        '--call',
        'next',
      ],
      dir,
    );
    expect(small.err).toEqual([expect.stringMatching(/^FORGE_SNAPSHOT_LIMIT: /)]);
    const bytes = readFileSync(join(dir, 's.fsnap'));
    bytes[bytes.byteLength - 100] = bytes[bytes.byteLength - 100]! ^ 1;
    writeFileSync(join(dir, 'tampered.fsnap'), bytes);
    const tampered = await cli(
      ['run', 'service.wat', ...INLINE, '--from-snapshot', 'tampered.fsnap', '--call', 'next'],
      dir,
    );
    expect(tampered.code).toBe(1);
    expect(tampered.out).toEqual([]);
    expect(tampered.err).toEqual([expect.stringMatching(/^FORGE_SNAPSHOT_INVALID: /)]);
  });

  it('refuses snapshot flags where they cannot be honoured, and writes nothing', async () => {
    const worker = await cli(['run', 'service.wat', '--call', 'init', '--snapshot-out', 'w.fsnap'], dir);
    expect(worker.code).toBe(2);
    expect(worker.err[0]).toMatch(
      /^FORGE_CLI_UNSUPPORTED_OPTION: --snapshot-out cannot be honoured with --isolation worker/,
    );
    const traced = await cli(
      ['run', 'service.wat', ...INLINE, '--call', 'init', '--snapshot-out', 'w.fsnap', '--trace', 't.jsonl'],
      dir,
    );
    expect(traced.code).toBe(2);
    expect(traced.err[0]).toMatch(
      /^FORGE_CLI_UNSUPPORTED_OPTION: --trace cannot be honoured with --snapshot-out/,
    );
    const trapped = await cli(
      ['run', 'service.wat', ...INLINE, '--call', 'nope', '--snapshot-out', 'w.fsnap'],
      dir,
    );
    expect(trapped.code).not.toBe(0);
    expect(existsSync(join(dir, 'w.fsnap'))).toBe(false);
  });
});

describe('forgeone snapshot inspect | verify | sign', () => {
  it('inspects and verifies an intact snapshot; refuses a tampered one', async () => {
    const inspect = await cli(['snapshot', 'inspect', 's.fsnap'], dir);
    expect(inspect.code).toBe(0);
    expect(inspect.out.join('\n')).toMatch(/module {5}service\.wat \(sha256 [0-9a-f]{64}\)/);
    expect(inspect.out.join('\n')).toMatch(/memory {5}192\.0 KiB|memory {5}196608 bytes/);
    const json = await cli(['snapshot', 'verify', 's.fsnap', '--json'], dir);
    expect(JSON.parse(json.out[0]!)).toMatchObject({ ok: true, memory: { byteLength: 196_608, pages: 3 } });
    const bad = await cli(['snapshot', 'verify', 'tampered.fsnap'], dir);
    expect(bad.code).toBe(1);
    expect(bad.err).toEqual([expect.stringMatching(/^FORGE_SNAPSHOT_INVALID: /)]);
  });

  it('signs a snapshot; run and verify then check the signature by the key given', async () => {
    writeFileSync(join(dir, 'signed.fsnap'), readFileSync(join(dir, 's.fsnap')));
    expect((await cli(['snapshot', 'verify', 'signed.fsnap', '--key', 'kernel.pub'], dir)).err).toEqual([
      expect.stringMatching(/^FORGE_SNAPSHOT_UNSIGNED: /),
    ]);
    const sign = await cli(['snapshot', 'sign', 'signed.fsnap', '--key', 'kernel.key'], dir, env);
    expect(sign.code).toBe(0);
    expect((await cli(['snapshot', 'verify', 'signed.fsnap', '--key', 'kernel.pub'], dir)).code).toBe(0);
    expect((await cli(['snapshot', 'verify', 'signed.fsnap', '--key', 'stranger.pub'], dir)).err).toEqual([
      expect.stringMatching(/^FORGE_SNAPSHOT_SIGNATURE: /),
    ]);
    const run = await cli(
      [
        'run',
        'service.wat',
        ...INLINE,
        '--from-snapshot',
        'signed.fsnap',
        '--snapshot-key',
        'stranger.pub',
        '--call',
        'next',
      ],
      dir,
    );
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    const ok = await cli(
      [
        'run',
        'service.wat',
        ...INLINE,
        '--from-snapshot',
        'signed.fsnap',
        '--snapshot-key',
        'kernel.pub',
        '--call',
        'next',
      ],
      dir,
    );
    expect(ok.out).toEqual(['=> i32 141']);
    const direct = await cli(
      [
        'run',
        'service.wat',
        ...INLINE,
        '--call',
        'init',
        '--args',
        '1',
        '--snapshot-out',
        'd.fsnap',
        '--snapshot-sign',
        'kernel.key',
      ],
      dir,
      env,
    );
    expect(direct.code).toBe(0);
    expect((await cli(['snapshot', 'verify', 'd.fsnap', '--key', 'kernel.pub'], dir)).code).toBe(0);
  });
});
