// The API's cost against baselines measured in the same run (read the ratios vitest prints under
// each group). Run: `npx vitest bench --run --project interface` from the repository root.
// (a) a request through the whole server (hooks, rate limit, token check) against a bare fastify
//     route on the same machine; (b) launch + invoke of a small service over HTTP against the
//     same through the library in process. Load stays on 127.0.0.1 and is bounded by the bench.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fastify } from 'fastify';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { SqliteStore } from '@forgeone/common';
import { TokenStore, createApiClient, createApiServer, createKernel, type Kernel } from '../src/index';

const SERVICE = `(module
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`;
const source = new TextEncoder().encode(SERVICE);
const launchBody = {
  module: Buffer.from(SERVICE).toString('base64'),
  isolation: 'inline' as const,
  policy: { mode: 'enforce' as const, allow: [] },
};

const dir = mkdtempSync(join(tmpdir(), 'forgeone-api-bench-'));
let kernel: Kernel;
let app: ReturnType<typeof createApiServer>;
let bare: ReturnType<typeof fastify>;
let address = '';
let bareAddress = '';
let authorization = '';
let client: ReturnType<typeof createApiClient>;

beforeAll(async () => {
  const store = await SqliteStore.open(join(dir, 'kernel.db'));
  kernel = await createKernel({ store, auditStore: store });
  const tokens = new TokenStore(store);
  const { token } = await tokens.create({ role: 'operator' });
  authorization = `Bearer ${token}`;
  // Limits high enough that the bench measures the checks, not refusals.
  app = createApiServer({ kernel, tokens, rateLimits: { perToken: 1e9, perAddress: 1e9 } });
  address = await app.listen({ host: '127.0.0.1', port: 0 });
  bare = fastify();
  bare.get('/v1/health', async () => ({
    ok: true,
    kernel: kernel.id,
    mode: 'enforce',
    store: 'sqlite',
    uptimeMs: 1,
  }));
  bareAddress = await bare.listen({ host: '127.0.0.1', port: 0 });
  client = createApiClient({ baseUrl: address, token });
});

afterAll(async () => {
  await app.close();
  await bare.close();
  await kernel.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (url: string, headers: Record<string, string> = {}) => {
  const response = await fetch(url, { headers });
  await response.arrayBuffer();
};

describe('(a) one GET over HTTP, keep-alive', () => {
  bench('bare fastify route (baseline)', () => get(`${bareAddress}/v1/health`), { time: 2000 });
  bench('GET /v1/health (public: the server hooks)', () => get(`${address}/v1/health`), { time: 2000 });
  bench(
    'GET /v1/boot (bearer token, role, rate limits)',
    () => get(`${address}/v1/boot`, { authorization }),
    {
      time: 2000,
    },
  );
});

describe('(b) launch + invoke + stop + remove of a small service', () => {
  bench(
    'in process, through the library (baseline)',
    async () => {
      const id = await kernel.runtime.launchContainer({
        source,
        isolation: 'inline',
        policy: { mode: 'enforce', policy: { kind: 'allow-list', allow: [] } },
      });
      await kernel.runtime.invoke(id, 'add', [
        { type: 'i32', value: 1 },
        { type: 'i32', value: 2 },
      ]);
      await kernel.runtime.stop(id);
      await kernel.runtime.remove(id);
    },
    { time: 3000 },
  );
  bench(
    'over the API, typed client',
    async () => {
      const { id } = await client.call('launchContainer', { body: launchBody });
      await client.call('invokeContainer', {
        params: { id },
        body: {
          export: 'add',
          args: [
            { type: 'i32', value: 1 },
            { type: 'i32', value: 2 },
          ],
        },
      });
      await client.call('stopContainer', { params: { id } });
      await client.call('removeContainer', { params: { id } });
    },
    { time: 3000 },
  );
});

describe('(c) SSE fan-out: 200 kernel events to 50 subscribers', () => {
  const SUBSCRIBERS = 50;
  const EVENTS = 200;
  bench(
    'publish and wait until every subscriber has every event',
    async () => {
      const abort = new AbortController();
      const readers = await Promise.all(
        Array.from({ length: SUBSCRIBERS }, async () => {
          const response = await fetch(`${address}/v1/events?types=policy.reloaded`, {
            headers: { authorization },
            signal: abort.signal,
          });
          const reader = response.body!.getReader();
          await reader.read(); // the stream's first line: it is open
          return reader;
        }),
      );
      const decoder = new TextDecoder();
      const done = readers.map(async (reader) => {
        let seen = 0;
        let text = '';
        while (seen < EVENTS) {
          const { value, done: ended } = await reader.read();
          if (ended) throw new Error('stream ended early');
          text += decoder.decode(value, { stream: true });
          const frames = text.split('\n\n');
          text = frames.pop() ?? '';
          seen += frames.filter((f) => f.includes('event: policy.reloaded')).length;
        }
      });
      for (let i = 0; i < EVENTS; i += 1) kernel.events.emit('policy.reloaded', { version: String(i) });
      await Promise.all(done);
      abort.abort();
    },
    { time: 3000, iterations: 3 },
  );
});
