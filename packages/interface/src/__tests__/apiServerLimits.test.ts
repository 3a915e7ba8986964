import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ForgeError, ManualClock, SqliteStore, type StoragePort } from '@forgeone/common';
import { SELFTEST_NAMESPACE } from '@forgeone/diagnostics';
import { TokenStore, createApiServer, createKernel, type ApiServerLimits, type Kernel } from '../index';

let kernel: Kernel | undefined;
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  await kernel?.shutdown();
  close = undefined;
  kernel = undefined;
});

/** A kernel on a fresh SQLite store, served on 127.0.0.1 at a port picked free now. */
async function serve(options: { limits?: Partial<ApiServerLimits>; clock?: ManualClock } = {}) {
  const store = await SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'forge-api-')), 'kernel.db'));
  kernel = await createKernel({ store, ...(options.clock ? { clock: options.clock } : {}) });
  const tokens = new TokenStore(store);
  const { token } = await tokens.create({ role: 'viewer' });
  // A flood from one address: the request rate limits are not what these tests are about.
  const app = createApiServer({
    kernel,
    tokens,
    rateLimits: { perToken: 1_000_000, perAddress: 1_000_000 },
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  close = () => app.close();
  const { port } = new URL(address);
  authorization = `Bearer ${token}`;
  return { address, port: Number(port), store };
}

let authorization = '';

/** `total` GETs of `url`, `parallel` at a time, each checked to be a 200. */
async function flood(url: string, total: number, parallel: number): Promise<void> {
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      sent += 1;
      const response = await fetch(url, { headers: { authorization } });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Every row the self-test can leave: its log's entries and its records. */
async function selfTestRows(store: StoragePort) {
  return {
    logEntries: await store.logHead(SELFTEST_NAMESPACE),
    records: await store.listRecords(SELFTEST_NAMESPACE),
  };
}

/** Resolves when the socket is closed (by the server), with what the server sent before. */
function closed(socket: Socket): Promise<string> {
  let received = '';
  socket.on('data', (d) => (received += d));
  socket.on('error', () => undefined); // a reset is a close too
  return new Promise((done) => socket.on('close', () => done(received)));
}

/** Fails after `ms` (a generous bound, not a timing assertion). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('API server: what a client can make it store', () => {
  it('2,000 /v1/selftest calls leave at most one self-test row in the store', async () => {
    const { address, store } = await serve();
    await flood(`${address}/v1/selftest`, 2000, 20);
    const rows = await selfTestRows(store);
    expect(rows.logEntries).toBe(0);
    expect(rows.records.length).toBeLessThanOrEqual(1);
  });

  it('keeps that bound with the cache off: every call runs the self-test, the store stays at one row', async () => {
    const { address, store } = await serve({ limits: { selfTestCacheMs: 0 } });
    // One at a time: concurrent requests would share a run even with the cache off.
    await flood(`${address}/v1/selftest`, 100, 1);
    const rows = await selfTestRows(store);
    expect(rows.logEntries).toBe(0);
    expect(rows.records).toHaveLength(1);
    // One record, written once per run: 100 runs, not fewer (the cache was off).
    expect(rows.records[0]?.version).toBe(100);
  });

  it('runs the self-test once per cache period, however many requests arrive', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const { address, store } = await serve({ clock, limits: { selfTestCacheMs: 1000 } });
    await flood(`${address}/v1/selftest`, 300, 30);
    expect((await selfTestRows(store)).records[0]?.version).toBe(1);
    clock.advance(999);
    await flood(`${address}/v1/selftest`, 10, 1);
    expect((await selfTestRows(store)).records[0]?.version).toBe(1);
    clock.advance(1);
    await flood(`${address}/v1/selftest`, 10, 1);
    expect((await selfTestRows(store)).records[0]?.version).toBe(2);
  });
});

describe('API server: connections that do not behave', () => {
  it('closes a connection that trickles its headers, one byte at a time, at the header timeout', async () => {
    const { port } = await serve({ limits: { headersTimeoutMs: 500 } });
    const socket = connect({ host: '127.0.0.1', port });
    const ended = closed(socket);
    await new Promise((done) => socket.once('connect', done));
    const head = 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(10_000);
    let at = 0;
    // A byte every 100 ms keeps the socket busy, so only the header timeout can end it.
    const trickle = setInterval(() => {
      if (!socket.destroyed && at < head.length) socket.write(head[at++]!);
    }, 100);
    try {
      const reply = await within(ended, 15_000, 'the server closing the trickling connection');
      expect(reply).toMatch(/^HTTP\/1\.1 408/);
      expect(at).toBeLessThan(head.length); // closed while the headers were still coming
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('refuses a request head over maxHeaderBytes with 431', async () => {
    const { address } = await serve({ limits: { maxHeaderBytes: 1024 } });
    const response = await fetch(`${address}/v1/health`, { headers: { 'x-big': 'a'.repeat(2048) } });
    expect(response.status).toBe(431);
    expect((await fetch(`${address}/v1/health`)).status).toBe(200);
  });

  it('closes connections past maxConnections on accept', async () => {
    const { port } = await serve({ limits: { maxConnections: 2 } });
    const open = async () => {
      const socket = connect({ host: '127.0.0.1', port });
      await new Promise((done) => socket.once('connect', done));
      return socket;
    };
    const first = await open();
    const second = await open();
    const third = connect({ host: '127.0.0.1', port });
    try {
      await within(closed(third), 15_000, 'the server closing the connection over the limit');
      expect(first.destroyed || second.destroyed).toBe(false);
    } finally {
      for (const socket of [first, second, third]) socket.destroy();
    }
  });

  it('refuses limits that cannot hold together', async () => {
    kernel = await createKernel();
    expect(() =>
      createApiServer({ kernel: kernel!, limits: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } }),
    ).toThrow(ForgeError);
    expect(() => createApiServer({ kernel: kernel!, limits: { maxConnections: 0 } })).toThrow(
      /maxConnections/,
    );
  });
});
