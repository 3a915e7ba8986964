import { afterEach, describe, expect, it } from 'vitest';
import { ApiClientError } from '../index';
import { SERVICE_LAUNCH, base64, serve, type Served } from './support/apiKernel';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

/** A service whose `probe` logs (which the policy below quarantines) and returns 9. */
const PROBER = `(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "probe")
  (func (export "probe") (result i32) (drop (call $log (i32.const 64) (i32.const 5))) (i32.const 9)))`;

const QUARANTINE_ON_LOG = {
  apiVersion: 'forgeone.dev/v1',
  kind: 'Policy',
  metadata: { name: 'quiet' },
  spec: {
    entry: 'base',
    nodes: [
      {
        name: 'base',
        rules: [
          {
            id: 'no-logging',
            action: 'quarantine',
            message: 'the guest tried to log',
            match: { syscall: 'forge.log' },
          },
        ],
      },
    ],
  },
};

describe('containers over the API', () => {
  it('launches, invokes, pauses, resumes, stops and removes a service, and serves its trace, summary and DNA', async () => {
    served = await serve();
    const operator = served.client('operator');
    const viewer = served.client('viewer');
    const { id, container } = await operator.call('launchContainer', { body: SERVICE_LAUNCH });
    expect(container).toMatchObject({ id, name: 'adder', kind: 'service', state: 'running' });
    const sum = await operator.call('invokeContainer', {
      params: { id },
      body: {
        export: 'add',
        args: [
          { type: 'i32', value: 2 },
          { type: 'i32', value: 40 },
        ],
      },
    });
    expect(sum).toEqual({
      outcome: { status: 'returned', exitCode: 0 },
      values: [{ type: 'i32', value: 42 }],
      requestId: expect.any(String),
      decisions: { count: 0 },
    });
    for (let i = 0; i < 3; i += 1)
      await operator.call('invokeContainer', { params: { id }, body: { export: 'tick' } });
    expect((await operator.call('pauseContainer', { params: { id } })).state).toBe('paused');
    await expect(operator.call('pauseContainer', { params: { id } })).rejects.toMatchObject({
      status: 409,
      code: 'FORGE_CONTAINER_STATE',
    });
    expect((await operator.call('resumeContainer', { params: { id } })).state).toBe('running');
    expect(
      (await viewer.call('listContainers', { query: { state: 'running' } })).containers.map((c) => c.id),
    ).toEqual([id]);
    expect((await operator.call('stopContainer', { params: { id } })).state).toBe('stopped');
    expect((await viewer.call('getContainer', { params: { id } })).state).toBe('stopped');

    const page = await viewer.call('getContainerTrace', { params: { id }, query: { limit: 2 } });
    expect(page.events.map((e) => e['syscall'])).toEqual(['forge.clock_now', 'forge.clock_now']);
    expect(page.next).toEqual(expect.any(String));
    const rest = await viewer.call('getContainerTrace', { params: { id }, query: { cursor: page.next! } });
    expect(rest.events.map((e) => e['seq'])).toEqual([3]);
    const { dna } = await viewer.call('getContainerDna', { params: { id } });
    expect(dna).toMatchObject({ containerId: id });
    expect(JSON.stringify(dna)).toContain('forge.clock_now');
    const summary = await viewer.call('getContainerSummary', { params: { id }, query: { budget: 500 } });
    expect(summary.text).toContain('clock_now');

    expect(await operator.call('removeContainer', { params: { id } })).toEqual({ ok: true });
    await expect(viewer.call('getContainer', { params: { id } })).rejects.toMatchObject({
      status: 404,
      code: 'FORGE_CONTAINER_NOT_FOUND',
    });
  });

  it('answers a trap as the call outcome, with its code and no internals', async () => {
    served = await serve();
    const operator = served.client('operator');
    const { id } = await operator.call('launchContainer', {
      body: { ...SERVICE_LAUNCH, module: base64('(module (func (export "boom") unreachable))') },
    });
    const result = await operator.call('invokeContainer', { params: { id }, body: { export: 'boom' } });
    expect(result.outcome).toMatchObject({
      status: 'trapped',
      exitCode: null,
      code: expect.stringMatching(/^FORGE_/),
    });
    expect(result.outcome.message).not.toMatch(/\/work\/|node_modules/);
  });

  it('refuses an invalid module with a coded 4xx and leaves nothing running', async () => {
    served = await serve();
    const refused = await served
      .client('operator')
      .call('launchContainer', {
        body: { ...SERVICE_LAUNCH, module: base64('(module (func (export "f") (i32.add)))') },
      })
      .catch((e: unknown) => e as ApiClientError);
    expect(refused).toBeInstanceOf(ApiClientError);
    expect((refused as ApiClientError).status).toBeGreaterThanOrEqual(400);
    expect((refused as ApiClientError).status).toBeLessThan(500);
    expect((await served.kernel.runtime.list({ state: 'running' })).length).toBe(0);
  });

  it('refuses unsigned development modules where they are not allowed', async () => {
    served = await serve({ server: { allowDevelopmentModules: false } });
    await expect(
      served.client('admin').call('launchContainer', { body: SERVICE_LAUNCH }),
    ).rejects.toMatchObject({
      status: 403,
      code: 'FORGE_API_DEVELOPMENT_MODULE_REFUSED',
    });
    expect(await served.kernel.runtime.list()).toEqual([]);
  });

  it('lists, shows, releases and terminates quarantined containers', async () => {
    served = await serve();
    const operator = served.client('operator');
    const viewer = served.client('viewer');
    const launch = () =>
      operator.call('launchContainer', {
        body: {
          module: base64(PROBER),
          isolation: 'inline',
          policy: { mode: 'enforce', document: QUARANTINE_ON_LOG },
        },
      });
    const quarantined = (id: string) =>
      new Promise<void>((done) => {
        const off = served!.kernel.events.on('quarantine.recorded', (e) => {
          if (e.containerId === id) {
            off();
            done();
          }
        });
      });
    const { id } = await launch();
    const held = quarantined(id);
    // The call is held at its syscall until the container is released.
    const call = operator.call('invokeContainer', { params: { id }, body: { export: 'probe' } });
    await held;
    const { records } = await viewer.call('listQuarantine');
    expect(records).toEqual([expect.objectContaining({ containerId: id, reason: expect.any(String) })]);
    expect(await viewer.call('getQuarantine', { params: { id } })).toMatchObject({
      containerId: id,
      firedRules: ['base/no-logging'],
    });
    expect((await operator.call('releaseQuarantine', { params: { id } })).state).toBe('running');
    expect((await call).outcome.status).toBeDefined();

    const second = await launch();
    const heldAgain = quarantined(second.id);
    const secondCall = operator
      .call('invokeContainer', { params: { id: second.id }, body: { export: 'probe' } })
      .catch((e: unknown) => e);
    await heldAgain;
    expect((await operator.call('terminateQuarantine', { params: { id: second.id } })).state).toBe('stopped');
    await secondCall;
    await expect(
      viewer.call('getQuarantine', { params: { id: 'ctr_00000000000000000000000000' } }),
    ).rejects.toMatchObject({
      status: 404,
    });
  });
});
