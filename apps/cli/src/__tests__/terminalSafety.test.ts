import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  canonicalJsonBytes,
  createRootSigned,
  encodePackage,
  PrivateKey,
  signPackage,
  signRoot,
  writeRootFile,
} from '@forgeone/crypto';
import { runCli } from '../cli';
import { cli } from './support/inProcess';

// What a terminal would act on: ESC (CSI, OSC), BEL, the 8-bit CSI, a bidi override.
const HOSTILE = 'a\u001b]0;pwned\u0007\u009b2J\u202eb';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;

const key = PrivateKey.generate('ed25519');

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'forge-cli-tty-'));
  await writeRootFile(
    join(dir, 'root.json'),
    signRoot(
      createRootSigned({
        expires: '2099-01-01T00:00:00Z',
        root: { keys: [key.publicKey], threshold: { ed25519: 1 } },
      }),
      [key],
    ),
  );
  const hostile = encodePackage({
    manifestBytes: canonicalJsonBytes({ name: 'hello', version: '1.0.0' }),
    entries: [{ name: HOSTILE, data: Uint8Array.of(1, 2) }],
    signatures: [],
  });
  await writeFile(join(dir, 'hostile.forgepkg'), signPackage(hostile, [key]));
  return dir;
}

/** Runs the CLI in process with the given streams marked as terminals, keeping raw output. */
async function onTerminal(argv: string[], cwd: string, terminal: { out: boolean; err: boolean }) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    json: argv.includes('--json'),
    env: () => undefined,
    cwd,
    terminal,
  });
  return { code, out, err };
}

describe('terminal escapes from outside never reach the terminal raw', () => {
  it('verify and run errors quoting a hostile entry name print it escaped', async () => {
    const dir = await setup();
    for (const argv of [
      ['verify', 'hostile.forgepkg', '--root', 'root.json'],
      ['run', 'hostile.forgepkg', '--root', 'root.json'],
      ['inspect', 'hostile.forgepkg'],
    ]) {
      const result = await cli(argv, dir);
      const printed = [...result.out, ...result.err].join('\n');
      expect(printed, argv[0]).not.toMatch(RAW_CONTROL);
      expect(printed, argv[0]).toContain('a\\u001b]0;pwned\\u0007\\u009b2J\\u202eb');
    }
  });

  it('JSON output stays valid and carries the same value', async () => {
    const dir = await setup();
    const json = await cli(['inspect', 'hostile.forgepkg', '--json'], dir);
    expect(json.out.join('\n')).not.toMatch(RAW_CONTROL);
    expect((JSON.parse(json.out[0]!) as { entries: Array<{ name: string }> }).entries[0]?.name).toBe(HOSTILE);
  });

  it("the guest's own output is escaped on a terminal and passed through as written into a pipe; its logs always escaped", async () => {
    const dir = await setup();
    // fd_write "\x1b[2Jhi\n" to stdout, then forge.log the same bytes.
    await writeFile(
      join(dir, 'ansi.wat'),
      `(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (import "forge" "log" (func $log (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 100) "\\1b[2Jhi\\0a")
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 7))
          (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (drop (call $log (i32.const 100) (i32.const 6)))))`,
    );
    const argv = ['run', 'ansi.wat', '--isolation', 'inline', '--allow', 'wasi.fd_write,forge.log'];
    const tty = await onTerminal(argv, dir, { out: true, err: true });
    expect(tty.code, tty.err.join('\n')).toBe(0);
    expect(tty.out[0]).toBe('\\u001b[2Jhi');
    const pipe = await onTerminal(argv, dir, { out: false, err: false });
    expect(pipe.out[0]).toBe('\u001b[2Jhi');
    for (const result of [tty, pipe]) expect(result.out.slice(1).join('\n')).not.toMatch(RAW_CONTROL);
    expect(pipe.out).toContain('\\u001b[2Jhi');
  });
});

describe('inspect: a manifest that is not an object naming the package', () => {
  it('is FORGE_PKG_MANIFEST_INVALID, not an internal error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-cli-tty-'));
    for (const manifest of [
      'null',
      '[]',
      '"x"',
      '{"name":1,"version":"1.0.0"}',
      '{"version":"1.0.0"}',
      '{',
    ]) {
      const bytes = encodePackage({
        manifestBytes: new TextEncoder().encode(manifest),
        entries: [{ name: 'main.wasm', data: Uint8Array.of(0) }],
        signatures: [],
      });
      await writeFile(join(dir, 'm.forgepkg'), bytes);
      for (const argv of [
        ['inspect', 'm.forgepkg'],
        ['inspect', 'm.forgepkg', '--json'],
      ]) {
        const result = await cli(argv, dir);
        expect(result.code, manifest).toBe(1);
        const line = argv.includes('--json')
          ? (JSON.parse(result.out[0]!) as { code: string }).code
          : (result.err[0] ?? '');
        expect(line, manifest).toMatch(/^FORGE_PKG_MANIFEST_INVALID/);
      }
    }
  });
});
