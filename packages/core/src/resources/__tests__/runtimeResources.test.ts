import { afterAll, describe, expect, it } from 'vitest';
import { ForgeError, KernelEventBus, systemClock } from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import { WorkerPool, type EnforcerSpec, type PooledWorker } from '@forgeone/execution';
import { ResourceManager, Runtime, type ResourceUsage } from '../../index';

// Every way a run ends gives its allocation back: a return, a trap, a deadline kill (worker and
// inline), a guest that runs out of its own memory limit, and a worker that dies under it.
const wat = (text: string) => new TextEncoder().encode(text);
const LOG_IMPORT = '(import "forge" "log" (func $log (param i32 i32) (result i32)))';
const logThen = (rest: string) =>
  wat(`(module ${LOG_IMPORT} (memory (export "memory") 1) (data (i32.const 0) "in")
    (func (export "_start") (drop (call $log (i32.const 0) (i32.const 2))) ${rest}))`);
const policy: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.log'] } };

/** A pool that remembers the worker it lent last (to kill it under a running guest). */
class WatchedPool extends WorkerPool {
  last: PooledWorker | undefined;
  override async acquire(): Promise<PooledWorker> {
    this.last = await super.acquire();
    return this.last;
  }
}
const pool = new WatchedPool({ warm: 1 });
afterAll(() => pool.close());

function kernel(budgets: ConstructorParameters<typeof ResourceManager>[0] = {}) {
  const resources = new ResourceManager(budgets);
  const events = new KernelEventBus();
  const launched: string[] = [];
  events.on('container.launched', (e) => launched.push(e.containerId));
  const runtime = new Runtime({
    clock: systemClock,
    events,
    limits: defaultRuntimeConfig().limits,
    mode: 'enforce',
    pool,
    resources,
  });
  return { runtime, resources, launched };
}

const idle = (usage: ResourceUsage | undefined) =>
  expect(usage).toMatchObject({
    allocations: 0,
    memoryPages: { used: 0 },
    workers: { used: 0 },
    containersPerIdentity: { byIdentity: {} },
    cpuMs: { byAllocation: {} },
  });

describe('Runtime.runModule under the resource manager', () => {
  for (const isolation of ['worker', 'inline'] as const) {
    it(`holds the run's allocation while it runs and returns it after (${isolation})`, async () => {
      const { runtime } = kernel();
      let during: ResourceUsage | undefined;
      const report = await runtime.runModule({
        source: logThen(''),
        policy,
        isolation,
        identity: { subject: 'user:alice' },
        limits: { memoryPages: 8 },
        onLog: () => (during = runtime.usage()),
      });
      expect(report.outcome.status).toBe('returned');
      expect(during).toMatchObject({
        allocations: 1,
        memoryPages: { used: 8 },
        workers: { used: isolation === 'worker' ? 1 : 0 },
        containersPerIdentity: { byIdentity: { 'user:alice': 1 } },
      });
      idle(runtime.usage());
    });

    it(`returns it after a trap, a deadline kill and a guest out of its own memory (${isolation})`, async () => {
      const { runtime } = kernel();
      const trap = await runtime.runModule({ source: logThen('unreachable'), policy, isolation });
      expect(trap.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_WASM_TRAP' } });
      idle(runtime.usage());
      const spin = await runtime.runModule({
        source: logThen('(loop br 0)'),
        policy,
        isolation,
        limits: { timeoutMs: 200 },
      });
      expect(spin.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
      idle(runtime.usage());
      // Grows a page at a time until memory.grow fails at its 4-page limit, then traps.
      const grow = await runtime.runModule({
        source: logThen(
          '(loop $more (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable',
        ),
        policy,
        isolation,
        limits: { memoryPages: 4 },
      });
      expect(grow.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_WASM_TRAP' } });
      idle(runtime.usage());
    });
  }

  it('returns it when the worker dies under the guest, and the kernel keeps running', async () => {
    const { runtime } = kernel();
    let killed = false;
    const crashed = await runtime
      .runModule({
        source: logThen('(loop br 0)'),
        policy,
        isolation: 'worker',
        limits: { timeoutMs: 30_000 },
        // The guest logged, then spins: its worker is terminated from outside, as a crash would end it.
        onLog: () => {
          killed = true;
          void pool.last?.worker.terminate();
        },
      })
      .then(
        (report) => report.outcome,
        (error: unknown) => error,
      );
    expect(killed).toBe(true);
    const code =
      crashed instanceof ForgeError ? crashed.code : (crashed as { error?: ForgeError }).error?.code;
    expect(code).toBe('FORGE_WORKER_FAILED');
    idle(runtime.usage());
    const after = await runtime.runModule({ source: logThen(''), policy, isolation: 'worker' });
    expect(after.outcome.status).toBe('returned');
    idle(runtime.usage());
  });

  it('refuses a launch that does not fit, naming the budget, before anything runs', async () => {
    const { runtime, launched } = kernel({ memoryPages: 100, containersPerIdentity: 1 });
    const big = await runtime
      .runModule({ source: logThen(''), policy, limits: { memoryPages: 101 } })
      .catch((error: unknown) => error);
    expect(big).toBeInstanceOf(ForgeError);
    expect((big as ForgeError).code).toBe('FORGE_RESOURCE_EXHAUSTED');
    expect((big as ForgeError).details).toMatchObject({
      budget: 'memoryPages',
      requested: 101,
      available: 100,
    });
    expect(launched).toEqual([]);
    // One container per identity: a second launch while the first runs is refused, one after it ends is not.
    let second: unknown;

    const first = await runtime.runModule({
      source: logThen(''),
      policy,
      isolation: 'inline',
      identity: { subject: 'user:bob' },
      limits: { memoryPages: 1 },
      onLog: () => {
        second = runtime
          .runModule({
            source: logThen(''),
            policy,
            identity: { subject: 'user:bob' },
            limits: { memoryPages: 1 },
          })
          .catch((error: unknown) => error);
      },
    });
    expect(first.outcome.status).toBe('returned');
    const refused = (await second) as ForgeError;
    expect(refused.code).toBe('FORGE_RESOURCE_EXHAUSTED');
    expect(refused.details).toMatchObject({ budget: 'containersPerIdentity', identity: 'user:bob' });
    const other = (
      await runtime.runModule({
        source: logThen(''),
        policy,
        identity: { subject: 'user:bob' },
        limits: { memoryPages: 1 },
      })
    ).outcome.status;
    expect(other).toBe('returned');
    idle(runtime.usage());
  });

  it('holds nothing after a run that fails before its guest starts', async () => {
    const { runtime } = kernel();
    const broken = await runtime
      .runModule({ source: wat('(module (func'), policy })
      .catch((error: unknown) => error);
    expect((broken as ForgeError).code).toBe('FORGE_WAT_INVALID');
    idle(runtime.usage());
    // A kv namespace without a store is refused before anything is allocated.
    const noStore = await runtime
      .runModule({ source: logThen(''), policy, kv: { namespace: 'app' } })
      .catch((error: unknown) => error);
    expect((noStore as ForgeError).code).toBe('FORGE_INVALID_INPUT');
    idle(runtime.usage());
  });

  it("cuts a run's deadline to its cpuMs budget and charges the time", async () => {
    for (const isolation of ['worker', 'inline'] as const) {
      const { runtime } = kernel({ cpuMs: 300 });
      let used: number | undefined;
      const report = await runtime.runModule({
        source: logThen('(loop br 0)'),
        policy,
        isolation,
        limits: { timeoutMs: 20_000 },
        onLog: () => (used = Object.values(runtime.usage()!.cpuMs.byAllocation)[0]),
      });
      expect(report.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
      // The budget counts from the launch: the call gets what instantiating left of the 300 ms.
      const deadline = /deadline of (\d+) ms/.exec((report.outcome as { error: ForgeError }).error.message);
      expect(Number(deadline?.[1])).toBeGreaterThan(0);
      expect(Number(deadline?.[1])).toBeLessThanOrEqual(300);
      expect(used).toBeGreaterThanOrEqual(0);
      idle(runtime.usage());
    }
  });

  it('builds a default ResourceManager from config when none is given', () => {
    const runtime = new Runtime({
      clock: systemClock,
      events: new KernelEventBus(),
      limits: defaultRuntimeConfig().limits,
      mode: 'enforce',
    });
    expect(runtime.usage()?.budgets).toEqual(defaultRuntimeConfig().resources);
  });
});
