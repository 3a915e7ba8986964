import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, type CliRun } from '../support/cli';

// `forgeone run` over backend × isolation × decision source × module kind × state, through the
// built CLI. Each row is data; each promise is one checker. A row is either refused with a code
// before anything runs, or every promise that applies to it holds.

type Backend = 'v8' | 'wasmer';
/** `worker` is the default (no flag given); `inline` is asked for with --isolation inline. */
type Isolation = 'worker' | 'inline';
/** Who decides: --allow, --policy, or neither (default deny; for a package, its manifest on top). */
type Source = 'allow' | 'policy' | 'none';
type ModuleKind = 'wasm' | 'package';
/** No state, --state <file>, or $FORGEONE_STATE. The state has v2 of the package installed. */
type State = 'none' | 'flag' | 'env';

interface Row {
  readonly backend: Backend;
  readonly isolation: Isolation;
  readonly source: Source;
  readonly module: ModuleKind;
  readonly state: State;
}

const rows: Row[] = [];
// v8: every combination.
for (const isolation of ['worker', 'inline'] as const)
  for (const source of ['allow', 'policy', 'none'] as const)
    for (const module of ['wasm', 'package'] as const)
      for (const state of ['none', 'flag', 'env'] as const)
        rows.push({ backend: 'v8', isolation, source, module, state });
// wasmer refuses whatever needs the gate: its default row, and each row one choice away from it
// (a second refused choice adds nothing but another run).
const WASMER_DEFAULT: Row = {
  backend: 'wasmer',
  isolation: 'worker',
  source: 'none',
  module: 'wasm',
  state: 'none',
};
rows.push(
  WASMER_DEFAULT,
  { ...WASMER_DEFAULT, isolation: 'inline' },
  { ...WASMER_DEFAULT, source: 'allow' },
  { ...WASMER_DEFAULT, source: 'policy' },
  { ...WASMER_DEFAULT, module: 'package' },
  { ...WASMER_DEFAULT, state: 'flag' },
  { ...WASMER_DEFAULT, state: 'env' },
);

const nameOf = (row: Row) => `${row.backend}/${row.isolation}/${row.source}/${row.module}/state:${row.state}`;

/**
 * Why the CLI refuses a row, written from what each part can honour: wasmer has no syscall gate
 * (no --allow, --policy, .forgepkg, --isolation, --state). On v8 every row runs: state keeps the
 * audit log of any run, and the installed versions a package is checked against.
 */
function refusalOf(row: Row): string | undefined {
  if (row.backend === 'wasmer') {
    if (row.module === 'package') return 'FORGE_CLI_UNSUPPORTED_OPTION';
    if (row.isolation === 'inline' || row.source !== 'none' || row.state === 'flag')
      return 'FORGE_CLI_UNSUPPORTED_OPTION';
  }
  return undefined;
}

/** Asks for its argument sizes, then writes "out" to stdout: two calls, both WASI. */
const GUEST = `(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "out\\n")
  (func (export "_start")
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (i32.store (i32.const 16) (i32.const 100)) (i32.store (i32.const 20) (i32.const 4))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))`;
const CALLS = ['wasi.args_sizes_get', 'wasi.fd_write'];
/** The package's manifest grants only the first call: fd_write is outside it. */
const MANIFEST_GRANTS = ['wasi.args_sizes_get'];

const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-runoptions-'));
const env = { FORGEONE_PASSPHRASE: 'e2e passphrase', FORGEONE_STATE: undefined };
const cli = (args: string[], extraEnv: Record<string, string> = {}): CliRun => {
  const result = forgeone(args, { cwd: dir, env: { ...env, ...extraEnv } });
  expect(hasStackTrace(result.stderr + result.stdout), result.stderr).toBe(false);
  return result;
};

function pack(version: string): string {
  const src = join(dir, `app-${version}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, 'forgepkg.json'),
    JSON.stringify({ name: 'app', version, entry: 'main.wat', capabilities: MANIFEST_GRANTS }),
  );
  writeFileSync(join(src, 'main.wat'), GUEST);
  const file = `app-${version}.forgepkg`;
  expect(cli(['pack', src, '--out', file]).code).toBe(0);
  expect(cli(['sign', file, '--key', 'ed.key']).code).toBe(0);
  return file;
}

/** What one row's run gave: the run, its --json report, and the --trace file's calls. */
interface Ran {
  readonly run: CliRun;
  readonly report: {
    ok: boolean;
    code: string;
    calls?: Array<{ seq: number; syscall: string; action: string; executed: boolean }>;
    stdout?: string;
  };
  readonly traced: Array<{ seq: number; syscall: string; action: string; executed: boolean }> | undefined;
  readonly state: string | undefined;
}

const runs = new Map<string, Ran>();
/** One run per row and version, shared by every promise checked on it. */
function ranOnce(row: Row, version = '1.0.0'): Ran {
  const key = `${nameOf(row)}@${version}`;
  let ran = runs.get(key);
  if (ran === undefined) runs.set(key, (ran = runRow(row, version)));
  return ran;
}

let counter = 0;
function runRow(row: Row, version = '1.0.0'): Ran {
  const n = ++counter;
  const argv = ['run', row.module === 'package' ? `app-${version}.forgepkg` : 'guest.wat'];
  if (row.module === 'package') argv.push('--root', 'root.json');
  argv.push('--backend', row.backend);
  if (row.isolation === 'inline') argv.push('--isolation', 'inline');
  if (row.source === 'allow') argv.push('--allow', CALLS.join(','));
  if (row.source === 'policy') argv.push('--policy', 'allow-both.yaml');
  const trace = join(dir, `trace-${n}.jsonl`);
  if (row.backend === 'v8') argv.push('--trace', trace);
  // Each row gets its own copy of the state in which v2 is installed.
  let state: string | undefined;
  const stateEnv: Record<string, string> = {};
  if (row.state !== 'none') {
    state = join(dir, `state-${n}.sqlite`);
    copyFileSync(join(dir, 'installed-v2.sqlite'), state);
    if (row.state === 'flag') argv.push('--state', state);
    else stateEnv.FORGEONE_STATE = state;
  }
  const run = cli([...argv, '--json'], stateEnv);
  const report = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as Ran['report'];
  const traced = existsSync(trace)
    ? readFileSync(trace, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { kind: string } & NonNullable<Ran['traced']>[number])
        .filter((e) => e.kind === 'call')
    : undefined;
  return { run, report, traced, state };
}

// ---- the promises, one checker each ------------------------------------------------------------

/** Refused with `code`, on one line, before the guest ran. */
function refusedBeforeRunning(ran: Ran, code: string): void {
  expect(ran.run.code).not.toBe(0);
  expect(ran.report).toMatchObject({ ok: false, code });
  expect(ran.run.stdout.trim().split('\n')).toHaveLength(1);
  expect(ran.run.stdout).not.toContain('"stdout":"out');
}

/** Every call the gate saw is in the --json report and in the --trace file, in order. */
function everyCallRecorded(ran: Ran, expected: readonly string[] = CALLS): void {
  const calls = ran.report.calls ?? [];
  expect(calls.map((c) => c.syscall)).toEqual(expected);
  expect(calls.map((c) => c.seq)).toEqual(expected.map((_, i) => i + 1));
  expect(ran.traced?.map((c) => [c.seq, c.syscall, c.action])).toEqual(
    calls.map((c) => [c.seq, c.syscall, c.action]),
  );
}

/** What was executed is what the decision source allows (raw module: nothing else narrows it). */
function decidedAsAsked(row: Row, ran: Ran): void {
  const allowed = row.source !== 'none';
  expect(ran.report.calls?.map((c) => c.executed)).toEqual(CALLS.map(() => allowed));
  expect(ran.report.stdout).toBe(allowed ? 'out\n' : '');
}

/** A package gets the intersection of its manifest and the decision source, never more. */
function withinManifest(row: Row, ran: Ran): void {
  const calls = ran.report.calls ?? [];
  for (const call of calls) {
    const inManifest = MANIFEST_GRANTS.includes(call.syscall);
    expect(call.executed, `${call.syscall} executed`).toBe(inManifest && row.source !== 'none');
  }
  expect(ran.report.stdout).toBe('');
}

/** With state, a package older than the installed one is refused (and the installed one runs). */
function rollbackChecked(row: Row): void {
  const older = ranOnce(row, '1.0.0');
  refusedBeforeRunning(older, 'FORGE_PKG_ROLLBACK');
  expect(older.report.calls).toBeUndefined();
}

/** wasmer has no gate: it runs the guest and claims no record of calls it never saw. */
function ranWithoutGate(ran: Ran): void {
  expect(ran.run.code, ran.run.stderr).toBe(0);
  expect(ran.report).toMatchObject({ ok: true, backend: 'wasmer', stdout: 'out\n' });
  expect(ran.report.calls).toBeUndefined();
}

/** The run's decisions are appended to the hash-chained audit log in its state. */
function auditWritten(ran: Ran): void {
  const verified = cli(['audit', 'verify', '--store', ran.state!, '--json']);
  expect(verified.code, verified.stdout).toBe(0);
  const body = JSON.parse(verified.stdout) as { entries: number };
  expect(body.entries).toBeGreaterThanOrEqual(ran.report.calls?.length ?? 1);
}

beforeAll(() => {
  expect(cli(['keygen', '--alg', 'ed25519', '--out', 'ed']).code).toBe(0);
  const root = cli([
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
  ]);
  expect(root.code, root.stderr).toBe(0);
  writeFileSync(join(dir, 'guest.wat'), GUEST);
  writeFileSync(
    join(dir, 'allow-both.yaml'),
    [
      'apiVersion: forgeone.dev/v1',
      'kind: Policy',
      'metadata: { name: allow-both }',
      'spec:',
      '  nodes:',
      '    - name: base',
      '      rules:',
      `        - { id: both, action: allow, match: { syscall: [${CALLS.join(', ')}] } }`,
      '',
    ].join('\n'),
  );
  pack('1.0.0');
  const v2 = pack('2.0.0');
  const install = cli(['verify', v2, '--root', 'root.json', '--install', '--state', 'installed-v2.sqlite']);
  expect(install.code, install.stderr).toBe(0);
}, 120_000);

describe('forgeone run: every combination of options is refused with a code or keeps its promises', () => {
  for (const row of rows) {
    const refusal = refusalOf(row);
    if (refusal !== undefined) {
      it(`${nameOf(row)}: refused with ${refusal}`, () => refusedBeforeRunning(ranOnce(row), refusal));
      continue;
    }
    if (row.backend === 'wasmer') {
      it(`${nameOf(row)}: runs without a gate and says so`, () => ranWithoutGate(ranOnce(row)));
      continue;
    }
    // A package with state runs the installed version (v2); v1 is then checked for rollback.
    const version = row.module === 'package' && row.state !== 'none' ? '2.0.0' : '1.0.0';
    it(`${nameOf(row)}: every call recorded in --json and --trace`, () => {
      const ran = ranOnce(row, version);
      expect(ran.run.code, ran.run.stderr).toBe(0);
      everyCallRecorded(ran);
    });
    if (row.module === 'wasm') {
      it(`${nameOf(row)}: executes what the decision source allows`, () =>
        decidedAsAsked(row, ranOnce(row, version)));
    } else {
      it(`${nameOf(row)}: within manifest ∩ decision source`, () =>
        withinManifest(row, ranOnce(row, version)));
    }
    if (row.module === 'package' && row.state !== 'none') {
      it(`${nameOf(row)}: an older version than the installed one is refused`, () => rollbackChecked(row));
    }
    if (row.state !== 'none') {
      it(`${nameOf(row)}: decisions in the audit log`, () => auditWritten(ranOnce(row, version)));
    }
  }
});

/** Makes both calls, then spins: stopped at its deadline, it must still have both on record. */
const SPINNER = GUEST.replace('(i32.const 24)))))', '(i32.const 24)))\n    (loop $spin (br $spin))))');

describe('forgeone run: calls stay on record when a guest is stopped at its deadline', () => {
  beforeAll(() => writeFileSync(join(dir, 'spinner.wat'), SPINNER));
  for (const isolation of ['inline', 'worker'] as const) {
    const row: Row = { backend: 'v8', isolation, source: 'allow', module: 'wasm', state: 'none' };
    it(`${nameOf(row)}: both calls in --json and --trace after FORGE_LIMIT_TIMEOUT`, () => {
      const trace = join(dir, `spinner-${isolation}.jsonl`);
      const argv = [
        'run',
        'spinner.wat',
        '--allow',
        CALLS.join(','),
        '--timeout',
        '300',
        '--trace',
        trace,
        '--json',
      ];
      if (isolation === 'inline') argv.push('--isolation', 'inline');
      const run = cli(argv);
      const report = JSON.parse(run.stdout) as Ran['report'];
      expect(report).toMatchObject({ ok: false, code: 'FORGE_LIMIT_TIMEOUT' });
      const traced = readFileSync(trace, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { kind: string } & NonNullable<Ran['traced']>[number])
        .filter((e) => e.kind === 'call');
      everyCallRecorded({ run, report, traced, state: undefined });
    });
  }
});
