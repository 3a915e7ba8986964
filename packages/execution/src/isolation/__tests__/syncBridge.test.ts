import { describe, expect, it } from 'vitest';
import {
  BRIDGE_OVERFLOW,
  SyncBridgeClient,
  answerBridge,
  claimBridge,
  completeBridge,
  createBridgeBuffer,
} from '../../index';

// Both sides on one thread: `send` plays the main thread, answering (or not) before the asker waits.
describe('SyncBridgeClient', () => {
  it('hands back the answer to the question it asked, with its status and bytes', () => {
    const buffer = createBridgeBuffer(16);
    const client = new SyncBridgeClient(buffer, () => undefined);
    const answer = client.call(1_000, (id) => {
      expect(claimBridge(buffer, id)).toBe(true);
      completeBridge(buffer, 7, Uint8Array.of(1, 2, 3));
    });
    expect(answer).toEqual({ code: 7, bytes: Uint8Array.of(1, 2, 3) });
  });

  it('withdraws a question nobody answered in time, so that a late answerer cannot act on it', () => {
    const buffer = createBridgeBuffer(16);
    const client = new SyncBridgeClient(buffer, () => undefined);
    let asked = 0;
    expect(client.call(20, (id) => (asked = id))).toBeUndefined();
    expect(claimBridge(buffer, asked)).toBe(false);
    expect(answerBridge(buffer, asked, 'allow')).toBe(false);
    // Nor can it land on the next question.
    const next = client.call(1_000, (id) => {
      expect(claimBridge(buffer, asked)).toBe(false);
      expect(answerBridge(buffer, id, 'next')).toBe(true);
    });
    expect(new TextDecoder().decode(next?.bytes)).toBe('"next"');
  });

  it('reports bytes that do not fit as BRIDGE_OVERFLOW instead of leaving the asker waiting', () => {
    const buffer = createBridgeBuffer(4);
    const client = new SyncBridgeClient(buffer, () => undefined);
    const answer = client.call(1_000, (id) => {
      claimBridge(buffer, id);
      completeBridge(buffer, 0, new Uint8Array(5));
    });
    expect(answer).toEqual({ code: BRIDGE_OVERFLOW, bytes: new Uint8Array(0) });
  });

  it('answers JSON questions through the same buffer (approvals)', () => {
    const buffer = createBridgeBuffer();
    const client = new SyncBridgeClient(buffer, (request) =>
      answerBridge(buffer, request.id, { ok: request.kind }),
    );
    expect(client.request('approve', null, 1_000)).toEqual({ ok: 'approve' });
  });
});
