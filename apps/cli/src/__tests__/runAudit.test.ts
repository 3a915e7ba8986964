import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '@forgeone/common';
import { AuditLog, isKernelAuditEntry, type AuditEntryInput } from '@forgeone/trust';
import { cli } from './support/inProcess';

/** Prints "hi" (allowed with --allow wasi.fd_write), reads the clock three times (denied), then `end`. */
const guest = (end: string) => `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 512)))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 512)))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 512)))
    ${end}))`;

function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'forgeone-cli-audit-run-'));
  writeFileSync(join(dir, 'returns.wat'), guest(''));
  writeFileSync(join(dir, 'traps.wat'), guest('(unreachable)'));
  writeFileSync(join(dir, 'loops.wat'), guest('(loop $forever (br $forever))'));
  return dir;
}

/** The audit entries of a store, read without writing to it. */
async function auditOf(path: string) {
  const store = await SqliteStore.openReadOnly(path);
  try {
    // A run's log holds its decisions only: a kernel entry (a boot) here would be a defect.
    return (await new AuditLog(store).read()).map((r): AuditEntryInput => {
      if (isKernelAuditEntry(r.entry)) throw new Error(`unexpected kernel entry ${r.entry.kernel}`);
      return r.entry;
    });
  } finally {
    await store.close();
  }
}

const run = (dir: string, module: string, ...flags: string[]) =>
  cli(['run', module, '--allow', 'wasi.fd_write', '--json', ...flags], dir);

describe('forgeone run appends its decisions to the audit log', () => {
  it.each(['inline', 'worker'] as const)(
    'with --state (%s): every call, in order, verifiable by `audit verify --store <state>/kernel.db`',
    async (isolation) => {
      const dir = workdir();
      const first = await run(dir, 'returns.wat', '--state', 'state', '--isolation', isolation);
      expect(first.code).toBe(0);
      const calls = (JSON.parse(first.out[0]!) as { calls: { syscall: string; action: string }[] }).calls;
      expect(calls.map((c) => c.action)).toEqual(['allow', 'deny', 'deny', 'deny']);
      const entries = await auditOf(join(dir, 'state', 'kernel.db'));
      expect(entries.map((e) => [e.syscall, e.action, e.executed, e.mode])).toEqual([
        ['wasi.fd_write', 'allow', true, 'enforce'],
        ['wasi.clock_time_get', 'deny', false, 'enforce'],
        ['wasi.clock_time_get', 'deny', false, 'enforce'],
        ['wasi.clock_time_get', 'deny', false, 'enforce'],
      ]);
      expect(entries[0]).toMatchObject({ subject: 'module:returns.wat', args: { fd: 1 } });

      // A second run continues the same chain; the README's command verifies it.
      expect((await run(dir, 'traps.wat', '--state', 'state', '--isolation', isolation)).code).toBe(1);
      const verify = await cli(['audit', 'verify', '--store', 'state/kernel.db'], dir);
      expect(verify.code).toBe(0);
      expect(verify.out[0]).toMatch(/^OK: audit chain intact: 8 entries in log "audit"; head 8:/);
    },
  );

  it.each(['inline', 'worker'] as const)(
    'with --audit <file.db>, when the guest is stopped at its deadline (%s): every call is in the log',
    async (isolation) => {
      const dir = workdir();
      const looped = await run(
        dir,
        'loops.wat',
        '--audit',
        'audit.db',
        '--timeout',
        '300',
        '--isolation',
        isolation,
      );
      expect(looped.code).toBe(1);
      const report = JSON.parse(looped.out[0]!) as { code: string; calls: { syscall: string }[] };
      expect(report.code).toBe('FORGE_LIMIT_TIMEOUT');
      const entries = await auditOf(join(dir, 'audit.db'));
      expect(entries.map((e) => e.action)).toEqual(['allow', 'deny', 'deny', 'deny']);
      expect(entries.map((e) => e.syscall)).toEqual(report.calls.map((c) => c.syscall));
      const verify = await cli(['audit', 'verify', '--store', 'audit.db', '--json'], dir);
      expect(JSON.parse(verify.out[0]!)).toMatchObject({ ok: true, entries: 4 });
    },
  );
});
