import { afterEach, describe, expect, it } from 'vitest';
import type { ServerSentEvent } from '../index';
import { SERVICE_LAUNCH, serve, type Served } from './support/apiKernel';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

/** The first `count` events of `stream` (fails after `ms`, a generous bound). */
async function take(
  stream: AsyncGenerator<ServerSentEvent>,
  count: number,
  ms = 20_000,
): Promise<ServerSentEvent[]> {
  const out: ServerSentEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`only ${out.length} of ${count} events within ${ms} ms`)), ms);
  });
  const read = (async () => {
    for await (const event of stream) {
      out.push(event);
      if (out.length === count) break;
    }
    return out;
  })();
  try {
    return await Promise.race([read, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('GET /v1/events', () => {
  it('streams kernel events with ids and resumes after Last-Event-ID', async () => {
    served = await serve();
    const viewer = served.client('viewer');
    const operator = served.client('operator');
    const abort = new AbortController();
    // From the start of the ring (id 0): whenever the stream opens, it misses nothing launched here.
    const live = viewer.events({ types: ['container.state'], lastEventId: '0', signal: abort.signal });
    const first = take(live, 2);
    const { id } = await operator.call('launchContainer', { body: SERVICE_LAUNCH });
    const seen = await first;
    abort.abort();
    expect(seen.map((e) => e.event)).toEqual(['container.state', 'container.state']);
    expect(seen.map((e) => JSON.parse(e.data).state)).toEqual(['created', 'starting']);
    expect(JSON.parse(seen[0]!.data).containerId).toBe(id);
    const lastId = seen[1]!.id!;

    // While disconnected: pause and stop. Resuming gets what followed the last event seen, in order.
    await operator.call('pauseContainer', { params: { id } });
    await operator.call('stopContainer', { params: { id } });
    const again = new AbortController();
    const resumed = await take(
      viewer.events({ types: ['container.state'], lastEventId: lastId, signal: again.signal }),
      4,
    );
    again.abort();
    expect(resumed.map((e) => JSON.parse(e.data).state)).toEqual([
      'running',
      'paused',
      'stopping',
      'stopped',
    ]);
    const ids = resumed.map((e) => Number(e.id));
    expect(ids[0]).toBeGreaterThan(Number(lastId));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });

  it('says how many events a resume missed when the ring no longer has them', async () => {
    served = await serve({ server: { eventRing: 2 } });
    const { id } = await served.client('operator').call('launchContainer', { body: SERVICE_LAUNCH });
    await served.client('operator').call('stopContainer', { params: { id } });
    const abort = new AbortController();
    const [missed, ...rest] = await take(
      served.client('viewer').events({ lastEventId: '0', signal: abort.signal }),
      3,
    );
    abort.abort();
    expect(missed!.event).toBe('missed');
    expect(JSON.parse(missed!.data).missed).toBeGreaterThan(0);
    expect(rest).toHaveLength(2);
  });

  it('refuses a bad Last-Event-ID and bounds the number of streams', async () => {
    served = await serve({ server: { eventStreams: { maxStreams: 1 } } });
    const headers = { authorization: `Bearer ${served.token.viewer}` };
    const bad = await fetch(`${served.address}/v1/events`, {
      headers: { ...headers, 'last-event-id': '../1' },
    });
    expect(bad.status).toBe(400);
    const abort = new AbortController();
    const open = await fetch(`${served.address}/v1/events`, { headers, signal: abort.signal });
    expect(open.status).toBe(200);
    expect(open.headers.get('content-type')).toContain('text/event-stream');
    const second = await fetch(`${served.address}/v1/events`, { headers });
    expect(second.status).toBe(429);
    abort.abort();
  });

  it('ends open streams when the server closes (a close never waits on a subscriber)', async () => {
    served = await serve();
    const response = await fetch(`${served.address}/v1/events`, {
      headers: { authorization: `Bearer ${served.token.viewer}` },
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read(); // the stream's first line: it is open
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      served.close(),
      new Promise(
        (_, fail) => (timer = setTimeout(() => fail(new Error('close waited on the stream')), 20_000)),
      ),
    ]).finally(() => clearTimeout(timer));
    // The stream ends with the server.
    for (;;) if ((await reader.read()).done) break;
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text: containers by state, syscalls by decision, API requests', async () => {
    served = await serve();
    const operator = served.client('operator');
    const { id } = await operator.call('launchContainer', { body: SERVICE_LAUNCH });
    await operator.call('invokeContainer', { params: { id }, body: { export: 'tick' } });
    const text = await served.client('viewer').call('getMetrics');
    expect(text).toMatch(/^forgeone_containers\{state="running"\} 1$/m);
    expect(text).toMatch(/^forgeone_containers\{state="stopped"\} 0$/m);
    expect(text).toMatch(/^forgeone_quarantines\{state="active"\} 0$/m);
    expect(text).toMatch(/^forgeone_syscalls_total\{syscall="forge.clock_now",decision="allow"\} 1$/m);
    expect(text).toMatch(
      /^forgeone_api_requests_total\{route="launchContainer",method="POST",status="201"\} 1$/m,
    );
    expect(text).toContain('forgeone_process_cpu_seconds_total');
  });
});
