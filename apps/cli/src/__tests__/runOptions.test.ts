import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../cli';
import { RUN_OPTION_SUPPORT, refusalOf, type RunContext } from '../commands/runOptions';
import { cli } from './support/inProcess';

// Every option of `forgeone run` against every backend, isolation, mode and module kind. The table
// lives in commands/runOptions.ts (the check uses it); this file writes it out again, so a change
// of what is supported is a reviewed change here, and then runs the CLI over every combination.
const dir = mkdtempSync(join(tmpdir(), 'forgeone-cli-runoptions-'));
const data = join(dir, 'data');
mkdirSync(data);
writeFileSync(
  join(dir, 'guest.wat'),
  `(module (memory (export "memory") 1)
     (func (export "_start"))
     (func (export "answer") (result i32) (i32.const 42))
     (func (export "id") (param i32) (result i32) (local.get 0)))`,
);
// Refusals come before anything is read, so a package that is not one shows what the table refuses.
writeFileSync(join(dir, 'pkg.forgepkg'), 'not really a package');
writeFileSync(join(dir, 'root.json'), '{}');
writeFileSync(
  join(dir, 'policy.yaml'),
  [
    'apiVersion: forgeone.dev/v1',
    'kind: Policy',
    'metadata: { name: p }',
    'spec:',
    '  nodes:',
    '    - name: base',
    '      rules:',
    '        - { id: log, action: allow, match: { syscall: forge.log } }',
    '',
  ].join('\n'),
);

const WASMER = { backend: ['wasmer'] };
/** Snapshots: v8, inline isolation, a raw module, no kv namespace. */
const SNAPSHOT = [WASMER, { isolation: ['worker'] }, { module: ['package'] }, { kv: [true] }];
/** The support table, written out: for each option, the contexts that refuse it. */
const EXPECTED_REFUSALS: Record<string, ReadonlyArray<Record<string, readonly unknown[]>>> = {
  '<module>.forgepkg': [WASMER],
  '--root': [WASMER, { module: ['module'] }],
  '--policy': [WASMER],
  '--allow': [WASMER],
  '--mode': [WASMER],
  '--env': [],
  '--dir <host:guest>': [],
  '--dir <host:guest:ro>': [],
  '--call': [WASMER],
  '--args': [WASMER],
  '--timeout': [],
  '--memory-pages': [WASMER],
  '--syscall-rate': [WASMER],
  '--syscall-burst': [WASMER],
  '--max-open-fds': [WASMER],
  '--fuel': [WASMER],
  '--max-module-bytes': [WASMER],
  '--max-imports': [WASMER],
  '--max-table-elements': [WASMER],
  '--isolation': [WASMER],
  '--backend': [],
  '--kv': [WASMER],
  '--kv-durability': [WASMER, { kv: [false] }],
  '--secret': [WASMER],
  '--secret-key-file': [WASMER, { secrets: [false] }],
  '--state': [WASMER],
  '--audit': [WASMER],
  '--trace': [WASMER],
  '--trace-key': [WASMER],
  '--json': [],
  '--snapshot-out': SNAPSHOT,
  '--from-snapshot': SNAPSHOT,
  '--snapshot-key': SNAPSHOT,
  '--snapshot-sign': SNAPSHOT,
  '[guestArgs...]': [],
};

describe('forgeone run: the option support table', () => {
  it('is the table this test writes out', () => {
    expect(
      Object.fromEntries(RUN_OPTION_SUPPORT.map((r) => [r.option, r.refused.map((x) => x.when)])),
    ).toEqual(EXPECTED_REFUSALS);
  });

  it('has a row for every option of run, under the attribute commander stores it in', () => {
    const run = buildProgram({
      out: () => {},
      err: () => {},
      json: false,
      env: () => undefined,
      cwd: dir,
    }).commands.find((c) => c.name() === 'run')!;
    const declared = run.options.map((o) => [o.long, o.attributeName()]);
    const rows = new Map(RUN_OPTION_SUPPORT.map((r) => [r.option.split(' ')[0], r.key]));
    for (const [long, attribute] of declared) {
      expect(rows.has(long), `${long} has no row in RUN_OPTION_SUPPORT`).toBe(true);
      expect(rows.get(long)).toBe(attribute);
    }
  });

  // The contexts, each as the flags that make it. The module does not exist: what the table
  // honours gets past the check and fails later, quickly, on the missing file (the e2e matrix in
  // tests/src/execution/runOptions.e2e.test.ts runs real guests and checks the promises). Context
  // flags are options the table rules on too (--isolation on wasmer), and an example can change the
  // context (--mode audit), so the test reads the context and the given options back from the whole
  // command line, on its own.
  const contexts: string[][] = [];
  for (const backend of ['v8', 'wasmer'])
    for (const isolation of [[], ['--isolation', 'inline']])
      for (const mode of [[], ['--mode', 'audit']])
        for (const module of ['absent.wat', 'pkg.forgepkg'])
          for (const kv of [[], ['--kv', 'app']])
            contexts.push(['run', module, '--backend', backend, ...isolation, ...mode, ...kv]);

  const valueOf = (argv: readonly string[], flag: string) => {
    const at = argv.lastIndexOf(flag);
    return at < 0 ? undefined : argv[at + 1];
  };
  const contextOf = (argv: readonly string[]): RunContext => ({
    backend: valueOf(argv, '--backend') as RunContext['backend'],
    isolation: (valueOf(argv, '--isolation') ?? 'worker') as RunContext['isolation'],
    mode: (valueOf(argv, '--mode') ?? 'enforce') as RunContext['mode'],
    module: argv[1]!.endsWith('.forgepkg') ? 'package' : 'module',
    kv: argv.includes('--kv'),
    secrets: argv.includes('--secret'),
  });
  const givenRows = (argv: readonly string[]) =>
    RUN_OPTION_SUPPORT.filter((r) => {
      if (r.option === '<module>.forgepkg') return argv[1]!.endsWith('.forgepkg');
      if (r.option === '[guestArgs...]') return argv.includes('--');
      if (r.key === 'dir')
        return argv.some(
          (a, i) => argv[i - 1] === '--dir' && a.endsWith(':ro') === r.option.endsWith(':ro>'),
        );
      return argv.includes(r.option);
    });
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  for (const option of RUN_OPTION_SUPPORT) {
    it(`${option.option}: refused with a code exactly where the table says, in every context`, async () => {
      for (const base of contexts) {
        const argv = [...base, ...option.example.map((a) => a.replace('{dir}', data))];
        const context = contextOf(argv);
        const first = givenRows(argv).find((r) => refusalOf(r, context) !== undefined);
        const run = await cli(argv, dir);
        const said = [...run.err, ...run.out].join('\n');
        if (first !== undefined) {
          expect(run.code, argv.join(' ')).toBe(2);
          const line = argv.includes('--json')
            ? (({ code, message }) => `${code}: ${message}`)(
                JSON.parse(run.out[0]!) as Record<string, string>,
              )
            : run.err[0];
          expect(run.err.length + run.out.length, argv.join(' ')).toBe(1);
          expect(line, argv.join(' ')).toMatch(
            new RegExp(`^FORGE_CLI_UNSUPPORTED_OPTION: ${escape(first.option)} cannot be honoured`),
          );
        } else {
          expect(said, argv.join(' ')).not.toContain('FORGE_CLI_UNSUPPORTED_OPTION');
        }
      }
    }, 240_000);
  }
});

describe('forgeone run: options refused, not ignored', () => {
  it('refuses --policy on the wasmer backend before the guest runs', async () => {
    writeFileSync(
      join(dir, 'hi.wat'),
      `(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
         (memory (export "memory") 1) (data (i32.const 100) "hi\\n")
         (func (export "_start") (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 3))
           (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`,
    );
    const run = await cli(
      ['run', 'hi.wat', '--backend', 'wasmer', '--policy', 'policy.yaml', '--mode', 'enforce'],
      dir,
    );
    expect(run.code).toBe(2);
    expect(run.out).toEqual([]);
    expect(run.err).toEqual([
      expect.stringMatching(
        /^FORGE_CLI_UNSUPPORTED_OPTION: --policy cannot be honoured with --backend wasmer: /,
      ),
    ]);
  });

  it('refuses --root on a raw module, where nothing would use it', async () => {
    for (const flags of [['--root', 'root.json']]) {
      const run = await cli(['run', 'guest.wat', ...flags], dir);
      expect(run.code).toBe(2);
      expect(run.err[0]).toMatch(new RegExp(`^FORGE_CLI_UNSUPPORTED_OPTION: ${flags[0]} cannot be honoured`));
    }
  });

  it('parses every numeric flag as a decimal integer in its range', async () => {
    for (const [flag, value, why] of [
      ['--memory-pages', '1e3', /decimal digits/],
      ['--memory-pages', '0x10', /decimal digits/],
      ['--timeout', '1e12', /decimal digits/],
      ['--timeout', '1.5', /decimal digits/],
      ['--timeout', ' 5', /decimal digits/],
      ['--timeout', '-1', /decimal digits/],
      ['--timeout', '0', /--timeout must be ≥ 1, got 0/],
      ['--timeout', '3600001', /--timeout must be ≤ 3600000/],
      ['--memory-pages', '65537', /--memory-pages must be ≤ 65536/],
    ] as const) {
      const run = await cli(['run', 'guest.wat', flag, value], dir);
      expect(run.code, `${flag} ${value}`).toBe(2);
      expect(run.err[0]).toMatch(/^FORGE_CLI_USAGE: /);
      expect(run.err[0]).toMatch(why);
    }
    const ok = await cli(
      ['run', 'guest.wat', '--isolation', 'inline', '--memory-pages', '1000', '--timeout', '0500'],
      dir,
    );
    expect(ok.code, ok.err.join('\n')).toBe(0);
  });

  it('takes a --dir guest path only in canonical form, and names that form', async () => {
    for (const [guest, canonical] of [
      ['/data/..', "write it as '/'"],
      ['/data/../etc', "write it as '/etc'"],
      ['/data/', "write it as '/data'"],
      ['//data', "write it as '/data'"],
      ['/data/./x', "write it as '/data/x'"],
      ['data', 'an absolute path'],
    ]) {
      const run = await cli(['run', 'guest.wat', '--dir', `${data}:${guest}:ro`], dir);
      expect(run.code, guest).toBe(2);
      expect(run.err).toHaveLength(1);
      expect(run.err[0]).toContain(
        `FORGE_CLI_USAGE: --dir guest path '${guest}' is not canonical: ${canonical}`,
      );
    }
    const ok = await cli(['run', 'guest.wat', '--isolation', 'inline', '--dir', `${data}:/data:ro`], dir);
    expect(ok.code, ok.err.join('\n')).toBe(0);
  });
});
