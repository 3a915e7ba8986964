import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createToken, start } from './support/daemonProcess';

// `wait` returns after `ms` of wall-clock time (reading the clock every 100,000 turns of a busy
// loop); `spin` never returns (the call's deadline ends it, which fails the container).
const SERVICE = `(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wait") (param $ms i32) (local $end i64) (local $i i32)
    (drop (call $now (i32.const 8)))
    (local.set $end (i64.add (i64.load (i32.const 8)) (i64.mul (i64.extend_i32_u (local.get $ms)) (i64.const 1000000))))
    (loop $outer
      (local.set $i (i32.const 100000))
      (loop $inner (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $inner (local.get $i)))
      (drop (call $now (i32.const 8)))
      (br_if $outer (i64.lt_u (i64.load (i32.const 8)) (local.get $end)))))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "spin") (loop $l (br $l))))`;

const running: ReturnType<typeof start>[] = [];
afterEach(async () => {
  for (const daemon of running.splice(0)) {
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill('SIGKILL');
    await daemon.exited;
  }
});

function launch(args: string[]) {
  const daemon = start(args);
  running.push(daemon);
  return daemon;
}

async function api(base: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field in the tests
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function launchService(base: string, token: string, timeoutMs: number): Promise<string> {
  const made = await api(base, token, 'POST', '/v1/containers', {
    module: Buffer.from(SERVICE).toString('base64'),
    name: 'spinner',
    kind: 'service',
    isolation: 'worker',
    limits: { timeoutMs },
    policy: { mode: 'enforce', allow: ['forge.clock_now'] },
  });
  expect(made.status).toBe(201);
  return made.body['id'] as string;
}

/** A connection attempt: 'refused' when nothing listens any more. */
function probe(base: string): Promise<number | 'refused' | 'closed'> {
  return new Promise((done) => {
    const req = request(`${base}/v1/health`, { agent: false }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      done(error.code === 'ECONNREFUSED' ? 'refused' : 'closed'),
    );
    req.end();
  });
}

describe('forgeoned lifecycle (child processes)', () => {
  it('SIGTERM drains: refuses new connections, answers the call in progress, exits 0, and its state survives', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forgeoned-drain-'));
    const token = createToken(dataDir, 'operator');
    const daemon = launch(['--data-dir', dataDir]);
    const base = await daemon.address;
    const id = await launchService(base, token, 60_000);
    const t0 = Date.now();
    const inFlight = api(base, token, 'POST', `/v1/containers/${id}/invoke`, {
      export: 'wait',
      args: [{ type: 'i32', value: 1500 }],
    });
    await new Promise((r) => setTimeout(r, 300));
    daemon.child.kill('SIGTERM');
    // The listener is closed at once: a new client is refused while the call still runs.
    let refused: Awaited<ReturnType<typeof probe>> = 0;
    for (let i = 0; i < 50 && refused !== 'refused'; i++) {
      refused = await probe(base);
      if (refused !== 'refused') await new Promise((r) => setTimeout(r, 20));
    }
    expect(refused).toBe('refused');
    const answered = await inFlight;
    // The call ran its 1.5 s to the end, not cut by the shutdown, and was answered.
    expect(answered.status).toBe(200);
    expect(answered.body['outcome']).toMatchObject({ status: 'returned' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(await daemon.exited).toBe(0);
    expect(daemon.stderr()).toMatch(/forgeoned stopped/);

    const again = launch(['--data-dir', dataDir]);
    const base2 = await again.address;
    const verify = await api(base2, token, 'GET', '/v1/audit/verify');
    expect(verify.body).toMatchObject({ ok: true });
    // Stopped by the drain, not left for the next boot to find interrupted.
    const container = await api(base2, token, 'GET', `/v1/containers/${id}`);
    expect(container.body['state']).toBe('stopped');
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('SIGTERM past the drain deadline stops the containers under the calls still running, answers them, exits 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forgeoned-drain-'));
    const token = createToken(dataDir, 'operator');
    const daemon = launch(['--data-dir', dataDir, '--drain-timeout', '500']);
    const base = await daemon.address;
    const id = await launchService(base, token, 600_000);
    const inFlight = api(base, token, 'POST', `/v1/containers/${id}/invoke`, { export: 'spin' }).catch(
      (error: Error) => ({ status: 0, body: { error: error.message } }),
    );
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const took = Date.now() - t0;
    console.log(`drain past its 500 ms deadline: exited after ${took} ms`);
    expect(took).toBeLessThan(30_000);
    expect(daemon.stderr()).toMatch(/drain deadline passed/);
    const answered = await inFlight;
    expect(answered.status).not.toBe(200);

    const again = launch(['--data-dir', dataDir]);
    const base2 = await again.address;
    expect((await api(base2, token, 'GET', '/v1/audit/verify')).body).toMatchObject({ ok: true });
    const container = await api(base2, token, 'GET', `/v1/containers/${id}`);
    expect(container.body['state']).toBe('stopped');
  });

  it('kill -9 mid-call: after a restart the audit chain verifies, the acknowledged launch is in it, the container is failed("interrupted")', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forgeoned-kill-'));
    const token = createToken(dataDir, 'operator');
    const daemon = launch(['--data-dir', dataDir]);
    const base = await daemon.address;
    const idle = await launchService(base, token, 600_000);
    const busy = await launchService(base, token, 600_000);
    const sum = await api(base, token, 'POST', `/v1/containers/${idle}/invoke`, {
      export: 'add',
      args: [
        { type: 'i32', value: 2 },
        { type: 'i32', value: 40 },
      ],
    });
    expect(sum.body['values']).toEqual([{ type: 'i32', value: 42 }]);
    const inFlight = api(base, token, 'POST', `/v1/containers/${busy}/invoke`, { export: 'spin' }).catch(
      () => 'cut',
    );
    await new Promise((r) => setTimeout(r, 300));
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    expect(await inFlight).toBe('cut');

    const again = launch(['--data-dir', dataDir]);
    const base2 = await again.address;
    const verify = await api(base2, token, 'GET', '/v1/audit/verify');
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ ok: true });
    type Facts = { operation?: string; status?: number; target?: string };
    const records: Array<{ entry: { kernel?: string; facts: Facts } }> = [];
    for (let from: number | null = 1; from !== null;) {
      const page = await api(base2, token, 'GET', `/v1/audit?fromSeq=${from}&limit=1000`);
      records.push(...page.body['records']);
      from = page.body['nextSeq'];
    }
    const requests = records.filter((r) => r.entry.kernel === 'api.request').map((r) => r.entry.facts);
    // Every answered change is in the chain: two launches and the answered invoke.
    expect(requests.filter((f) => f.operation === 'launchContainer' && f.status === 201)).toHaveLength(2);
    expect(requests.some((f) => f.operation === 'invokeContainer' && f.target === idle)).toBe(true);
    for (const id of [idle, busy]) {
      const container = await api(base2, token, 'GET', `/v1/containers/${id}`);
      expect(container.body).toMatchObject({ state: 'failed', reason: 'interrupted' });
    }
  });
});
