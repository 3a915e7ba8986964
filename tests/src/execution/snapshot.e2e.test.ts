import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace } from '../support/cli';

// Issue 15, snapshots, through the built CLI as it will be checked: a snapshot captured after an
// init export, restored and served from, tampered with, and restored into the wrong module.
const dir = mkdtempSync(join(tmpdir(), 'forgeone-e2e-snapshot-'));
writeFileSync(
  join(dir, 'svc.wat'),
  `(module
    (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1 16)
    (global $n (mut i64) (i64.const 0))
    (data (i32.const 100) "ready\\n")
    (func (export "init") (drop (memory.grow (i32.const 1))) (global.set $n (i64.const 1000)) (i32.store (i32.const 70000) (i32.const 5)))
    (func (export "handle") (param $x i64) (result i64)
      (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 6))
      (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (global.set $n (i64.add (global.get $n) (local.get $x)))
      (i64.add (global.get $n) (i64.extend_i32_u (i32.load (i32.const 70000))))))`,
);
writeFileSync(
  join(dir, 'wrong.wat'),
  '(module (memory (export "memory") 1) (func (export "handle") (param i64) (result i64) (local.get 0)))',
);
const run = (...args: string[]) =>
  forgeone(['run', ...args, '--isolation', 'inline', '--allow', 'wasi.fd_write'], { cwd: dir });

describe('forgeone run --snapshot-out / --from-snapshot (built CLI)', () => {
  it('captures after init, serves from the snapshot, refuses a tampered file and the wrong module', () => {
    const init = run('svc.wat', '--call', 'init', '--snapshot-out', 's.fsnap');
    expect(init.code, init.stderr).toBe(0);
    const id = /snapshot ([0-9a-f]{64}) written/.exec(init.stderr)?.[1];
    expect(id).toBeDefined();

    const served = run('svc.wat', '--from-snapshot', 's.fsnap', '--call', 'handle', '--args', '7');
    expect(served.code, served.stderr).toBe(0);
    expect(served.stdout).toBe('ready\n=> i64 1012\n');

    const inspect = forgeone(['snapshot', 'verify', 's.fsnap', '--json'], { cwd: dir });
    expect(JSON.parse(inspect.stdout)).toMatchObject({ ok: true, id, memory: { pages: 2 } });

    const bytes = readFileSync(join(dir, 's.fsnap'));
    bytes[60] = bytes[60]! ^ 0x20;
    writeFileSync(join(dir, 'bad.fsnap'), bytes);
    for (const [args, code] of [
      [
        ['svc.wat', '--from-snapshot', 'bad.fsnap', '--call', 'handle', '--args', '7'],
        'FORGE_SNAPSHOT_INVALID',
      ],
      [
        ['wrong.wat', '--from-snapshot', 's.fsnap', '--call', 'handle', '--args', '7'],
        'FORGE_SNAPSHOT_MISMATCH',
      ],
      [
        ['svc.wat', '--memory-pages', '1', '--from-snapshot', 's.fsnap', '--call', 'handle', '--args', '7'],
        'FORGE_SNAPSHOT_LIMIT',
      ],
    ] as const) {
      const refused = run(...args);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(new RegExp(`^${code}: [^\\n]*\\n$`));
      expect(hasStackTrace(refused.stderr)).toBe(false);
    }
  });
});
