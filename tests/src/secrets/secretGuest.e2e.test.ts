import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectFailure, forgeone, hasStackTrace, type CliRun } from '../support/cli';

// A guest reads a secret through `forge.secret_read`, granted by `forgeone run --secret`, and the
// value is found in no output of the run: report, --json, trace file, the state's files.
const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-secret-guest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CANARY = `canary-${randomBytes(12).toString('hex')}`;
const canaryForms = [
  CANARY,
  Buffer.from(CANARY).toString('base64').slice(0, 20),
  Buffer.from(CANARY).toString('hex'),
];
writeFileSync(join(dir, 'k.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
writeFileSync(join(dir, 'other.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });

// Reads secret "db" to 1024 and compares it with the expected text at 512 (the module file is the
// test's, not an output): exit 0 when equal, 3 when not, 10 + errno when the call failed.
writeFileSync(
  join(dir, 'guest.wat'),
  `(module
  (import "forge" "secret_read" (func $read (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "db")
  (data (i32.const 512) "${CANARY}")
  (func (export "_start") (local $e i32) (local $i i32)
    (local.set $e (call $read (i32.const 0) (i32.const 2) (i32.const 1024) (i32.const 256) (i32.const 96)))
    (if (local.get $e) (then (call $exit (i32.add (i32.const 10) (local.get $e)))))
    (if (i32.ne (i32.load (i32.const 96)) (i32.const ${CANARY.length})) (then (call $exit (i32.const 3))))
    (block $done (loop $cmp
      (br_if $done (i32.ge_u (local.get $i) (i32.const ${CANARY.length})))
      (if (i32.ne (i32.load8_u (i32.add (i32.const 512) (local.get $i)))
                  (i32.load8_u (i32.add (i32.const 1024) (local.get $i))))
        (then (call $exit (i32.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $cmp)))
    (call $exit (i32.const 0))))`,
);

const outputs: string[] = [];
const env = { FORGEONE_SECRET_PASSPHRASE: undefined, FORGEONE_STATE: undefined };
function cli(args: string[], input?: string): CliRun {
  const result = forgeone(args, { cwd: dir, env, ...(input === undefined ? {} : { input }) });
  expect(hasStackTrace(result.stdout + result.stderr), result.stderr).toBe(false);
  outputs.push(result.stdout, result.stderr);
  return result;
}
const fails = expectFailure;
const allow = ['--allow', 'forge.secret_read', '--allow', 'wasi.proc_exit'];
const run = (...extra: string[]) =>
  cli([
    'run',
    'guest.wat',
    ...allow,
    '--state',
    'st',
    '--secret',
    'db',
    '--secret-key-file',
    'k.key',
    ...extra,
  ]);

describe('forgeone run --secret', () => {
  it('gives the guest the value, and no output of the run holds it (inline and worker)', () => {
    expect(cli(['secret', 'set', 'db', '--state', 'st', '--key-file', 'k.key'], `${CANARY}\n`).code).toBe(0);
    for (const isolation of ['worker', 'inline']) {
      const text = run('--isolation', isolation, '--trace', `t-${isolation}.jsonl`);
      expect(text.code, text.stderr + text.stdout).toBe(0);
      expect(text.stdout).toContain('forge.secret_read');
      const json = run('--isolation', isolation, '--json');
      expect(json.code, json.stderr).toBe(0);
      const report = JSON.parse(json.stdout) as { calls: { syscall: string; action: string }[] };
      expect(report.calls.find((e) => e.syscall === 'forge.secret_read')?.action).toBe('allow');
      // The trace file has the call's arguments: the name, never the value.
      const file = readFileSync(join(dir, `t-${isolation}.jsonl`), 'utf8');
      expect(file).toMatch(/"syscall":"forge\.secret_read","args":\{"name":"db","cap":256\}/);
      outputs.push(readFileSync(join(dir, `t-${isolation}.jsonl`), 'latin1'));
    }
    // The trace kept in the state, exported as a user would read it.
    const exported = cli(['trace', 'export', '--state', 'st', '--json']);
    outputs.push(exported.stdout);
    const state = join(dir, 'st');
    for (const file of readdirSync(state)) outputs.push(readFileSync(join(state, file), 'latin1'));
    expect(outputs.join('\n')).toContain('forge.secret_read');
    for (const form of canaryForms) expect(outputs.join('\n')).not.toContain(form);
  });

  it('leaves the call to the policy: not allowed, the guest gets DENIED (errno 1)', () => {
    const denied = cli([
      'run',
      'guest.wat',
      '--allow',
      'wasi.proc_exit',
      '--state',
      'st',
      '--secret',
      'db',
      '--secret-key-file',
      'k.key',
    ]);
    expect(denied.code, denied.stderr).toBe(11);
  });

  it('runs nothing on a wrong key, a secret not set, a bad name, or a backend without the gate', () => {
    const trace = join(dir, 'never.jsonl');
    fails(run('--secret-key-file', 'other.key', '--trace', trace), 'FORGE_SECRET_KEY_WRONG');
    fails(
      cli(['run', 'guest.wat', ...allow, '--state', 'st', '--secret', 'nope', '--secret-key-file', 'k.key']),
      'FORGE_SECRET_NOT_FOUND',
    );
    fails(
      cli(['run', 'guest.wat', ...allow, '--state', 'fresh', '--secret', '9bad']),
      'FORGE_SECRET_NAME_INVALID',
    );
    expect(existsSync(join(dir, 'fresh'))).toBe(false);
    fails(
      cli(['run', 'guest.wat', '--backend', 'wasmer', '--secret', 'db']),
      'FORGE_CLI_UNSUPPORTED_OPTION',
      2,
    );
    fails(
      cli(['run', 'guest.wat', ...allow, '--secret-key-file', 'k.key']),
      'FORGE_CLI_UNSUPPORTED_OPTION',
      2,
    );
    expect(existsSync(trace)).toBe(false);
    for (const form of canaryForms) expect(outputs.join('\n')).not.toContain(form);
  });
});
