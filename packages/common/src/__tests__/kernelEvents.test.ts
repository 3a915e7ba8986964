import { describe, expect, it } from 'vitest';
import { KernelEventBus, newId, type KernelEvents } from '../index';

describe('KernelEventBus', () => {
  it('delivers payloads to listeners of that event, in subscription order', () => {
    const bus = new KernelEventBus();
    const seen: string[] = [];
    const containerId = newId('container');
    bus.on('container.quarantined', (payload) => seen.push(`first ${payload.reason}`));
    bus.on('container.quarantined', (payload) => seen.push(`second ${payload.containerId === containerId}`));
    bus.on('policy.reloaded', (payload) => seen.push(`policy ${payload.version}`));
    bus.emit('container.quarantined', { containerId, reason: 'anomaly' });
    expect(seen).toEqual(['first anomaly', 'second true']);
    bus.emit('policy.reloaded', { version: 'v2' });
    expect(seen.at(-1)).toBe('policy v2');
  });

  it('unsubscribes with the returned function and reports listeners', () => {
    const bus = new KernelEventBus();
    const payloads: KernelEvents['kernel.shutdown'][] = [];
    expect(bus.hasListeners('kernel.shutdown')).toBe(false);
    const off = bus.on('kernel.shutdown', (payload) => payloads.push(payload));
    expect(bus.hasListeners('kernel.shutdown')).toBe(true);
    expect(bus.hasListeners('policy.reloaded')).toBe(false);
    bus.emit('kernel.shutdown', { reason: 'one' });
    off();
    off();
    bus.emit('kernel.shutdown', { reason: 'two' });
    expect(payloads).toEqual([{ reason: 'one' }]);
    expect(bus.hasListeners('kernel.shutdown')).toBe(false);
  });

  it('removes every listener at once', () => {
    const bus = new KernelEventBus();
    let calls = 0;
    bus.on('kernel.shutdown', () => (calls += 1));
    bus.on('policy.reloaded', () => (calls += 1));
    bus.removeAll();
    bus.emit('kernel.shutdown', { reason: 'x' });
    bus.emit('policy.reloaded', { version: 'x' });
    expect(calls).toBe(0);
    expect(bus.hasListeners('policy.reloaded')).toBe(false);
  });

  it('keeps separate buses apart', () => {
    const a = new KernelEventBus();
    const b = new KernelEventBus();
    let calls = 0;
    a.on('kernel.shutdown', () => (calls += 1));
    b.emit('kernel.shutdown', { reason: 'x' });
    expect(calls).toBe(0);
  });
});
