import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiClient, type ServerSentEvent } from '@forgeone/interface';
import { createToken, run, start } from './support/daemonProcess';

const SERVICE = `(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "tick") (result i32) (call $now (i32.const 8))))`;

let stop: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

/** The first `count` events of a stream, within a generous bound. */
async function take(stream: AsyncGenerator<ServerSentEvent>, count: number): Promise<ServerSentEvent[]> {
  const out: ServerSentEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`only ${out.length} of ${count} events within 30 s`)), 30_000);
  });
  const read = (async () => {
    for await (const event of stream) if (out.push(event) === count) break;
    return out;
  })();
  try {
    return await Promise.race([read, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('forgeoned /v1 API (end to end: a daemon process, tokens from its CLI, the typed client)', () => {
  it('runs a container over HTTP with CLI-made tokens, checks 401/403/429, and resumes events', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forgeoned-api-'));
    // One token made before the daemon runs, one while it runs: both work.
    const viewerToken = createToken(dataDir, 'viewer', 'eyes');
    const daemon = start(['--data-dir', dataDir]);
    stop = async () => {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    };
    const baseUrl = await daemon.address;
    const operatorToken = createToken(dataDir, 'operator', 'hands');
    expect(operatorToken).toMatch(/^fo1_/);
    const viewer = createApiClient({ baseUrl, token: viewerToken });
    const operator = createApiClient({ baseUrl, token: operatorToken });

    // Events from the start of the ring, so the stream misses nothing whenever it connects.
    const abort = new AbortController();
    const firstEvents = take(
      viewer.events({ types: ['container.state'], lastEventId: '0', signal: abort.signal }),
      3,
    );

    const { id } = await operator.call('launchContainer', {
      body: {
        module: Buffer.from(SERVICE).toString('base64'),
        name: 'adder',
        policy: { mode: 'enforce', allow: ['forge.clock_now'] },
      },
    });
    const sum = await operator.call('invokeContainer', {
      params: { id },
      body: {
        export: 'add',
        args: [
          { type: 'i32', value: 20 },
          { type: 'i32', value: 22 },
        ],
      },
    });
    expect(sum.values).toEqual([{ type: 'i32', value: 42 }]);
    const seen = await firstEvents;
    abort.abort();
    expect(seen.map((e) => JSON.parse(e.data).state)).toEqual(['created', 'starting', 'running']);

    expect((await operator.call('pauseContainer', { params: { id } })).state).toBe('paused');
    expect((await operator.call('resumeContainer', { params: { id } })).state).toBe('running');
    expect(
      (await operator.call('invokeContainer', { params: { id }, body: { export: 'tick' } })).outcome.status,
    ).toBe('returned');
    expect((await operator.call('stopContainer', { params: { id } })).state).toBe('stopped');

    // Resume after the last event seen: what happened while disconnected, in order.
    const again = new AbortController();
    const resumed = await take(
      viewer.events({ types: ['container.state'], lastEventId: seen[2]!.id!, signal: again.signal }),
      4,
    );
    again.abort();
    expect(resumed.map((e) => JSON.parse(e.data).state)).toEqual([
      'paused',
      'running',
      'stopping',
      'stopped',
    ]);

    // 403: a viewer may not stop; 401: no token, and a token revoked through the CLI while the daemon runs.
    await expect(viewer.call('stopContainer', { params: { id } })).rejects.toMatchObject({
      status: 403,
      code: 'FORGE_API_FORBIDDEN',
    });
    await expect(createApiClient({ baseUrl }).call('listContainers')).rejects.toMatchObject({ status: 401 });
    expect(run(['token', 'revoke', 'hands', '--data-dir', dataDir]).status).toBe(0);
    await expect(operator.call('listContainers')).rejects.toMatchObject({
      status: 401,
      code: 'FORGE_API_UNAUTHENTICATED',
    });

    // The changes are attributed to the token that made them, in a chain that verifies.
    const audit = await viewer.call('readAudit', { query: { limit: 1000 } });
    const api = audit.records.map((r) => r.entry).filter((e) => e['kernel'] === 'api.request');
    expect(api.map((e) => (e['facts'] as Record<string, unknown>)['operation'])).toEqual([
      'launchContainer',
      'invokeContainer',
      'pauseContainer',
      'resumeContainer',
      'invokeContainer',
      'stopContainer',
      'stopContainer',
    ]);
    expect(
      api.every((e) => ['hands', 'eyes'].includes((e['facts'] as Record<string, string>)['token']!)),
    ).toBe(true);
    expect(await viewer.call('verifyAudit')).toMatchObject({ ok: true });

    // 429: failed authentications from one address are limited (10 a minute).
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1)
      statuses.push(
        (await fetch(`${baseUrl}/v1/containers`, { headers: { authorization: 'Bearer fo1_x' } })).status,
      );
    expect(statuses.slice(-1)).toEqual([429]);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);

    const tokens = run(['token', 'list', '--data-dir', dataDir]).stdout;
    expect(tokens).toMatch(/hands {2}operator {2}revoked/);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    stop = undefined;
  });

  it('refuses a bad token command with one coded line', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forgeoned-api-'));
    const noRole = run(['token', 'create', '--data-dir', dataDir]);
    expect(noRole.status).toBe(2);
    expect(noRole.stderr.trim()).toMatch(/^FORGE_CLI_USAGE: .*--role/);
    const missing = run(['token', 'revoke', 'nobody', '--data-dir', dataDir]);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^FORGE_API_TOKEN_NOT_FOUND: /),
    ]);
    const expiry = run([
      'token',
      'create',
      '--role',
      'viewer',
      '--expires',
      'yesterday',
      '--data-dir',
      dataDir,
    ]);
    expect(expiry.status).toBe(2);
    expect(run(['token', 'list', '--data-dir', dataDir]).stdout).toBe('');
  });
});
