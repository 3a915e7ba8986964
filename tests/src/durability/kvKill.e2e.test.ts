import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '@forgeone/common';
import { StorageKvBackend } from '@forgeone/execution';
import { cliPath, hasStackTrace } from '../support/cli';
import { runUntilStopped, type StoppedRun } from '../support/killHarness';

const scratch = mkdtempSync(join(tmpdir(), 'forgeone-e2e-kv-kill-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Puts value i (8 hex digits) under key `k<i mod 1000>` for i = 0, 1, 2, ... forever, and prints
 * the value on its own line (fd_write) each time kv_put answered OK: one line per acknowledged
 * write. Keys are reused so that the default quota (1,024 keys) never refuses a write.
 */
const BURST = join(scratch, 'burst.wat');
writeFileSync(
  BURST,
  `(module
  (import "forge" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "k000")
  (data (i32.const 40) "\\n")
  (func $hex (param $n i32) (result i32)
    (select (i32.add (local.get $n) (i32.const 48)) (i32.add (local.get $n) (i32.const 87))
      (i32.lt_u (local.get $n) (i32.const 10))))
  (func (export "_start") (local $i i32) (local $j i32) (local $d i32)
    (i32.store (i32.const 100) (i32.const 32))
    (i32.store (i32.const 104) (i32.const 9))
    (loop $next
      (local.set $d (i32.rem_u (local.get $i) (i32.const 1000)))
      (i32.store8 (i32.const 1) (i32.add (i32.const 48) (i32.div_u (local.get $d) (i32.const 100))))
      (i32.store8 (i32.const 2)
        (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $d) (i32.const 10)) (i32.const 10))))
      (i32.store8 (i32.const 3) (i32.add (i32.const 48) (i32.rem_u (local.get $d) (i32.const 10))))
      (local.set $j (i32.const 0))
      (loop $digit
        (i32.store8 (i32.add (i32.const 32) (local.get $j))
          (call $hex (i32.and (i32.shr_u (local.get $i)
            (i32.sub (i32.const 28) (i32.shl (local.get $j) (i32.const 2)))) (i32.const 15))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $digit (i32.lt_u (local.get $j) (i32.const 8))))
      (if (i32.eqz (call $put (i32.const 0) (i32.const 4) (i32.const 32) (i32.const 8)))
        (then (drop (call $write (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 108)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))`,
);

const ACK = /^[0-9a-f]{8}$/;
/** Acknowledgements to wait for before the signal: enough to be mid-burst, few enough to be quick. */
const AFTER = 100;

function burst(
  state: string,
  isolation: string,
  signal: 'SIGKILL' | 'SIGINT' | 'SIGTERM',
  timeoutMs: number,
  more: readonly string[] = [],
) {
  return runUntilStopped({
    args: [
      cliPath,
      'run',
      BURST,
      '--allow',
      'forge.kv_put,wasi.fd_write',
      '--kv',
      'app',
      '--state',
      state,
      '--isolation',
      isolation,
      '--timeout',
      String(timeoutMs),
      ...more,
    ],
    isAck: (line) => ACK.test(line),
    after: AFTER,
    signal,
  });
}

/**
 * Opens the state the way `forgeone run --kv app` does and checks every acknowledged write: the
 * key of each acknowledged value holds that value or a later one written to the same key (a write
 * in flight when the process died may be there too, unacknowledged).
 */
async function expectEveryAcknowledgedWriteKept(state: string, run: StoppedRun): Promise<void> {
  expect(run.acked.length).toBeGreaterThanOrEqual(AFTER);
  const lastAcked = new Map<string, number>();
  for (const line of run.acked) {
    const value = Number.parseInt(line, 16);
    lastAcked.set(`k${String(value % 1000).padStart(3, '0')}`, value);
  }
  const store = await SqliteStore.open(join(state, 'kernel.db'));
  try {
    const kv = await StorageKvBackend.load(store, 'app');
    const lost: string[] = [];
    for (const [key, acked] of lastAcked) {
      const bytes = kv.get(key);
      const stored =
        bytes === undefined ? undefined : Number.parseInt(Buffer.from(bytes).toString('latin1'), 16);
      if (stored === undefined || stored < acked || stored % 1000 !== acked % 1000) {
        lost.push(`${key}: acknowledged ${acked}, stored ${String(stored)}`);
      }
    }
    expect(lost).toEqual([]);
  } finally {
    await store.close();
  }
}

describe('the kill harness and the check above', () => {
  it('see writes lost by the relaxed mode (acknowledged, not yet committed) when killed', async () => {
    const state = join(scratch, 'relaxed-kill');
    const run = await burst(state, 'worker', 'SIGKILL', 60_000, ['--kv-durability', 'relaxed-60000ms']);
    expect(run.signal).toBe('SIGKILL');
    await expect(expectEveryAcknowledgedWriteKept(state, run)).rejects.toThrow();
  });
});

describe.each(['worker', 'inline'])('forgeone run --kv --isolation %s, stopped mid-burst', (isolation) => {
  it('keeps every acknowledged write when killed with SIGKILL', async () => {
    const state = join(scratch, `${isolation}-kill`);
    const run = await burst(state, isolation, 'SIGKILL', 60_000);
    expect(run.signal).toBe('SIGKILL');
    await expectEveryAcknowledgedWriteKept(state, run);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    'on %s closes cleanly, says so in one line, exits %i, and keeps every acknowledged write',
    async (signal, code) => {
      const state = join(scratch, `${isolation}-${signal}`);
      // An inline guest holds the main thread: the signal is taken when it returns to the host, at
      // its deadline at the latest. A worker guest is stopped at once.
      const run = await burst(state, isolation, signal, isolation === 'inline' ? 5_000 : 60_000);
      expect(run.signal).toBeNull();
      expect(run.code).toBe(code);
      expect(hasStackTrace(run.stderr)).toBe(false);
      const lines = run.stderr.trim().split('\n');
      expect(lines.at(-1)).toMatch(
        new RegExp(
          `^FORGE_INTERRUPTED: interrupted by ${signal}; kv namespace app closed with every acknowledged write kept \\(\\d+ written, 0 deleted\\)$`,
        ),
      );
      if (isolation === 'worker') expect(lines).toHaveLength(1);
      await expectEveryAcknowledgedWriteKept(state, run);
    },
  );
});
