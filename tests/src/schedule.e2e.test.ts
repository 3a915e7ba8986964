import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, repoRoot } from './support/cli';

const scratch = mkdtempSync(join(tmpdir(), 'forgeone-schedule-'));
const hello = resolve(repoRoot, 'examples/hello/hello.wat');
const file = (name: string, content: string) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};
/** A WASI command that exits with code 3. */
file(
  'exit3.wat',
  `(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const 3))))`,
);
/** A module that traps. */
file('trap.wat', '(module (func (export "_start") unreachable))');

interface ScheduleJson {
  ok: boolean;
  workloads: Array<{
    name: string;
    state: string;
    startOrder: number | null;
    exitCode: number | null;
    waitedMs: number;
    reason?: string;
  }>;
}

const byName = (report: ScheduleJson) => Object.fromEntries(report.workloads.map((w) => [w.name, w]));

/** One line on stderr, `CODE: <file>:<line>:...`, no stack, exit 1, and no guest ran. */
function expectRefusal(
  run: { code: number | null; stdout: string; stderr: string },
  code: string,
  where: RegExp,
) {
  expect(run.code).toBe(1);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${code}: `));
  expect(lines[0]).toMatch(where);
  expect(run.stdout).not.toContain('Hello');
  expect(hasStackTrace(run.stderr + run.stdout)).toBe(false);
}

const good = `workloads:
  - name: fails
    module: exit3.wat
    allow: wasi.proc_exit
    tenant: team-b
  - name: setup
    module: ${hello}
    priority: low
    tenant: team-a
    allow: [forge.log]
  - name: build
    module: ${hello}
    priority: critical
    tenant: team-a
    dependsOn: [setup]
    allow: forge.log,forge.clock_now
    timeout: 10000
    memoryPages: 16
  - name: test
    module: ${hello}
    priority: high
    dependsOn: [build]
    allow: [forge.log]
    args: [--fast, 1]
  - name: lint
    module: ${hello}
    priority: background
    tenant: team-b
  - name: report
    module: ${hello}
    dependsOn: [fails]
  - name: publish
    module: ${hello}
    priority: critical
    dependsOn: [report, test]
`;

describe('forgeone schedule (end to end)', () => {
  it('runs a file with priorities, tenants and a dependency chain; a failing dependency cancels its dependents', () => {
    const run = forgeone(['schedule', file('good.yaml', good), '--concurrency', '1', '--json']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as ScheduleJson;
    expect(report.ok).toBe(false);
    expect(report.workloads.map((w) => w.name)).toEqual([
      'fails',
      'setup',
      'build',
      'test',
      'lint',
      'report',
      'publish',
    ]);
    const w = byName(report);
    // Ready at once: fails (normal), setup (low), lint (background); build and test follow setup
    // and outrank lint as soon as they are ready.
    expect(w.fails).toMatchObject({
      state: 'failed',
      startOrder: 1,
      exitCode: 3,
      reason: 'exited with code 3',
    });
    expect(w.setup).toMatchObject({ state: 'succeeded', startOrder: 2, exitCode: 0 });
    expect(w.build).toMatchObject({ state: 'succeeded', startOrder: 3, exitCode: 0 });
    expect(w.test).toMatchObject({ state: 'succeeded', startOrder: 4, exitCode: 0 });
    expect(w.lint).toMatchObject({ state: 'succeeded', startOrder: 5, exitCode: 0 });
    expect(w.report).toMatchObject({
      state: 'cancelled',
      startOrder: null,
      exitCode: null,
      reason: "dependency 'fails' failed (exited with code 3)",
    });
    expect(w.publish).toMatchObject({
      state: 'cancelled',
      startOrder: null,
      reason: "dependency 'report' was cancelled (dependency 'fails' failed (exited with code 3))",
    });
    for (const workload of report.workloads) expect(workload.waitedMs).toBeGreaterThanOrEqual(0);
    // The last to start waited for every one before it.
    expect(w.lint!.waitedMs).toBeGreaterThanOrEqual(w.setup!.waitedMs);
  });

  it('prints each workload with its state, start order, exit code and wait, and the guests’ output by name', () => {
    const run = forgeone(['schedule', file('text.yaml', good), '--concurrency', '2']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('[build] Hello from a ForgeOne guest!');
    expect(run.stdout).toMatch(/\[build\] unix time: \d+/);
    expect(run.stdout).toContain(
      '--- schedule: 4 succeeded, 1 failed, 2 cancelled (policy priority, concurrency 2) ---',
    );
    expect(run.stdout).toMatch(/^fails\s+failed\s+start #\d\s+exit 3\s+waited \d+ms {2}exited with code 3$/m);
    expect(run.stdout).toMatch(
      /^publish\s+cancelled\s+start -\s+exit -\s+waited \d+ms {2}dependency 'report' was cancelled/m,
    );
  });

  it('exits 0 when every workload succeeded, and honours --policy', () => {
    const fair = `workloads:
${['a1', 'a2', 'a3', 'b1', 'b2', 'b3']
  .map((name) => `  - name: ${name}\n    module: ${hello}\n    tenant: ${name[0]}\n    allow: forge.log`)
  .join('\n')}
`;
    const path = file('fair.yaml', fair);
    const order = (policy: string) => {
      const run = forgeone(['schedule', path, '--policy', policy, '--concurrency', '1', '--json']);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as ScheduleJson;
      expect(report.ok).toBe(true);
      return [...report.workloads].sort((x, y) => x.startOrder! - y.startOrder!).map((w) => w.name);
    };
    expect(order('fifo')).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3']);
    expect(order('fair-share')).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
  });

  it('refuses a file with more workloads than the queue holds (backpressure), running none', () => {
    const three = `workloads:\n${['a', 'b', 'c'].map((n) => `  - name: ${n}\n    module: ${hello}\n    allow: forge.log`).join('\n')}\n`;
    const run = forgeone(['schedule', file('three.yaml', three), '--queue-depth', '2']);
    expectRefusal(run, 'FORGE_SCHEDULER_QUEUE_FULL', /three\.yaml: .*3 workloads.*--queue-depth 2/);
  });

  describe('a bad file: one line naming the problem with file and line, a code, nothing run', () => {
    const bad = (name: string, body: string) =>
      file(name, `workloads:\n  - name: ok\n    module: ${hello}\n${body}`);

    it('a cycle, named', () => {
      const path = bad(
        'cycle.yaml',
        `  - name: a\n    module: ${hello}\n    dependsOn: [b]\n  - name: b\n    module: ${hello}\n    dependsOn: [a]\n`,
      );
      const run = forgeone(['schedule', path]);
      expectRefusal(
        run,
        'FORGE_SCHEDULER_CYCLE',
        /cycle\.yaml:6:\d+: workloads\[1\]\.dependsOn: .*a → b → a/,
      );
    });

    it('an unknown dependency', () => {
      const run = forgeone([
        'schedule',
        bad('unknown.yaml', `  - name: a\n    module: ${hello}\n    dependsOn: [ok, ghost]\n`),
      ]);
      expectRefusal(
        run,
        'FORGE_SCHEDULER_UNKNOWN_DEPENDENCY',
        /unknown\.yaml:6:\d+: workloads\[1\]\.dependsOn\[1\]: .*'ghost'/,
      );
    });

    it('a duplicate name', () => {
      const run = forgeone(['schedule', bad('dup.yaml', `  - name: ok\n    module: ${hello}\n`)]);
      expectRefusal(run, 'FORGE_SCHEDULER_DUPLICATE', /dup\.yaml:4:\d+: workloads\[1\]\.name: workload 'ok'/);
    });

    it('an unknown priority', () => {
      const run = forgeone([
        'schedule',
        bad('prio.yaml', `  - name: a\n    module: ${hello}\n    priority: urgent\n`),
      ]);
      expectRefusal(
        run,
        'FORGE_SCHEDULE_FILE_INVALID',
        /prio\.yaml:6:15: workloads\[1\]\.priority: .*critical/,
      );
    });

    it('an unknown field', () => {
      const run = forgeone([
        'schedule',
        bad('field.yaml', `  - name: a\n    module: ${hello}\n    retries: 3\n`),
      ]);
      expectRefusal(
        run,
        'FORGE_SCHEDULE_FILE_INVALID',
        /field\.yaml:6:\d+: workloads\[1\]\.retries: unknown field/,
      );
    });

    it('a module that is missing', () => {
      const run = forgeone(['schedule', bad('missing.yaml', `  - name: a\n    module: nowhere.wat\n`)]);
      expectRefusal(
        run,
        'FORGE_SCHEDULE_MODULE_MISSING',
        /missing\.yaml:5:13: workload 'a': module .*nowhere\.wat does not exist/,
      );
    });

    it('a workload without a module, an unknown syscall, a directory that does not exist, and text that is not YAML', () => {
      expectRefusal(
        forgeone(['schedule', bad('nomodule.yaml', `  - name: a\n    tenant: x\n`)]),
        'FORGE_SCHEDULE_FILE_INVALID',
        /nomodule\.yaml:4:\d+: workloads\[1\]: workload 'a' needs exactly one of module/,
      );
      expectRefusal(
        forgeone([
          'schedule',
          bad('allow.yaml', `  - name: a\n    module: ${hello}\n    allow: [forge.lgo]\n`),
        ]),
        'FORGE_POLICY_UNKNOWN_SYSCALL',
        /allow\.yaml:6:\d+: workloads\[1\]\.allow: .*forge\.lgo/,
      );
      expectRefusal(
        forgeone([
          'schedule',
          bad('dir.yaml', `  - name: a\n    module: ${hello}\n    dir: ['./not-there:/data']\n`),
        ]),
        'FORGE_VFS_HOST_DIR_INVALID',
        /dir\.yaml:6:\d+: workload 'a': .*not-there is not a directory/,
      );
      expectRefusal(
        forgeone(['schedule', file('notyaml.yaml', 'workloads: [\n')]),
        'FORGE_SCHEDULE_FILE_INVALID',
        /notyaml\.yaml:2:\d+: not valid YAML/,
      );
    });

    it('a bad flag is a usage error (exit 2)', () => {
      const run = forgeone(['schedule', bad('flag.yaml', ''), '--policy', 'lottery']);
      expect(run.code).toBe(2);
      expect(run.stderr.trim()).toMatch(/^FORGE_CLI_USAGE: .*lottery/);
    });
  });
});
