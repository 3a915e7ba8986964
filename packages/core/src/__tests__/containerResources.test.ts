import { ForgeError, MemoryStore } from '@forgeone/common';
import { WorkerPool, type PooledWorker } from '@forgeone/execution';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceManager, type Runtime } from '../index';
import type { Allocation, ResourceAdmission, ResourceRequest } from '../resources/resourceAdmission';
import { COMMAND, ENDLESS, SERVICE, allow, containerRuntime, endlessLimits } from './support/containerGuests';

/**
 * A counting stand-in for the resource manager (built on another branch): it grants everything
 * unless told to refuse, and counts what is held.
 */
class CountingAdmission implements ResourceAdmission {
  readonly requests: ResourceRequest[] = [];
  held = 0;
  released = 0;
  refuse = false;
  #next = 0;

  allocate(request: ResourceRequest): Allocation {
    if (this.refuse) {
      throw new ForgeError('FORGE_LIMIT_MEMORY', 'the fake refuses: memoryPages exhausted', {
        details: { budget: 'memoryPages', requested: request.memoryPages, available: 0 },
      });
    }
    this.requests.push(request);
    this.held += 1;
    let done = false;
    return {
      id: `a${(this.#next += 1)}`,
      request,
      release: () => {
        if (done) return;
        done = true;
        this.held -= 1;
        this.released += 1;
      },
    };
  }

  fits(): boolean {
    return !this.refuse;
  }
}

/** A pool that lets the test reach the worker it lent last (to kill it mid-call). */
class SpyPool extends WorkerPool {
  last: PooledWorker | undefined;
  override async acquire(): Promise<PooledWorker> {
    this.last = await super.acquire();
    return this.last;
  }
}

const opened: Runtime[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((runtime) => runtime.close()));
});
function open(resources: ResourceAdmission, extra: Parameters<typeof containerRuntime>[0] = {}) {
  const made = containerRuntime({ resources, ...extra });
  opened.push(made.runtime);
  return made;
}
const until = async (check: () => Promise<boolean>) => {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('containers and the resource admission (counting fake; the real manager is on another branch)', () => {
  it('allocates at launch with identity, pages and worker, and releases on stop; remove releases nothing twice', async () => {
    const admission = new CountingAdmission();
    const { runtime } = open(admission);
    const id = await runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'worker',
      identity: { subject: 'user:ann' },
      limits: { memoryPages: 32 },
    });
    expect(admission.requests).toEqual([{ identity: 'user:ann', memoryPages: 32, worker: true }]);
    expect(admission.held).toBe(1);
    await runtime.stop(id);
    expect(admission.held).toBe(0);
    await runtime.remove(id);
    expect(admission.released).toBe(1);
  });

  it('a refusal propagates with its code and leaves nothing launched or held', async () => {
    const admission = new CountingAdmission();
    admission.refuse = true;
    const { runtime, states } = open(admission);
    await expect(
      runtime.launchContainer({ source: SERVICE, policy: allow, isolation: 'inline' }),
    ).rejects.toMatchObject({
      code: 'FORGE_LIMIT_MEMORY',
      details: { budget: 'memoryPages' },
    });
    expect(states).toEqual([]);
    expect(await runtime.list()).toEqual([]);
  });

  it('releases on a trap, on a command exit, on a failed launch and on a start function that traps', async () => {
    const admission = new CountingAdmission();
    const { runtime } = open(admission);
    const svc = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation: 'inline' });
    await runtime.invoke(svc, 'boom');
    expect((await runtime.get(svc)).state).toBe('failed');
    expect(admission.held).toBe(0);
    const cmd = await runtime.launchContainer({ source: COMMAND, policy: allow, isolation: 'worker' });
    await until(async () => (await runtime.get(cmd)).state === 'stopped');
    expect(admission.held).toBe(0);
    // A spec the host refuses when it builds the world: launched, failed, given back.
    const badMode = { ...allow, mode: 'bogus' } as unknown as typeof allow;
    await expect(
      runtime.launchContainer({ source: SERVICE, policy: badMode, isolation: 'inline' }),
    ).rejects.toThrow();
    expect((await runtime.list({ state: 'failed' })).length).toBe(2);
    expect(admission.held).toBe(0);
    const startTrap = new TextEncoder().encode(
      '(module (func $s unreachable) (start $s) (func (export "f")))',
    );
    const st = await runtime.launchContainer({ source: startTrap, policy: allow, isolation: 'worker' });
    expect(await runtime.get(st)).toMatchObject({ state: 'failed', reason: 'FORGE_WASM_TRAP' });
    expect(admission.held).toBe(0);
    expect(admission.released).toBe(admission.requests.length);
  });

  it('a worker that dies mid-call fails its container, gives back its allocation, and the kernel runs on', async () => {
    const admission = new CountingAdmission();
    const pool = new SpyPool();
    const { runtime } = open(admission, { pool });
    const id = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation: 'worker' });
    const call = runtime.invoke(id, 'forever');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await pool.last!.worker.terminate();
    const result = await call;
    expect(result.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_WORKER_FAILED' } });
    expect(await runtime.get(id)).toMatchObject({ state: 'failed', reason: 'FORGE_WORKER_FAILED' });
    expect(admission.held).toBe(0);
    const next = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation: 'worker' });
    expect((await runtime.invoke(next, 'count')).values).toEqual([{ type: 'i32', value: 1 }]);
    await pool.close();
  });

  it('kernel close stops every container and gives back every allocation', async () => {
    const admission = new CountingAdmission();
    const { runtime } = containerRuntime({ resources: admission, store: new MemoryStore() });
    const a = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation: 'inline' });
    const b = await runtime.launchContainer({
      source: ENDLESS,
      policy: allow,
      isolation: 'worker',
      limits: endlessLimits,
    });
    const c = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation: 'worker' });
    await runtime.pause(c);
    const d = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation: 'inline' });
    await runtime.containers.quarantine(d, 'held');
    expect(admission.held).toBe(4);
    await runtime.close();
    expect(admission.held).toBe(0);
    const states = await Promise.all([a, b, c, d].map(async (id) => (await runtime.get(id)).state));
    expect(states).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
  });

  it('more live worker services than a default pool has threads all launch and serve; past the workers budget a launch is refused, not left waiting', async () => {
    // A 2-core machine's default pool had 4 threads: the fifth live service waited for a worker
    // no container gives back, forever. The runtime's own pool is as large as the budget.
    const { runtime } = containerRuntime({ resources: new ResourceManager({ workers: 6 }) });
    const ids = [];
    for (let i = 0; i < 6; i += 1)
      ids.push(await runtime.launchContainer({ source: SERVICE, policy: allow, isolation: 'worker' }));
    for (const id of ids) expect((await runtime.invoke(id, 'count')).values[0]?.value).toBe(1);
    await expect(
      runtime.launchContainer({ source: SERVICE, policy: allow, isolation: 'worker' }),
    ).rejects.toMatchObject({ code: 'FORGE_RESOURCE_EXHAUSTED', details: { budget: 'workers' } });
    await runtime.close();
  }, 60_000);
});
