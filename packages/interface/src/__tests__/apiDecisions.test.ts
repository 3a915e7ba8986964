import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClientError } from '../index';
import { SERVICE_LAUNCH, serve, type Served } from './support/apiKernel';

let served: Served;
beforeAll(async () => {
  served = await serve();
});
afterAll(async () => served?.close());

describe.each(['inline', 'worker'] as const)('one id ties a story together (%s)', (isolation) => {
  it('API request → decisions → host calls, each found from the others', async () => {
    const operator = served.client('operator');
    const viewer = served.client('viewer');
    const launched = await operator.call('launchContainer', { body: { ...SERVICE_LAUNCH, isolation } });
    const id = launched.id;
    // The launch request's audit record names the container it made.
    const launchRecord = await viewer.call('getRequest', { params: { id: launched.requestId } });
    expect(launchRecord.audit.entry).toMatchObject({
      kernel: 'api.request',
      facts: { operation: 'launchContainer', caused: { containerId: id }, token: 'runner' },
    });

    await operator.call('invokeContainer', { params: { id }, body: { export: 'tick' } });
    const second = await operator.call('invokeContainer', { params: { id }, body: { export: 'tick' } });
    expect(second.decisions).toMatchObject({ count: 1, fromSeq: 2, toSeq: 2 });
    const none = await operator.call('invokeContainer', {
      params: { id },
      body: {
        export: 'add',
        args: [
          { type: 'i32', value: 1 },
          { type: 'i32', value: 2 },
        ],
      },
    });
    expect(none.decisions).toEqual({ count: 0 });

    // Request → what it caused.
    const request = await viewer.call('getRequest', { params: { id: second.requestId } });
    expect(request.audit.entry).toMatchObject({
      facts: { requestId: second.requestId, caused: { containerId: id, decisions: second.decisions } },
    });
    // Decision → its audit record (naming the request) and the host call in the trace.
    const decision = await viewer.call('getDecision', { params: { id: second.decisions.first! } });
    expect(decision).toMatchObject({ containerId: id, seq: 2, requestId: second.requestId });
    expect(decision.audit.entry).toMatchObject({
      syscall: 'forge.clock_now',
      decisionId: second.decisions.first,
      traceSeq: 2,
      requestId: second.requestId,
      action: 'allow',
    });
    // Trace → decision: each event names its decision id.
    await operator.call('stopContainer', { params: { id } });
    const trace = await viewer.call('getContainerTrace', { params: { id } });
    expect(trace.events.map((e) => e['decisionId'])).toEqual([
      `dec_${id.slice(4)}_1`,
      second.decisions.first,
    ]);
    const again = await viewer.call('getDecision', { params: { id: second.decisions.first! } });
    expect(again.event).toMatchObject({ seq: 2, syscall: 'forge.clock_now' });
  });
});

describe('decision and request lookups refuse what they do not know', () => {
  it('answers 404 with a code for an unknown id, 400 for a malformed one, 401 without a token', async () => {
    const viewer = served.client('viewer');
    const unknown = 'dec_00000000000000000000000000_1';
    await expect(viewer.call('getDecision', { params: { id: unknown } })).rejects.toMatchObject({
      status: 404,
      code: 'FORGE_API_DECISION_NOT_FOUND',
    });
    await expect(viewer.call('getRequest', { params: { id: 'no-such-request' } })).rejects.toMatchObject({
      status: 404,
      code: 'FORGE_API_REQUEST_NOT_FOUND',
    });
    for (const bad of [
      'dec_x_1',
      'dec_00000000000000000000000000_0',
      '..%2F..%2Fetc',
      'ctr_00000000000000000000000000',
    ]) {
      const answer = await fetch(`${served.address}/v1/decisions/${bad}`, {
        headers: { authorization: `Bearer ${served.token.viewer}` },
      });
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    }
    const error = await served
      .client(undefined)
      .call('getDecision', { params: { id: unknown } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiClientError);
    expect((error as ApiClientError).status).toBe(401);
  });
});
