import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type ContainerId, type KernelEvents } from '@forgeone/common';
import { startDaemon, type RunningDaemon } from '../daemon';
import { choosePolicyFile } from '../policyDirectory';

type Reload = KernelEvents['config.reload'];

/** A service whose `probe(k)` calls forge.clock_now k times and answers how many were refused. */
const PROBE = new TextEncoder().encode(`(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "probe") (param $k i32) (result i32) (local $refused i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $k)))
      (if (i32.ne (call $now (i32.const 8)) (i32.const 0))
        (then (local.set $refused (i32.add (local.get $refused) (i32.const 1)))))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br $again)))
    (local.get $refused)))`);

const policyYaml = (action: 'allow' | 'deny') => `apiVersion: forgeone.dev/v1
kind: Policy
metadata: { name: clock-${action} }
spec:
  nodes:
    - name: base
      rules:
        - { id: clock-${action}, action: ${action}, match: { syscall: forge.clock_now } }
`;

const quiet = createLogger({ name: 'forgeoned-test', level: 'silent' });
const running: RunningDaemon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop('test over')));
});

function dirs() {
  const root = mkdtempSync(join(tmpdir(), 'forgeoned-reload-'));
  const policyDir = join(root, 'policies');
  const configFile = join(root, 'forgeone.yaml');
  return { root, policyDir, configFile };
}

/** The next `config.reload` event that `match` accepts (rejects after `ms`: no test hangs). */
function nextReload(daemon: RunningDaemon, match: (e: Reload) => boolean, ms = 10_000): Promise<Reload> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      off();
      fail(new Error('no matching config.reload event'));
    }, ms);
    const off = daemon.kernel.events.on('config.reload', (event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      off();
      done(event);
    });
  });
}

async function refused(daemon: RunningDaemon, id: ContainerId, k: number): Promise<number> {
  const result = await daemon.kernel.runtime.invoke(id, 'probe', [{ type: 'i32', value: k }]);
  expect(result.outcome.status).toBe('returned');
  return Number((result.values[0] as { value: number }).value);
}

describe('the policy directory rule', () => {
  it('takes the highest policy.<N> file, its cases file, and refuses none or a tie', async () => {
    const { policyDir } = dirs();
    mkdirSync(policyDir);
    await expect(choosePolicyFile(policyDir)).rejects.toMatchObject({ code: 'FORGE_POLICY_DIR_INVALID' });
    writeFileSync(join(policyDir, 'policy.yaml'), policyYaml('allow'));
    writeFileSync(join(policyDir, 'notes.yaml'), 'x');
    expect(await choosePolicyFile(policyDir)).toMatchObject({ version: 0, tests: undefined });
    writeFileSync(join(policyDir, 'policy.2.yaml'), policyYaml('allow'));
    writeFileSync(join(policyDir, 'policy.10.json'), '{}');
    writeFileSync(join(policyDir, 'policy.10.cases.yaml'), '');
    expect(await choosePolicyFile(policyDir)).toMatchObject({
      file: join(policyDir, 'policy.10.json'),
      version: 10,
      tests: join(policyDir, 'policy.10.cases.yaml'),
    });
    writeFileSync(join(policyDir, 'policy-10.yaml'), policyYaml('allow'));
    await expect(choosePolicyFile(policyDir)).rejects.toMatchObject({ code: 'FORGE_POLICY_DIR_INVALID' });
  });
});

describe('forgeoned hot reload (in process, real files and watchers)', () => {
  it('a new policy file decides the next calls of running inline and worker containers; a bad one is refused', async () => {
    const { policyDir } = dirs();
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, 'policy.1.yaml'), policyYaml('allow'));
    const daemon = await startDaemon({
      host: '127.0.0.1',
      port: 0,
      policyDir,
      logger: quiet,
      debounceMs: 20,
    });
    running.push(daemon);
    expect(daemon.kernel.policies?.version).toBe(1);
    const inline = await daemon.kernel.runtime.launchContainer({ source: PROBE, isolation: 'inline' });
    const worker = await daemon.kernel.runtime.launchContainer({ source: PROBE, isolation: 'worker' });
    expect(await refused(daemon, inline, 300)).toBe(0);
    expect(await refused(daemon, worker, 300)).toBe(0);

    const swapped = nextReload(daemon, (e) => e.applied && e.version === 2);
    writeFileSync(join(policyDir, 'policy.2.yaml'), policyYaml('deny'));
    expect(await swapped).toMatchObject({
      applied: true,
      source: join(policyDir, 'policy.2.yaml'),
      changed: ['policy'],
    });
    expect(await refused(daemon, inline, 1)).toBe(1);
    expect(await refused(daemon, worker, 1)).toBe(1);

    const refusal = nextReload(daemon, (e) => !e.applied);
    writeFileSync(join(policyDir, 'policy.3.yaml'), 'apiVersion: forgeone.dev/v1\nkind: Policy\nspec: {}\n');
    expect(await refusal).toMatchObject({ applied: false, code: 'FORGE_POLICY_SWAP_REFUSED' });
    expect(daemon.kernel.policies?.version).toBe(2);
    expect(await refused(daemon, inline, 5)).toBe(5);
    expect(await refused(daemon, worker, 5)).toBe(5);

    // Rolled back by deleting the bad file: version 2's document again, no new version.
    const back = nextReload(daemon, (e) => e.applied);
    rmSync(join(policyDir, 'policy.3.yaml'));
    expect(await back).toMatchObject({ applied: true, version: 2, changed: [] });
  });

  it('keeps the configuration history in its data dir; a restart with a changed file applies it as the next version', async () => {
    const { root, configFile } = dirs();
    const dataDir = join(root, 'data');
    const start = () =>
      startDaemon({
        host: '127.0.0.1',
        port: 0,
        dataDir,
        configFile,
        env: {},
        logger: quiet,
        debounceMs: 20,
      });
    writeFileSync(configFile, 'limits: { timeoutMs: 2000 }\n');
    const first = await start();
    expect(first.kernel.runtime.limits.timeoutMs).toBe(2000);
    await first.stop('restart');
    writeFileSync(configFile, 'limits: { timeoutMs: 3000 }\n');
    const second = await start();
    running.push(second);
    // The file wins over the stored head, and the change is one more durable version.
    expect(second.kernel.runtime.limits.timeoutMs).toBe(3000);
    const context = second.kernel.configContext as unknown as {
      history(path?: string): Promise<{ version: number; reason: string }[]>;
    };
    const history = await context.history('limits.timeoutMs');
    expect(history.map((entry) => entry.version)).toEqual([1, 2]);
    expect(history[1]?.reason).toMatch(/daemon start/);
  });

  it('a config file with bad limits is refused whole with an event; budgets shrink live without stopping anything', async () => {
    const { policyDir, configFile } = dirs();
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, 'policy.yaml'), policyYaml('allow'));
    writeFileSync(
      configFile,
      'mode: enforce\nlimits: { timeoutMs: 2000 }\nresources: { containersPerIdentity: 4 }\n',
    );
    const daemon = await startDaemon({
      host: '127.0.0.1',
      port: 0,
      configFile,
      policyDir,
      env: {},
      logger: quiet,
      debounceMs: 20,
    });
    running.push(daemon);
    expect(daemon.kernel.runtime.limits.timeoutMs).toBe(2000);
    const identity = { subject: 'tenant-a' };
    const a = await daemon.kernel.runtime.launchContainer({ source: PROBE, isolation: 'inline', identity });
    const b = await daemon.kernel.runtime.launchContainer({ source: PROBE, isolation: 'inline', identity });

    const refusal = nextReload(daemon, (e) => !e.applied);
    writeFileSync(
      configFile,
      'mode: enforce\nlimits: { timeoutMs: -5, memoryPages: 8 }\nresources: { containersPerIdentity: 4 }\n',
    );
    const event = await refusal;
    expect(event).toMatchObject({ applied: false, code: 'FORGE_CONFIG_INVALID', source: configFile });
    expect(daemon.kernel.runtime.limits.timeoutMs).toBe(2000);
    expect(daemon.kernel.runtime.limits.memoryPages).toBe(256);

    // Shrunk below what runs: the running containers go on, a new launch is refused.
    const applied = nextReload(daemon, (e) => e.applied);
    writeFileSync(
      configFile,
      'mode: audit\nlimits: { timeoutMs: 3000 }\nresources: { containersPerIdentity: 1 }\n',
    );
    expect((await applied) as Reload & { changed: string[] }).toMatchObject({
      changed: expect.arrayContaining(['mode', 'limits.timeoutMs', 'resources.containersPerIdentity']),
    });
    expect(daemon.kernel.runtime.limits.timeoutMs).toBe(3000);
    expect(daemon.kernel.runtime.mode).toBe('audit');
    await expect(
      daemon.kernel.runtime.launchContainer({ source: PROBE, isolation: 'inline', identity }),
    ).rejects.toMatchObject({
      code: 'FORGE_RESOURCE_EXHAUSTED',
      details: { budget: 'containersPerIdentity' },
    });
    expect(await refused(daemon, a, 3)).toBe(0);
    expect(await refused(daemon, b, 3)).toBe(0);
    // The live mode reached the policy: a new version in audit mode.
    expect(daemon.kernel.policies?.mode).toBe('audit');

    // More workers than the kernel's pool holds cannot be honoured live: refused whole.
    const tooMany = nextReload(daemon, (e) => !e.applied);
    writeFileSync(
      configFile,
      'mode: audit\nlimits: { timeoutMs: 9000 }\nresources: { workers: 100, containersPerIdentity: 1 }\n',
    );
    await daemon.kernel.runtime.launchContainer({
      source: PROBE,
      isolation: 'worker',
      identity: { subject: 'w' },
    });
    expect(await tooMany).toMatchObject({ applied: false, code: 'FORGE_CONFIG_CHANGE_REFUSED' });
    expect(daemon.kernel.runtime.limits.timeoutMs).toBe(3000);

    // changePolicies are read at start: a file that changes them is refused.
    const rules = nextReload(daemon, (e) => !e.applied);
    writeFileSync(configFile, 'mode: audit\nchangePolicies:\n  - { path: mode, frozen: true }\n');
    expect(await rules).toMatchObject({ applied: false, code: 'FORGE_CONFIG_POLICY_INVALID' });
  });
});

const main = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');

describe('forgeoned (child process)', () => {
  it('boots from --config and --policy-dir, and SIGHUP forces a reload of both', async () => {
    const { policyDir, configFile } = dirs();
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, 'policy.1.yaml'), policyYaml('allow'));
    writeFileSync(configFile, 'log: { level: info }\nlimits: { timeoutMs: 1500 }\n');
    const child = spawn(
      process.execPath,
      [main, '--port', '0', '--config', configFile, '--policy-dir', policyDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env['PATH'] ?? '' },
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const waitFor = (pattern: RegExp, ms = 15_000) =>
      new Promise<string>((done, fail) => {
        const started = Date.now();
        const tick = setInterval(() => {
          const line = stderr.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            clearInterval(tick);
            done(line);
          } else if (Date.now() - started > ms || child.exitCode !== null) {
            clearInterval(tick);
            fail(new Error(`no log line matching ${pattern}: ${stderr}`));
          }
        }, 20);
      });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      // Booting a child (and building its worker pool) under a loaded CI machine can take long.
      const listening = JSON.parse(await waitFor(/forgeoned listening/, 40_000)) as Record<string, unknown>;
      expect(listening).toMatchObject({ policyVersion: 1, config: configFile });
      child.kill('SIGHUP');
      const policy = JSON.parse(await waitFor(/"trigger":"SIGHUP".*policy reload applied/)) as Record<
        string,
        unknown
      >;
      expect(policy).toMatchObject({ version: 1, unchanged: true });
      expect(JSON.parse(await waitFor(/"trigger":"SIGHUP".*config reload applied/))).toMatchObject({
        changed: [],
      });
      // A bad file: the watcher refuses it, and so does a forced reload, each one line with its code.
      writeFileSync(configFile, 'log: { level: info }\nlimits: { timeoutMs: nope }\n');
      await waitFor(/"trigger":"watch".*config reload refused: FORGE_CONFIG_INVALID/);
      child.kill('SIGHUP');
      const line = await waitFor(/"trigger":"SIGHUP".*config reload refused/);
      expect(JSON.parse(line)).toMatchObject({ code: 'FORGE_CONFIG_INVALID', level: 40 });
      writeFileSync(join(policyDir, 'policy.2.yaml'), policyYaml('deny'));
      child.kill('SIGHUP');
      expect(
        JSON.parse(await waitFor(/policy reload applied.*|"version":2.*policy reload applied/)),
      ).toBeDefined();
      await waitFor(/"version":2/);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 90_000);
});
