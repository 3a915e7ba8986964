import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, type CliRun } from '../support/cli';

// A signed .forgepkg through `forgeone run`, as a publisher and an operator would use it: it runs
// only after it verifies against the trust root, with no more than its manifest grants.
const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-pkgrun-'));
const env = { FORGEONE_PASSPHRASE: 'e2e passphrase', FORGEONE_STATE: undefined };
const run = (...args: string[]): CliRun => {
  const result = forgeone(args, { cwd: dir, env });
  expect(hasStackTrace(result.stderr + result.stdout), result.stderr).toBe(false);
  return result;
};
const firstLine = (result: CliRun) => result.stderr.trim().split('\n')[0] ?? '';

/** Logs "hello", then prints /data/in.txt to stdout if it can open it (exit 0 either way). */
const GUEST = `(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 900) "in.txt")
  (data (i32.const 920) "hello")
  (func (export "_start")
    (drop (call $log (i32.const 920) (i32.const 5)))
    (if (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const 900) (i32.const 6) (i32.const 0)
                             (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
      (then
        (i32.store (i32.const 32) (i32.const 4096)) (i32.store (i32.const 36) (i32.const 200))
        (drop (call $read (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 40)))
        (i32.store (i32.const 32) (i32.const 4096)) (i32.store (i32.const 36) (i32.load (i32.const 40)))
        (drop (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 44)))))))`;

/** Reads kv key `k` (into 64), then writes it: the report's trace shows which calls were allowed. */
const KV_GUEST = `(module
  (import "forge" "kv_get" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "k")
  (data (i32.const 8) "v")
  (func (export "_start")
    (drop (call $get (i32.const 0) (i32.const 1) (i32.const 64) (i32.const 8) (i32.const 96)))
    (drop (call $put (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 1)))))`;

function packAndSign(name: string, capabilities: string[], guest = GUEST): string {
  const src = join(dir, name);
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, 'forgepkg.json'),
    JSON.stringify({ name, version: '1.0.0', entry: 'main.wat', capabilities }),
  );
  writeFileSync(join(src, 'main.wat'), guest);
  const file = `${name}.forgepkg`;
  expect(run('pack', name, '--out', file).code).toBe(0);
  expect(run('sign', file, '--key', 'ed.key').code).toBe(0);
  return file;
}

const data = join(dir, 'data');
let reader = '';

beforeAll(() => {
  expect(run('keygen', '--alg', 'ed25519', '--out', 'ed').code).toBe(0);
  expect(run('keygen', '--alg', 'ed25519', '--out', 'stranger').code).toBe(0);
  const root = run(
    'root',
    'init',
    '--key',
    'ed.pub',
    '--threshold',
    'ed25519=1',
    '--expires',
    '2099-01-01T00:00:00Z',
    '--sign',
    'ed.key',
    '--out',
    'root.json',
  );
  expect(root.code, root.stderr).toBe(0);
  mkdirSync(data);
  writeFileSync(join(data, 'in.txt'), 'from the host');
  reader = packAndSign('reader', ['forge.log', 'wasi.*', 'fs:read:/data']);
}, 120_000);

describe('forgeone run <file.forgepkg> (end to end)', () => {
  it('verifies the package against --root, then runs its entry within what the manifest grants', () => {
    const result = run(
      'run',
      reader,
      '--root',
      'root.json',
      '--allow',
      'forge.log',
      '--allow',
      'wasi.*',
      '--dir',
      `${data}:/data:ro`,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('hello');
    expect(result.stdout).toContain('from the host');
  });

  it('records in its trace what ran: package, signer, identity, grant and limits; --trace-key signs it', () => {
    expect(run('keygen', '--alg', 'ed25519', '--out', 'kernel').code).toBe(0);
    const result = run(
      'run',
      reader,
      '--root',
      'root.json',
      '--allow',
      'forge.log,wasi.*',
      '--dir',
      `${data}:/data:ro`,
      '--memory-pages',
      '8',
      '--trace',
      'reader.jsonl',
      '--trace-key',
      'kernel.key',
    );
    expect(result.code, result.stderr).toBe(0);
    const header = JSON.parse(readFileSync(join(dir, 'reader.jsonl'), 'utf8').split('\n')[0]!) as {
      run: Record<string, unknown>;
    };
    expect(header.run).toMatchObject({
      package: {
        name: 'reader',
        version: '1.0.0',
        signers: [{ algorithm: 'ed25519', keyId: expect.stringMatching(/^[0-9a-f]{64}$/) }],
      },
      identity: { subject: expect.any(String) },
      capabilities: ['forge.log', 'wasi.*', 'fs:read:/data'],
      decider: 'allow-list',
      mode: 'enforce',
      isolation: 'worker',
      limits: expect.objectContaining({ memoryPages: 8 }),
    });
    const verified = run('trace', 'verify', 'reader.jsonl', '--key', 'kernel.pub');
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('(verified)');
    const summary = run('trace', 'summarize', 'reader.jsonl');
    expect(summary.code, summary.stderr).toBe(0);
    expect(summary.stdout).toContain('## What ran');
    expect(summary.stdout).toContain('- Package: `reader@1.0.0` [header]');
    expect(summary.stdout).toMatch(/- Signed by: `ed25519:[0-9a-f]{16}` \[header\]/);
    expect(summary.stdout).toContain('- Granted: `forge.log`, `wasi.*`, `fs:read:/data` [header]');
    expect(summary.stdout).toMatch(/- Limits: .*`memoryPages 8`/);
    // A key is read before the guest runs: a bad one stops the run and writes no trace.
    const bad = run('run', reader, '--root', 'root.json', '--trace', 'none.jsonl', '--trace-key', 'ed.pub');
    expect(bad.code).not.toBe(0);
    expect(firstLine(bad)).toMatch(/^FORGE_[A-Z_]+: /);
    expect(bad.stdout).not.toContain('hello');
    const alone = run('run', reader, '--root', 'root.json', '--trace-key', 'kernel.key');
    expect(alone.code).toBe(2);
    expect(firstLine(alone)).toMatch(/^FORGE_CLI_USAGE: --trace-key signs the --trace file/);
  });

  it('narrows the allow-list to the manifest: a syscall the package did not ask for is denied', () => {
    const src = packAndSign('quiet', ['wasi.*', 'fs:read:/data']);
    const result = run(
      'run',
      src,
      '--root',
      'root.json',
      '--allow',
      'forge.log',
      '--allow',
      'wasi.*',
      '--json',
    );
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { calls: { syscall: string; action: string }[] };
    expect(report.calls.find((e) => e.syscall === 'forge.log')?.action).toBe('deny');
  });

  it('refuses a directory the manifest does not grant, before anything runs', () => {
    const writable = run('run', reader, '--root', 'root.json', '--allow', 'wasi.*', '--dir', `${data}:/data`);
    expect(writable.code).not.toBe(0);
    expect(firstLine(writable)).toMatch(/^FORGE_CAPABILITY_NOT_GRANTED: .*fs:write:\/data/);
    expect(writable.stdout).not.toContain('hello');
    const elsewhere = run(
      'run',
      reader,
      '--root',
      'root.json',
      '--allow',
      'wasi.*',
      '--dir',
      `${data}:/etc:ro`,
    );
    expect(firstLine(elsewhere)).toMatch(/^FORGE_CAPABILITY_NOT_GRANTED: .*fs:read:\/etc/);
  });

  it('runs nothing from a package that does not verify: tampered, or signed by a key the root does not trust', () => {
    const bytes = readFileSync(join(dir, reader));
    const tampered = Buffer.from(bytes);
    // Flip a byte of the entry's text ("hello" → "jello"): its digest no longer matches the manifest.
    const at = tampered.indexOf('"hello"');
    expect(at).toBeGreaterThan(0);
    tampered[at + 1] = 'j'.charCodeAt(0);
    writeFileSync(join(dir, 'tampered.forgepkg'), tampered);
    const result = run('run', 'tampered.forgepkg', '--root', 'root.json', '--allow', 'forge.log');
    expect(result.code).not.toBe(0);
    expect(firstLine(result)).toMatch(/^FORGE_[A-Z_]+: /);
    expect(result.stdout).not.toMatch(/[jh]ello/);

    const src = join(dir, 'stray');
    mkdirSync(src);
    writeFileSync(
      join(src, 'forgepkg.json'),
      JSON.stringify({ name: 'stray', version: '1.0.0', entry: 'main.wat' }),
    );
    writeFileSync(join(src, 'main.wat'), GUEST);
    expect(run('pack', 'stray', '--out', 'stray.forgepkg').code).toBe(0);
    expect(run('sign', 'stray.forgepkg', '--key', 'stranger.key').code).toBe(0);
    const stray = run('run', 'stray.forgepkg', '--root', 'root.json', '--allow', 'forge.log');
    expect(stray.code).not.toBe(0);
    expect(firstLine(stray)).toMatch(/^FORGE_[A-Z_]+: /);
    expect(stray.stdout).not.toContain('hello');
  });
  it('gives a package a kv namespace only as its kv: capabilities grant', () => {
    const state = join(dir, 'state');
    const readOnly = packAndSign('kvreader', ['forge.*', 'kv:read:app'], KV_GUEST);
    const run = (file: string) =>
      forgeone(
        ['run', file, '--root', 'root.json', '--allow', 'forge.*', '--kv', 'app', '--state', state, '--json'],
        {
          cwd: dir,
          env,
        },
      );
    const result = run(readOnly);
    expect(result.code, result.stderr).toBe(0);
    const calls = (JSON.parse(result.stdout) as { calls: { syscall: string; action: string }[] }).calls;
    expect(calls.map((c) => `${c.syscall}:${c.action}`)).toEqual(['forge.kv_get:allow', 'forge.kv_put:deny']);

    const none = run(packAndSign('kvnone', ['forge.*'], KV_GUEST));
    expect(none.code).not.toBe(0);
    const refusal = JSON.parse(none.stdout) as { ok: boolean; code: string; message: string };
    expect(refusal).toMatchObject({ ok: false, code: 'FORGE_CAPABILITY_NOT_GRANTED' });
    expect(refusal.message).toMatch(/kv:read:app or kv:write:app/);
  });
});
