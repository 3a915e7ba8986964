import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@forgeone/common';
import {
  PrivateKey,
  buildPackage,
  createRootSigned,
  signPackage,
  signRoot,
  verifyRootChain,
} from '@forgeone/crypto';
import { ApiClientError } from '../index';
import { base64, encode, serve, type Served } from './support/apiKernel';

// Workloads over the API: core's Scheduler over the kernel's runtime runs installed packages in
// priority order after their dependencies; a failure cancels its dependents; cancel reaches the queue.

const NOW = Date.parse('2030-01-01T00:00:00Z');
const key = PrivateKey.fromSeed('ed25519', new Uint8Array(32).fill(11));
const rootDocument = signRoot(
  createRootSigned({
    expires: '2031-01-01T00:00:00Z',
    root: { keys: [key.publicKey], threshold: { ed25519: 1 } },
  }),
  [key],
);
const trustRoot = verifyRootChain([rootDocument], { clock: new ManualClock(NOW) });

const COMMANDS = {
  job: `(module (import "forge" "clock_now" (func $now (param i32) (result i32)))
    (memory (export "memory") 1) (func (export "_start") (drop (call $now (i32.const 8)))))`,
  boom: `(module (memory (export "memory") 1) (func (export "_start") unreachable))`,
  spin: `(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))`,
};

function packageOf(name: keyof typeof COMMANDS): Uint8Array {
  const built = buildPackage(
    {
      name,
      version: '1.0.0',
      entry: 'main.wat',
      created_at: '2029-06-01T00:00:00Z',
      expires_at: '2030-06-01T00:00:00Z',
      capabilities: ['forge.clock_now'],
    },
    new Map([['main.wat', encode(COMMANDS[name])]]),
  );
  return signPackage(built.bytes, [key]);
}

const POLICY = { mode: 'enforce' as const, allow: ['forge.clock_now'] };
const run = (id: string, name: keyof typeof COMMANDS, extra: Record<string, unknown> = {}) => ({
  id,
  package: { name, version: '1.0.0' },
  policy: POLICY,
  isolation: 'inline' as const,
  ...extra,
});

let served: Served;
beforeAll(async () => {
  served = await serve({
    kernel: { clock: new ManualClock(NOW), boot: { root: rootDocument } },
    server: { trustRoot, workloads: { concurrency: 1 } },
  });
  for (const name of Object.keys(COMMANDS) as Array<keyof typeof COMMANDS>)
    await served.client('operator').call('uploadPackage', { body: packageOf(name) });
});
afterAll(() => served.close());

/** The listed workloads once none of `ids` is still to finish (bounded wait). */
async function settled(ids: readonly string[]) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { workloads } = await served.client('viewer').call('listWorkloads');
    const mine = workloads.filter((w) => ids.includes(w.id));
    if (
      mine.length === ids.length &&
      mine.every((w) => ['succeeded', 'failed', 'cancelled'].includes(w.state))
    )
      return new Map(mine.map((w) => [w.id, w]));
    if (Date.now() > deadline) throw new Error(`workloads did not finish: ${JSON.stringify(mine)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('workloads over the API', () => {
  it('runs a graph in priority order after its dependencies', async () => {
    const operator = served.client('operator');
    const { ids } = await operator.call('submitWorkloads', {
      body: {
        workloads: [
          run('late', 'job', { priority: 'low' }),
          run('first', 'job', { priority: 'critical', tenant: 'ops' }),
          run('second', 'job', { dependsOn: ['first'] }),
        ],
      },
    });
    expect(ids).toEqual(['late', 'first', 'second']);
    const done = await settled(ids);
    expect([...done.values()].map((w) => [w.id, w.state, w.exitCode])).toEqual([
      ['late', 'succeeded', 0],
      ['first', 'succeeded', 0],
      ['second', 'succeeded', 0],
    ]);
    const order = ['first', 'second', 'late'].map((id) => done.get(id)!.startOrder!);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(done.get('first')).toMatchObject({ priority: 'critical', tenant: 'ops' });
    // Each was a run of its own.
    const runs = new Set([...done.values()].map((w) => w.containerId));
    expect(runs.size).toBe(3);
    for (const id of runs) expect(id).toMatch(/^ctr_/);
    const { scheduler } = await served.client('viewer').call('listWorkloads');
    expect(scheduler).toMatchObject({ policy: 'priority', concurrency: 1, running: 0 });
  });

  it('fails a trapping workload and cancels what depends on it', async () => {
    const { ids } = await served.client('operator').call('submitWorkloads', {
      body: { workloads: [run('bad', 'boom'), run('child', 'job', { dependsOn: ['bad'] })] },
    });
    const done = await settled(ids);
    expect(done.get('bad')).toMatchObject({ state: 'failed', exitCode: null });
    expect(done.get('bad')!.reason).toMatch(/^FORGE_/);
    expect(done.get('child')).toMatchObject({ state: 'cancelled', startOrder: null });
    expect(done.get('child')!.reason).toMatch(/bad/);
    const failed = await served.client('viewer').call('listWorkloads', { query: { state: 'failed' } });
    expect(failed.workloads.map((w) => w.id)).toEqual(['bad']);
  });

  it('cancels a waiting workload; finished and unknown ones are refused', async () => {
    const operator = served.client('operator');
    const { ids } = await operator.call('submitWorkloads', {
      body: {
        workloads: [
          run('spinner', 'spin', { isolation: 'worker', limits: { timeoutMs: 1500 } }),
          run('waiter', 'job', { dependsOn: ['spinner'] }),
        ],
      },
    });
    expect(await operator.call('cancelWorkload', { params: { id: 'waiter' } })).toEqual({ ok: true });
    const done = await settled(ids);
    expect(done.get('waiter')).toMatchObject({ state: 'cancelled', startOrder: null });
    expect(done.get('spinner')!.state).toBe('failed');
    await expect(operator.call('cancelWorkload', { params: { id: 'waiter' } })).rejects.toMatchObject({
      status: 409,
      code: 'FORGE_API_WORKLOAD_STATE',
    });
    await expect(operator.call('cancelWorkload', { params: { id: 'nobody' } })).rejects.toMatchObject({
      status: 404,
      code: 'FORGE_API_WORKLOAD_NOT_FOUND',
    });
    await expect(
      served.client('viewer').call('cancelWorkload', { params: { id: 'spinner' } }),
    ).rejects.toMatchObject({ status: 403 });
  });

  it('refuses bad batches whole: cycles, duplicates, unknown packages, dependencies and modules', async () => {
    const operator = served.client('operator');
    const refused = async (workloads: unknown[]) => {
      const error = await operator.call('submitWorkloads', { body: { workloads } as never }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ApiClientError);
      return (error as ApiClientError).code;
    };
    expect(
      await refused([run('a', 'job', { dependsOn: ['b'] }), run('b', 'job', { dependsOn: ['a'] })]),
    ).toBe('FORGE_SCHEDULER_CYCLE');
    expect(await refused([run('twin', 'job'), run('twin', 'job')])).toBe('FORGE_SCHEDULER_DUPLICATE');
    expect(await refused([run('x', 'job', { dependsOn: ['never'] })])).toBe(
      'FORGE_SCHEDULER_UNKNOWN_DEPENDENCY',
    );
    expect(await refused([{ ...run('y', 'job'), package: { name: 'ghost', version: '1.0.0' } }])).toBe(
      'FORGE_API_PACKAGE_NOT_FOUND',
    );
    expect(await refused([{ id: 'dev', module: base64('(module)'), policy: POLICY }])).toBe(
      'FORGE_API_DEVELOPMENT_MODULE_REFUSED',
    );
    expect(await refused([{ ...run('z', 'job'), id: '../etc' }])).toBe('FORGE_INVALID_INPUT');
    expect(await refused([{ ...run('both', 'job'), module: base64('(module)') }])).toBe(
      'FORGE_INVALID_INPUT',
    );
    const { workloads } = await served.client('viewer').call('listWorkloads');
    expect(
      workloads.map((w) => w.id).filter((id) => ['a', 'b', 'twin', 'x', 'y', 'dev', 'z'].includes(id)),
    ).toEqual([]);
  });
});

describe('workloads on a development kernel', () => {
  it('runs a development module (allowed there) and refuses a package (no trust root)', async () => {
    const dev = await serve();
    try {
      const operator = dev.client('operator');
      const { ids } = await operator.call('submitWorkloads', {
        body: {
          workloads: [{ id: 'dev', module: base64(COMMANDS.job), policy: POLICY, isolation: 'inline' }],
        },
      });
      const deadline = Date.now() + 15_000;
      let state = '';
      while (Date.now() < deadline) {
        const { workloads } = await dev.client('viewer').call('listWorkloads');
        state = workloads.find((w) => w.id === ids[0])?.state ?? '';
        if (state === 'succeeded' || state === 'failed') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(state).toBe('succeeded');
      await expect(
        operator.call('submitWorkloads', { body: { workloads: [run('signed', 'job')] } }),
      ).rejects.toMatchObject({ status: 403, code: 'FORGE_API_NO_TRUST_ROOT' });
    } finally {
      await dev.close();
    }
  });
});
