import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Socket, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@forgeone/interface';
import { runCli } from '../cli';
import type { InterruptHandler } from '../cliIo';
import { startDaemon, type TestDaemon } from './support/remoteDaemon';

const cliMain = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');

/** A command: one call of forge.clock_now, then it returns (exit 0). */
const COMMAND = `(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $now (i32.const 8)))))`;
/** A command that exits with code 7. */
const EXIT7 = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 7))))`;
/** A service: an export to call. */
const SERVICE = `(module
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`;
/** What drives a terminal: ESC, BEL, C1 CSI, a bidi override. */
const HOSTILE = '\\e]0;pwned\\a \\u009b31m \\u202e tail';
// eslint-disable-next-line no-control-regex -- the test looks for the raw characters
const RAW_CONTROL = /[\u001b\u0007\u009b\u202e]/;
/** A policy whose quarantine reason (the rule's message, the daemon's text) holds terminal controls. */
const HOSTILE_POLICY = `apiVersion: forgeone.dev/v1
kind: Policy
metadata: { name: hostile, version: '1.0.0' }
spec:
  entry: base
  nodes:
    - name: base
      rules:
        - id: trap
          action: quarantine
          message: "evil ${HOSTILE}"
          match: { syscall: forge.clock_now }
`;

let daemon: TestDaemon;
let dir: string;

beforeAll(async () => {
  daemon = await startDaemon();
  dir = mkdtempSync(join(tmpdir(), 'forgeone-remote-cli-'));
  writeFileSync(join(dir, 'command.wat'), COMMAND);
  writeFileSync(join(dir, 'exit7.wat'), EXIT7);
  writeFileSync(join(dir, 'service.wat'), SERVICE);
  writeFileSync(join(dir, 'hostile.yaml'), HOSTILE_POLICY);
});
afterAll(async () => {
  expect(await daemon.stop()).toBe(0);
});

/** Runs `forgeone <argv>` in-process; `onInterrupt` handlers are kept, so a test can stop a follow. */
async function cli(
  argv: string[],
  env: Record<string, string> = {},
  handlers: InterruptHandler[] = [],
  out: string[] = [],
) {
  const err: string[] = [];
  const code = await runCli(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    json: argv.includes('--json'),
    env: (n) => env[n],
    cwd: dir,
    onInterrupt: (h) => handlers.push(h),
  });
  return { code, out, err };
}

const as = (role: 'viewer' | 'operator' | 'admin') => [
  '--remote',
  daemon.url,
  '--token-file',
  daemon.tokenFiles[role],
];

describe('forgeone --remote: the CLI talks to a real forgeoned through the typed client', () => {
  it('runs a development module, waits for it, and reports its calls and exit code', async () => {
    const ran = await cli([...as('operator'), 'run', 'command.wat', '--allow', 'forge.clock_now']);
    expect(ran.err).toEqual([]);
    expect(ran.code).toBe(0);
    expect(ran.out[0]).toBe('--- trace: 1 call(s), 0 denied ---');
    expect(ran.out[1]).toMatch(/^#1 +forge\.clock_now +allow +-> 0 /);
    expect(ran.out.at(-1)).toMatch(/^--- ctr_\w+ +stopped +command .* exit 0 ---$/);

    // The guest's exit code is the command's, as with a local run; deny by default.
    const seven = await cli([...as('operator'), 'run', 'exit7.wat', '--allow', 'wasi.proc_exit', '--json']);
    expect(seven.code).toBe(7);
    expect(JSON.parse(seven.out[0]!)).toMatchObject({ ok: false, state: 'stopped', exitCode: 7 });
    const denied = await cli([...as('operator'), 'run', 'command.wat']);
    expect(denied.out[0]).toBe('--- trace: 1 call(s), 1 denied ---');
  });

  it('calls a service export, then ps, trace and logs show it; pause, resume and stop drive one', async () => {
    const called = await cli([
      ...as('operator'),
      'run',
      'service.wat',
      '--call',
      'add',
      '--args',
      '20',
      'i32:22',
      '--name',
      'adder',
    ]);
    expect(called.code).toBe(0);
    expect(called.out).toContain('=> i32 42');
    const ps = await cli([...as('viewer'), 'ps', '--state', 'stopped', '--json']);
    const listed = JSON.parse(ps.out[0]!) as { containers: Array<{ id: string; name: string }> };
    expect(listed.containers.map((c) => c.name)).toContain('adder');

    const operator = createClient({ url: daemon.url, token: readToken('operator') });
    const { id } = await operator.call('launchContainer', {
      body: {
        module: Buffer.from(SERVICE).toString('base64'),
        kind: 'service',
        policy: { mode: 'enforce', allow: [] },
      },
    });
    expect((await cli([...as('operator'), 'pause', id])).out).toEqual([`paused ${id} (paused)`]);
    expect((await cli([...as('operator'), 'resume', id])).out).toEqual([`resumed ${id} (running)`]);
    const stopped = await cli([...as('operator'), 'stop', id, '--json']);
    expect(JSON.parse(stopped.out[0]!)).toMatchObject({ ok: true, container: { id, state: 'stopped' } });
    const text = await cli([...as('viewer'), 'ps']);
    expect(text.out.find((l) => l.startsWith(id))).toMatch(/ stopped +service /);

    const first = (await cli([...as('viewer'), 'ps', '--json'])).out[0]!;
    const command = (
      JSON.parse(first) as { containers: Array<{ id: string; kind: string }> }
    ).containers.find((c) => c.kind === 'command')!;
    const trace = await cli([...as('viewer'), 'trace', command.id]);
    expect(trace.code).toBe(0);
    expect(trace.out[0]).toBe(`--- trace of ${command.id}: 1 call(s) ---`);
    expect(trace.out[1]).toMatch(/forge\.clock_now/);
    const logs = await cli([...as('viewer'), 'logs', command.id, '--json']);
    expect(JSON.parse(logs.out[0]!).calls).toHaveLength(1);
  });

  it('escapes what the daemon says: a hostile policy message in run, quarantine and events output', async () => {
    const ran = await cli([...as('operator'), 'run', 'command.wat', '--policy', 'hostile.yaml']);
    expect(ran.code).toBe(3);
    const id = /ctr_\w+/.exec(ran.out.at(-1)!)![0];
    expect(ran.err).toEqual([
      expect.stringMatching(/^FORGE_CONTAINER_QUARANTINED: container ctr_\w+ is held/),
    ]);
    const ls = await cli([...as('viewer'), 'quarantine', 'ls']);
    const show = await cli([...as('viewer'), 'quarantine', 'show', id, '--json']);
    const events = await cli([
      ...as('viewer'),
      'events',
      '--since',
      '0',
      '--types',
      'quarantine.recorded',
      '--max',
      '1',
    ]);
    for (const output of [ran.out, ls.out, show.out, events.out]) {
      expect(output.join('\n')).not.toMatch(RAW_CONTROL);
      expect(output.join('\n')).toContain('evil \\u001b]0;pwned\\u0007 \\u009b31m \\u202e tail');
    }
    // The JSON output is still JSON, with the daemon's value.
    expect(JSON.parse(show.out[0]!).record.reason).toBe('evil \u001b]0;pwned\u0007 \u009b31m \u202e tail');
    // The record is ended with the local command's words.
    const terminated = await cli([...as('operator'), 'quarantine', 'terminate', id, '--reason', 'test']);
    expect(terminated.out[0]).toBe(`terminated ${id}`);
    expect(
      (await cli([...as('viewer'), 'quarantine', 'ls', '--status', 'active'])).out.join('\n'),
    ).not.toContain(id);
  });

  it('follows events until interrupted, and resumes after the last one with Last-Event-ID through a cut connection', async () => {
    // A real TCP relay in front of the daemon, cut after the first event passed.
    const target = new URL(daemon.url);
    const sockets: Socket[] = [];
    const relay: Server = createServer((client) => {
      const upstream = new Socket();
      sockets.push(client, upstream);
      upstream.connect(Number(target.port), target.hostname, () => {
        client.pipe(upstream);
        upstream.on('data', (chunk: Buffer) => {
          client.write(chunk);
        });
      });
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    await new Promise<void>((done) => relay.listen(0, '127.0.0.1', done));
    const relayUrl = `http://127.0.0.1:${(relay.address() as { port: number }).port}`;
    const handlers: InterruptHandler[] = [];
    const printed: string[] = [];
    const following = cli(
      [
        '--remote',
        relayUrl,
        '--token-file',
        daemon.tokenFiles.viewer,
        'events',
        '--types',
        'container.state',
        '--json',
      ],
      {},
      handlers,
      printed,
    );
    const operator = createClient({ url: daemon.url, token: readToken('operator') });
    const launch = () =>
      operator.call('launchContainer', {
        body: {
          module: Buffer.from(SERVICE).toString('base64'),
          kind: 'service',
          policy: { mode: 'enforce', allow: [] },
        },
      });
    await until(() => handlers.length > 0);
    await new Promise((done) => setTimeout(done, 300)); // the stream is connected
    const a = await launch();
    await until(() => printed.length >= 3);
    for (const socket of sockets) socket.destroy(); // cut: the CLI reconnects with Last-Event-ID
    const b = await launch();
    await operator.call('stopContainer', { params: { id: b.id } });
    await until(() => printed.length >= 8);
    await new Promise((done) => setTimeout(done, 300));
    await handlers[0]!.stop('SIGINT');
    const { code, out, err } = await following;
    relay.close();
    for (const socket of sockets) socket.destroy();
    expect(code).toBe(0);
    expect(err.some((l) => /^note: .*reconnecting after event \d+/.test(l))).toBe(true);
    const seen = out.map(
      (l) => JSON.parse(l) as { id: string; data: { containerId: string; state: string } },
    );
    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length); // nothing twice
    expect(seen.filter((e) => e.data.containerId === a.id).map((e) => e.data.state)).toEqual([
      'created',
      'starting',
      'running',
    ]);
    expect(seen.filter((e) => e.data.containerId === b.id).map((e) => e.data.state)).toEqual([
      'created',
      'starting',
      'running',
      'stopping',
      'stopped',
    ]);
    expect(handlers[0]!.summary()).toMatch(/^\d+ event\(s\) printed/);
  });

  it('tails the audit log', async () => {
    const tail = await cli([...as('viewer'), 'audit', 'tail', '-n', '3']);
    expect(tail.code).toBe(0);
    expect(tail.out).toHaveLength(3);
    const seqs = tail.out.map((l) => Number(/^#(\d+) /.exec(l)![1]));
    expect(seqs[1]).toBe(seqs[0]! + 1);
    const json = await cli([...as('viewer'), 'audit', 'tail', '-n', '1', '--json']);
    expect(JSON.parse(json.out[0]!)).toMatchObject({ ok: true, seq: seqs[2] });
  });

  it("turns the daemon's refusals into one coded line: 401, 403, 404", async () => {
    const none = await cli(['--remote', daemon.url, 'ps']);
    expect(none.code).toBe(1);
    expect(none.err).toEqual([
      expect.stringMatching(/^FORGE_API_UNAUTHENTICATED: .*\(HTTP 401 from http:\/\/127\.0\.0\.1:\d+\)/),
    ]);
    const viewer = await cli([...as('viewer'), 'stop', 'ctr_00000000000000000000000000']);
    expect(viewer.err).toEqual([expect.stringMatching(/^FORGE_API_FORBIDDEN: .*HTTP 403/)]);
    const missing = await cli([...as('operator'), 'stop', 'ctr_00000000000000000000000000']);
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual([expect.stringMatching(/^FORGE_CONTAINER_NOT_FOUND: .*HTTP 404/)]);
    const record = await cli([...as('operator'), 'quarantine', 'release', 'ctr_00000000000000000000000000']);
    expect(record.err).toEqual([expect.stringMatching(/^FORGE_\w+: .*HTTP 404/)]);
    const pkg = await cli([...as('operator'), 'run', 'nothing@1.0.0']);
    expect(pkg.err).toEqual([expect.stringMatching(/^FORGE_\w+: .*HTTP 4\d\d/)]);
    // The token from the environment, and the flag over it.
    const env = await cli(['--remote', daemon.url, 'ps'], { FORGEONE_TOKEN: readToken('viewer') });
    expect(env.code).toBe(0);
    const over = await cli(['--remote', daemon.url, '--token-file', daemon.tokenFiles.viewer, 'ps'], {
      FORGEONE_TOKEN: 'fo1_not_a_real_token_at_all',
    });
    expect(over.code).toBe(0);
  });

  it('refuses what it cannot honour, before anything is sent', async () => {
    const wasmer = await cli(['run', 'command.wat', '--backend', 'wasmer', ...as('operator')]);
    expect(wasmer.code).toBe(2);
    expect(wasmer.err).toEqual([
      expect.stringMatching(/^FORGE_CLI_UNSUPPORTED_OPTION: --backend cannot be honoured with --remote: /),
    ]);
    for (const flags of [
      ['--dir', `${dir}:/data`],
      ['--state', dir],
      ['--kv', 'ns'],
      ['--', 'guest-arg'],
    ]) {
      const refused = await cli([...as('operator'), 'run', 'command.wat', ...flags]);
      expect(refused.err, flags.join(' ')).toEqual([
        expect.stringMatching(/^FORGE_CLI_UNSUPPORTED_OPTION: /),
      ]);
    }
    const by = await cli([
      ...as('operator'),
      'quarantine',
      'release',
      'ctr_00000000000000000000000000',
      '--by',
      'me',
    ]);
    expect(by.err).toEqual([expect.stringMatching(/^FORGE_CLI_UNSUPPORTED_OPTION: --by /)]);
    const pack = await cli([...as('operator'), 'pack', 'x']);
    expect(pack.code).toBe(2);
    expect(pack.err).toEqual([expect.stringMatching(/^FORGE_CLI_NO_REMOTE_FORM: `forgeone pack` /)]);
    const verify = await cli([...as('operator'), 'audit', 'verify', '--store', 'x.db']);
    expect(verify.err).toEqual([
      expect.stringMatching(/^FORGE_CLI_NO_REMOTE_FORM: `forgeone audit verify` /),
    ]);
    // $FORGEONE_URL alone leaves local work local: the local audit verify answers.
    const local = await cli(['audit', 'verify', '--store', 'x.db'], { FORGEONE_URL: daemon.url });
    expect(local.err).toEqual([expect.stringMatching(/^FORGE_AUDIT_STORE_NOT_FOUND: /)]);
    const noDaemon = await cli(['ps']);
    expect(noDaemon.err).toEqual([expect.stringMatching(/^FORGE_CLI_REMOTE_REQUIRED: /)]);
    expect((await cli(['--token', 'fo1_abc', 'ps'])).err).toEqual([
      expect.stringMatching(/^FORGE_CLI_TOKEN_ON_COMMAND_LINE: /),
    ]);

    const open = join(dir, 'open.token');
    writeFileSync(open, readToken('viewer'));
    chmodSync(open, 0o640);
    const insecure = await cli(['--remote', daemon.url, '--token-file', open, 'ps']);
    expect(insecure.err).toEqual([
      expect.stringMatching(/^FORGE_CLI_TOKEN_FILE_INSECURE: .*mode 640.*chmod 600/),
    ]);
    const bad = await cli(['--remote', 'ftp://127.0.0.1/', 'ps']);
    expect(bad.err).toEqual([expect.stringMatching(/^FORGE_API_CLIENT_URL_INVALID: /)]);
    const creds = await cli(['--remote', 'http://me:secret@127.0.0.1:1', 'ps']);
    expect(creds.err).toEqual([expect.stringMatching(/^FORGE_API_CLIENT_URL_INVALID: .*credentials/)]);
  });

  it('a refused connection and a silent server are one coded line each', async () => {
    const silent = createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const port = (silent.address() as { port: number }).port;
    const slow = await cli(['--remote', `http://127.0.0.1:${port}`, '--remote-timeout', '300', 'ps'], {
      FORGEONE_TOKEN: readToken('viewer'),
    });
    silent.close();
    expect(slow.code).toBe(1);
    expect(slow.err).toEqual([
      expect.stringMatching(/^FORGE_API_TIMEOUT: http:\/\/127\.0\.0\.1:\d+ did not answer within 300 ms/),
    ]);
    // The port is free now: nothing listens there.
    await new Promise((done) => setTimeout(done, 50));
    const refused = await cli(['--remote', `http://127.0.0.1:${port}`, 'ps']);
    expect(refused.err).toEqual([
      expect.stringMatching(/^FORGE_API_UNREACHABLE: cannot reach .*connection refused/),
    ]);
  });

  it('works as a process: the built binary, with the environment', () => {
    const run = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [cliMain, ...args], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, FORGEONE_URL: daemon.url, ...env },
        timeout: 60_000,
      });
    const ps = run(['ps', '--json'], { FORGEONE_TOKEN: readToken('viewer') });
    expect(ps.stderr).toBe('');
    expect(ps.status).toBe(0);
    expect(JSON.parse(ps.stdout).containers.length).toBeGreaterThan(0);
  });

  it('a 429 from the daemon is one coded line with when to come back', async () => {
    // Failed authentications from one address are limited (10 a minute).
    let last = await cli(['--remote', daemon.url, 'ps'], { FORGEONE_TOKEN: 'fo1_wrongwrongwrong' });
    for (let i = 0; i < 12 && last.err[0]?.startsWith('FORGE_API_UNAUTHENTICATED'); i += 1)
      last = await cli(['--remote', daemon.url, 'ps'], { FORGEONE_TOKEN: 'fo1_wrongwrongwrong' });
    expect(last.code).toBe(1);
    expect(last.err).toEqual([
      expect.stringMatching(/^FORGE_API_RATE_LIMITED: .*HTTP 429.*retry after \d+ s/),
    ]);
  });
});

function readToken(role: 'viewer' | 'operator' | 'admin'): string {
  return readFileSync(daemon.tokenFiles[role], 'utf8').trim();
}

async function until(test: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((done) => setTimeout(done, 20));
  }
}
