import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kvSummaryLine } from '../commands/runReport';
import { cli } from './support/inProcess';

/** Counts its runs in kv key `visits` (one ASCII digit) and emits the new count as `visit.counted`. */
const COUNTER = `(module
  (import "forge" "kv_get" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "forge" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
  (import "forge" "emit_event" (func $emit (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "visits")
  (data (i32.const 32) "visit.counted")
  (data (i32.const 64) "0")
  (func (export "_start")
    (drop (call $get (i32.const 0) (i32.const 6) (i32.const 64) (i32.const 1) (i32.const 128)))
    (i32.store8 (i32.const 64) (i32.add (i32.load8_u (i32.const 64)) (i32.const 1)))
    (drop (call $put (i32.const 0) (i32.const 6) (i32.const 64) (i32.const 1)))
    (drop (call $emit (i32.const 32) (i32.const 13) (i32.const 64) (i32.const 1)))))`;

/** A fresh working directory holding counter.wat. */
function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'forgeone-cli-kv-'));
  writeFileSync(join(dir, 'counter.wat'), COUNTER);
  return dir;
}

const counted = (out: readonly string[]) =>
  out.filter((line) => line.startsWith('visit.counted')).map((line) => line.split(/\s+/)[1]);

describe('forgeone run --kv (in process)', () => {
  it('keeps the namespace in --state between runs, in both isolations, and prints events', async () => {
    const dir = workdir();
    const run = (isolation: string) =>
      cli(
        [
          'run',
          'counter.wat',
          '--allow',
          'forge.*',
          '--kv',
          'app',
          '--state',
          'state',
          '--isolation',
          isolation,
        ],
        dir,
      );
    const first = await run('worker');
    expect(first.code).toBe(0);
    expect(first.out).toContain('--- events: 1 ---');
    expect(counted(first.out)).toEqual(['1']);
    expect(first.out).toContain('--- kv app: 1 written, 0 deleted; holds 1 key(s), 7 byte(s) ---');
    expect(counted((await run('inline')).out)).toEqual(['2']);
    expect(counted((await run('worker')).out)).toEqual(['3']);
    expect(existsSync(join(dir, 'state', 'kernel.db'))).toBe(true);
  });

  it('defaults to $FORGEONE_STATE (a .sqlite file is the database itself), else ./.forgeone', async () => {
    const dir = workdir();
    const env = { FORGEONE_STATE: join(dir, 'shared', 'state.sqlite') };
    const args = ['run', 'counter.wat', '--allow', 'forge.*', '--kv', 'app'];
    expect(counted((await cli(args, dir, env)).out)).toEqual(['1']);
    expect(counted((await cli(args, dir, env)).out)).toEqual(['2']);
    expect(existsSync(env.FORGEONE_STATE)).toBe(true);
    expect(counted((await cli(args, dir)).out)).toEqual(['1']);
    expect(existsSync(join(dir, '.forgeone', 'kernel.db'))).toBe(true);
  });

  it('reports events and kv in --json', async () => {
    const dir = workdir();
    const run = await cli(['run', 'counter.wat', '--allow', 'forge.*', '--kv', 'app', '--json'], dir);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.out[0]!) as Record<string, unknown>;
    expect(report.events).toEqual([{ name: 'visit.counted', payload: Buffer.from('1').toString('base64') }]);
    expect(report.kv).toEqual({ namespace: 'app', written: 1, deleted: 0, usage: { keys: 1, bytes: 7 } });
  });

  it('counts calls that answered UNAVAILABLE in the kv line, only when there were any', () => {
    // A CLI run has no natural way to make a kv call go unanswered (the store serves from memory and
    // the bridge timeout is not a flag), so the line is checked on a report directly.
    const kv = { namespace: 'app', written: 2, deleted: 1, usage: { keys: 3, bytes: 40 } };
    expect(kvSummaryLine(kv)).toBe('--- kv app: 2 written, 1 deleted; holds 3 key(s), 40 byte(s) ---');
    expect(kvSummaryLine({ ...kv, unavailable: 4 })).toBe(
      '--- kv app: 2 written, 1 deleted, 4 call(s) unavailable; holds 3 key(s), 40 byte(s) ---',
    );
  });

  it('refuses a bad namespace with one coded line, before creating any state', async () => {
    const dir = workdir();
    const run = await cli(['run', 'counter.wat', '--allow', 'forge.*', '--kv', 'App/../x'], dir);
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err).toEqual([
      expect.stringMatching(/^FORGE_KV_CONFIG_INVALID: kv namespace "App\/\.\.\/x" is invalid/),
    ]);
    expect(existsSync(join(dir, '.forgeone'))).toBe(false);
  });

  it('without --kv, says why allowed kv calls were refused', async () => {
    const dir = workdir();
    const run = await cli(['run', 'counter.wat', '--allow', 'forge.*'], dir);
    expect(run.code).toBe(0);
    expect(run.out).toContainEqual(expect.stringMatching(/forge\.kv_put\s+allow\s+-> 1 /));
    expect(run.err).toEqual([
      'note: forge.kv_* calls answered DENIED: the run has no kv namespace (give --kv <name>)',
    ]);
  });

  it('takes --kv, --state and --audit only on the v8 backend (wasmer makes no per-call decisions)', async () => {
    const dir = workdir();
    for (const flags of [
      ['--state', 'state', '--backend', 'wasmer'],
      ['--kv', 'app', '--backend', 'wasmer'],
      ['--audit', 'audit.db', '--backend', 'wasmer'],
    ]) {
      const run = await cli(['run', 'counter.wat', ...flags], dir);
      expect(run.code).toBe(2);
      expect(run.err).toEqual([
        expect.stringMatching(/^FORGE_CLI_UNSUPPORTED_OPTION: (--state|--kv|--audit) /),
      ]);
    }
  });

  it('takes --kv-durability only with --kv, refuses a malformed one before creating state, and honours relaxed', async () => {
    const dir = workdir();
    const alone = await cli(['run', 'counter.wat', '--kv-durability', 'commit'], dir);
    expect(alone.code).toBe(2);
    expect(alone.err).toEqual([
      expect.stringMatching(/^FORGE_CLI_UNSUPPORTED_OPTION: --kv-durability .*--kv/),
    ]);
    for (const bad of ['relaxed', 'fast', 'relaxed-0ms', 'relaxed-100']) {
      const run = await cli(['run', 'counter.wat', '--kv', 'app', '--kv-durability', bad], dir);
      expect(run.code).toBe(1);
      expect(run.err).toEqual([expect.stringMatching(/^FORGE_KV_CONFIG_INVALID: invalid kv durability/)]);
    }
    expect(existsSync(join(dir, '.forgeone'))).toBe(false);
    const flags = ['--allow', 'forge.*', '--kv', 'app', '--kv-durability', 'relaxed-50ms'];
    expect(counted((await cli(['run', 'counter.wat', ...flags], dir)).out)).toEqual(['1']);
    // Relaxed writes are committed when the run ends: the next run reads them.
    expect(counted((await cli(['run', 'counter.wat', ...flags], dir)).out)).toEqual(['2']);
  });
});
