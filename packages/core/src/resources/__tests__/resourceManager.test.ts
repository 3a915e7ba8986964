import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ForgeError } from '@forgeone/common';
import { ResourceManager, cpuAccountOf, type Allocation, type ResourceRequest } from '../../index';

function refusal(fn: () => unknown): ForgeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ForgeError);
    return error as ForgeError;
  }
  throw new Error('expected a refusal');
}

const request = (identity: string, memoryPages: number, worker = true): ResourceRequest => ({
  identity,
  memoryPages,
  worker,
});

describe('ResourceManager', () => {
  it('grants what fits, refuses what does not with the budget named, and frees on release', () => {
    const manager = new ResourceManager({ memoryPages: 100, workers: 2, containersPerIdentity: 2 });
    const a = manager.allocate(request('alice', 60));
    expect(manager.fits(request('bob', 40))).toBe(true);
    expect(manager.fits(request('bob', 41))).toBe(false);
    const pages = refusal(() => manager.allocate(request('bob', 41)));
    expect(pages.code).toBe('FORGE_RESOURCE_EXHAUSTED');
    expect(pages.details).toMatchObject({ budget: 'memoryPages', requested: 41, available: 40, limit: 100 });
    expect(pages.message).toMatch(/memoryPages budget .* asked for 41, 40 left/);
    const b = manager.allocate(request('alice', 10));
    const third = refusal(() => manager.allocate(request('alice', 1, false)));
    expect(third.details).toMatchObject({
      budget: 'containersPerIdentity',
      requested: 1,
      available: 0,
      identity: 'alice',
    });
    const workers = refusal(() => manager.allocate(request('bob', 1)));
    expect(workers.details).toMatchObject({ budget: 'workers', requested: 1, available: 0 });
    // Inline containers hold no worker.
    const inline = manager.allocate(request('bob', 1, false));
    expect(manager.usage()).toMatchObject({
      allocations: 3,
      memoryPages: { used: 71, budget: 100 },
      workers: { used: 2, budget: 2 },
      containersPerIdentity: { budget: 2, byIdentity: { alice: 2, bob: 1 } },
    });
    a.release();
    a.release();
    expect(manager.usage().memoryPages.used).toBe(11);
    expect(manager.fits(request('bob', 89))).toBe(true);
    b.release();
    inline.release();
    expect(manager.usage()).toMatchObject({
      allocations: 0,
      memoryPages: { used: 0 },
      workers: { used: 0 },
      containersPerIdentity: { byIdentity: {} },
    });
  });

  it('refuses a launch larger than the whole budget, and a malformed request or budget', () => {
    const manager = new ResourceManager({ memoryPages: 10 });
    expect(refusal(() => manager.allocate(request('a', 11))).details).toMatchObject({
      budget: 'memoryPages',
      available: 10,
    });
    for (const bad of [
      request('', 1),
      request('a', -1),
      request('a', 1.5),
      { identity: 'a', memoryPages: 1, worker: 'yes' } as unknown as ResourceRequest,
    ]) {
      expect(refusal(() => manager.allocate(bad)).code).toBe('FORGE_INVALID_INPUT');
      expect(() => manager.fits(bad)).toThrow(ForgeError);
    }
    for (const budgets of [
      { memoryPages: 0 },
      { workers: 1.5 },
      { cpuMs: -1 },
      { containersPerIdentity: 2e6 },
    ]) {
      const error = refusal(() => new ResourceManager(budgets));
      expect(error.code).toBe('FORGE_INVALID_INPUT');
      expect(error.message).toMatch(/^invalid resources\./);
    }
  });

  it('charges the wall-clock time of calls to the container, and refuses a call past its cpuMs budget', () => {
    let now = 0;
    const manager = new ResourceManager({ cpuMs: 100 }, { now: () => now });
    const allocation = manager.allocate(request('a', 1));
    const cpu = cpuAccountOf(allocation)!;
    expect(cpu.beginCall()).toBe(100);
    now = 30;
    expect(manager.usage().cpuMs.byAllocation[allocation.id]).toBe(30);
    cpu.endCall();
    now = 1000; // between calls: not charged
    expect(cpu.usedMs()).toBe(30);
    expect(cpu.beginCall()).toBe(70);
    now = 1070;
    cpu.endCall();
    const error = refusal(() => cpu.beginCall());
    expect(error.code).toBe('FORGE_RESOURCE_EXHAUSTED');
    expect(error.details).toMatchObject({ budget: 'cpuMs', available: 0, limit: 100 });
    allocation.release();
    expect(manager.usage().cpuMs.byAllocation).toEqual({});
    expect(refusal(() => cpu.beginCall()).code).toBe('FORGE_KERNEL_STATE');
    // Without a budget calls are counted, never refused.
    const free = cpuAccountOf(new ResourceManager({}, { now: () => now }).allocate(request('a', 1)))!;
    expect(free.beginCall()).toBeUndefined();
    // Another admission's allocations have no CPU account.
    const plain: Allocation = { id: 'x', request: request('a', 1), release: () => undefined };
    expect(cpuAccountOf(plain)).toBeUndefined();
  });

  it('never goes negative, never passes a budget, and returns to zero (property)', () => {
    const budgets = { memoryPages: 64, workers: 3, containersPerIdentity: 2 };
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('allocate' as const),
        identity: fc.constantFrom('a', 'b', 'c'),
        memoryPages: fc.integer({ min: 0, max: 40 }),
        worker: fc.boolean(),
      }),
      // Releases by index into every allocation ever made: released ones are released again.
      fc.record({ kind: fc.constant('release' as const), index: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const manager = new ResourceManager(budgets);
        const made: Allocation[] = [];
        const live = new Set<Allocation>();
        const check = () => {
          const usage = manager.usage();
          const pages = [...live].reduce((sum, a) => sum + a.request.memoryPages, 0);
          const workers = [...live].filter((a) => a.request.worker).length;
          expect(usage.memoryPages.used).toBe(pages);
          expect(usage.workers.used).toBe(workers);
          expect(usage.allocations).toBe(live.size);
          expect(usage.memoryPages.used).toBeGreaterThanOrEqual(0);
          expect(usage.memoryPages.used).toBeLessThanOrEqual(budgets.memoryPages);
          expect(usage.workers.used).toBeGreaterThanOrEqual(0);
          expect(usage.workers.used).toBeLessThanOrEqual(budgets.workers);
          for (const count of Object.values(usage.containersPerIdentity.byIdentity)) {
            expect(count).toBeGreaterThan(0);
            expect(count).toBeLessThanOrEqual(budgets.containersPerIdentity);
          }
        };
        for (const s of steps) {
          if (s.kind === 'allocate') {
            const { identity, memoryPages, worker } = s;
            const fits = manager.fits({ identity, memoryPages, worker });
            try {
              const allocation = manager.allocate({ identity, memoryPages, worker });
              expect(fits).toBe(true);
              made.push(allocation);
              live.add(allocation);
            } catch (error) {
              expect(fits).toBe(false);
              expect((error as ForgeError).code).toBe('FORGE_RESOURCE_EXHAUSTED');
            }
          } else if (made.length > 0) {
            const allocation = made[s.index % made.length]!;
            allocation.release();
            live.delete(allocation);
          }
          check();
        }
        for (const allocation of made) allocation.release();
        live.clear();
        check();
        expect(manager.usage()).toMatchObject({
          allocations: 0,
          memoryPages: { used: 0 },
          workers: { used: 0 },
          containersPerIdentity: { byIdentity: {} },
        });
      }),
      { numRuns: 300 },
    );
  });
});
