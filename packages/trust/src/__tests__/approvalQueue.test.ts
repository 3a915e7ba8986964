import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock, type Decision } from '@forgeone/common';
import { ApprovalQueue, type ApprovalEvent } from '../index';
import { assertBuilt, fixture } from './builtPackage';
import { request } from './support';

const asked: Decision = {
  action: 'ask',
  reasons: [{ policy: 'p', rule: 'r', message: 'writing needs approval' }],
};

describe('ApprovalQueue', () => {
  afterEach(() => vi.useRealTimers());

  it('holds a call until an operator answers, and remembers who did', async () => {
    const clock = new ManualClock(5000);
    const queue = new ApprovalQueue({ clock });
    const events: ApprovalEvent['type'][] = [];
    queue.onChange((e) => events.push(e.type));
    const verdict = queue.request(request('forge.kv_put', { key: 'k' }), asked, 60_000);
    const [pending] = queue.pending();
    expect(pending).toMatchObject({ requestedAt: 5000, expiresAt: 65_000, decision: asked });
    clock.advance(1200);
    expect(queue.answer(pending!.id, 'allow', 'alice')).toMatchObject({
      verdict: 'allow',
      by: 'alice',
      answeredAt: 6200,
    });
    await expect(verdict).resolves.toBe('allow');
    expect(queue.pending()).toEqual([]);
    expect(events).toEqual(['requested', 'settled']);
    expect(() => queue.answer(pending!.id, 'deny')).toThrow(
      expect.objectContaining({
        code: 'FORGE_APPROVAL_SETTLED',
        message: expect.stringContaining('already settled (allow by alice)'),
      }),
    );
    expect(() => queue.answer('nope', 'deny')).toThrow(
      expect.objectContaining({ code: 'FORGE_APPROVAL_UNKNOWN' }),
    );
  });

  it('denies on timeout, with a reason', async () => {
    vi.useFakeTimers();
    const queue = new ApprovalQueue();
    const verdict = queue.request(request('forge.kv_put'), asked, 30_000);
    const id = queue.pending()[0]!.id;
    vi.advanceTimersByTime(29_999);
    expect(queue.pending()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    await expect(verdict).resolves.toBe('deny');
    expect(queue.outcome(id)).toMatchObject({
      verdict: 'deny',
      by: 'timeout',
      reason: 'no operator answered within 30000 ms; denied',
    });
  });

  it('denies at once past maxPending, and everything pending on close', async () => {
    const queue = new ApprovalQueue({ maxPending: 1 });
    const first = queue.request(request('forge.kv_put'), asked, 60_000);
    await expect(queue.request(request('forge.kv_put'), asked, 60_000)).resolves.toBe('deny');
    queue.close('shutting down');
    await expect(first).resolves.toBe('deny');
  });

  describe('with a guest thread blocked in the call (worker isolation)', () => {
    beforeAll(assertBuilt);

    it('the operator answers on the main thread while the guest waits synchronously', async () => {
      const queue = new ApprovalQueue();
      const shared = new SharedArrayBuffer(8);
      const signal = new Int32Array(shared);
      const worker = new Worker(fixture('approvalWorker.mjs'), {
        workerData: { shared, keys: ['report', 'secrets'] },
      });
      // The operator: approves the report, refuses the secrets.
      queue.onChange((event) => {
        if (event.type !== 'requested') return;
        setTimeout(
          () =>
            queue.answer(
              event.approval.id,
              event.approval.request.args['key'] === 'report' ? 'allow' : 'deny',
              'ops',
            ),
          20,
        );
      });
      const results: { key: string; execute: boolean; reason: string }[] = [];
      await new Promise<void>((resolve, reject) => {
        worker.on('error', reject);
        worker.on(
          'message',
          (message: {
            type: string;
            request?: never;
            decision?: Decision;
            key?: string;
            execute?: boolean;
            reason?: string;
          }) => {
            if (message.type === 'ask') {
              void queue.request(message.request!, message.decision!, 5000).then((verdict) => {
                Atomics.store(signal, 1, verdict === 'allow' ? 1 : 0);
                Atomics.store(signal, 0, 1);
                Atomics.notify(signal, 0);
              });
            } else if (message.type === 'result') {
              results.push({ key: message.key!, execute: message.execute!, reason: message.reason! });
            } else resolve();
          },
        );
      });
      await worker.terminate();
      expect(results).toEqual([
        { key: 'report', execute: true, reason: 'approved by the operator' },
        { key: 'secrets', execute: false, reason: 'refused by the operator' },
      ]);
    });
  });
});
