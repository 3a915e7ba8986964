import { afterEach, describe, expect, it } from 'vitest';
import { serve, type Served } from './support/apiKernel';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

const policyYaml = (allow: readonly string[], name = 'p') => `apiVersion: forgeone.dev/v1
kind: Policy
metadata: { name: ${name} }
spec:
  nodes:
    - name: base
      rules:
        - id: ok
          action: allow
          match: { syscall: [${allow.join(', ')}] }
`;

const casesYaml = (syscall: string, action: 'allow' | 'deny') => `apiVersion: forgeone.dev/v1
kind: PolicyTests
cases:
  - name: ${syscall} is ${action}ed
    request: { syscall: ${syscall} }
    expect: { action: ${action} }
`;

async function withPolicy(): Promise<Served> {
  return serve({ kernel: { policy: { document: policyYaml(['forge.clock_now']), source: 'boot' } } });
}

/** Raw POST of a body as JSON text with the admin token. */
async function post(s: Served, path: string, body: string, role: 'viewer' | 'admin' = 'admin') {
  const response = await fetch(`${s.address}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token[role]}`, 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('/v1/policies', () => {
  it('lists versions, stores an upload without activating it, activates it, and rolls back as a new version', async () => {
    served = await withPolicy();
    const admin = served.client('admin');
    const viewer = served.client('viewer');
    const first = await viewer.call('listPolicies', {});
    expect(first).toMatchObject({ active: 1, mode: 'enforce', source: 'api' });
    expect(first.versions).toEqual([
      expect.objectContaining({ version: 1, kind: 'initial', active: true, source: 'boot', actor: null }),
    ]);

    const uploaded = await admin.call('uploadPolicy', {
      body: {
        document: policyYaml(['forge.clock_now', 'forge.log']),
        tests: casesYaml('forge.log', 'allow'),
        reason: 'let it log',
      },
    });
    expect(uploaded).toMatchObject({
      activated: false,
      version: {
        version: 2,
        kind: 'stored',
        active: false,
        wentLive: false,
        testsPassed: 1,
        actor: 'api:boss',
      },
    });
    // Kept, not in force: launches still run under version 1.
    expect(served.kernel.policies!.version).toBe(1);
    const doc = await viewer.call('getPolicy', { params: { version: '2' } });
    expect(doc.document).toMatchObject({ metadata: { name: 'p' } });

    const live = await admin.call('activatePolicy', { params: { version: '2' }, body: { reason: 'go' } });
    expect(live.version).toMatchObject({ version: 2, active: true, wentLive: true });
    expect(served.kernel.policies!.version).toBe(2);

    // Rollback: version 1 again, as version 3 (the live number only grows).
    const back = await admin.call('activatePolicy', { params: { version: '1' } });
    expect(back.version).toMatchObject({ version: 3, kind: 'activate', from: 1, active: true });
    expect(served.kernel.policies!.current.digest).toBe(first.versions[0]!.digest);
    const listed = await viewer.call('listPolicies', {});
    expect(listed.active).toBe(3);
    expect(listed.versions.map((v) => [v.version, v.active])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);

    // `activate: true` puts an upload in force at once.
    const now = await admin.call('uploadPolicy', {
      body: { document: policyYaml(['forge.log']), activate: true },
    });
    expect(now).toMatchObject({ activated: true, version: { version: 4, kind: 'swap', active: true } });

    // Each change's audit record names the version it made: the number decisions carry.
    const audit = await viewer.call('readAudit', { query: { limit: 1000 } });
    const made = audit.records
      .map((r) => r.entry as { kernel?: string; facts?: Record<string, unknown> })
      .filter((e) => e.kernel === 'api.request' && /Policy$/.test(String(e.facts?.['operation'])))
      .map((e) => [e.facts!['operation'], (e.facts!['caused'] as { policyVersion?: number })?.policyVersion]);
    expect(made).toEqual([
      ['uploadPolicy', 2],
      ['activatePolicy', 2],
      ['activatePolicy', 3],
      ['uploadPolicy', 4],
    ]);
  });

  it('refuses a viewer (403) and an operator (403) an upload or an activation, changing nothing', async () => {
    served = await withPolicy();
    for (const role of ['viewer', 'operator'] as const) {
      const client = served.client(role);
      await expect(
        client.call('uploadPolicy', { body: { document: policyYaml(['forge.log']) } }),
      ).rejects.toMatchObject({ status: 403, code: 'FORGE_API_FORBIDDEN' });
      await expect(client.call('activatePolicy', { params: { version: '1' } })).rejects.toMatchObject({
        status: 403,
      });
    }
    expect(served.kernel.policies!.versions()).toHaveLength(1);
  });

  it('refuses hostile uploads whole, with a problem naming the cause, and keeps nothing', async () => {
    served = await withPolicy();
    const admin = served.client('admin');
    const refused = async (body: Record<string, unknown>, status: number, cause: RegExp | string) => {
      const error = await admin.call('uploadPolicy', { body: body as never }).catch((e: unknown) => e);
      expect(error).toMatchObject({ status });
      const problem = (error as { problem: { code: string; detail: string } }).problem;
      expect(`${problem.code} ${problem.detail}`).toMatch(cause);
      expect(problem.detail).not.toMatch(/\n|at .*\.ts:/);
    };
    // Malformed YAML.
    await refused({ document: 'spec: [unclosed' }, 422, /FORGE_POLICY_SWAP_REFUSED.*FORGE_POLICY_PARSE/);
    // A YAML bomb: aliases nested until their expansion would be enormous.
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from({ length: 9 }, (_, i) => {
        const prev = String.fromCharCode(97 + i);
        const name = String.fromCharCode(98 + i);
        return `${name}: &${name} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`;
      }),
    ].join('\n');
    await refused(
      { document: bomb },
      422,
      /FORGE_POLICY_SWAP_REFUSED.*FORGE_POLICY_(PARSE|TOO_LARGE|INVALID)/,
    );
    // A policy that fails its own test cases.
    await refused(
      { document: policyYaml(['forge.clock_now']), tests: casesYaml('forge.log', 'allow') },
      422,
      /FORGE_POLICY_TEST_FAILED.*forge\.log is allowed/,
    );
    // A syscall that does not exist.
    await refused({ document: policyYaml(['forge.nope']) }, 422, /FORGE_POLICY_UNKNOWN_SYSCALL/);
    // Not a policy at all; an unknown field.
    await refused({ document: '{"hello": 1}' }, 422, /FORGE_POLICY_SWAP_REFUSED/);
    await refused({ document: policyYaml(['forge.log']), extra: true }, 400, /FORGE_INVALID_INPUT/);
    // Too large a body.
    const huge = await post(served, '/v1/policies', JSON.stringify({ document: 'x'.repeat(700_000) }));
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ code: 'FORGE_API_BODY_TOO_LARGE' });
    // Malformed JSON.
    const broken = await post(served, '/v1/policies', '{"document": ');
    expect(broken.status).toBe(400);
    // Nothing was kept; version 1 is in force.
    expect(served.kernel.policies!.versions().map((v) => v.version)).toEqual([1]);
    expect(served.kernel.policies!.version).toBe(1);
  });

  it('answers 404 for an unknown version and 400 for one that is not a number (path traversal)', async () => {
    served = await withPolicy();
    const viewer = served.client('viewer');
    const admin = served.client('admin');
    await expect(viewer.call('getPolicy', { params: { version: '7' } })).rejects.toMatchObject({
      status: 404,
      code: 'FORGE_POLICY_VERSION_NOT_FOUND',
    });
    await expect(admin.call('activatePolicy', { params: { version: '7' } })).rejects.toMatchObject({
      status: 404,
      code: 'FORGE_POLICY_VERSION_NOT_FOUND',
    });
    for (const bad of ['..%2F..%2Fetc%2Fpasswd', '0', '-1', '1.5', '1e3', '99999999999']) {
      const response = await fetch(`${served.address}/v1/policies/${bad}`, {
        headers: { authorization: `Bearer ${served.token.viewer}` },
      });
      expect([400, 404]).toContain(response.status);
      expect(response.headers.get('content-type')).toMatch(/problem\+json/);
    }
    const traversal = await fetch(`${served.address}/v1/policies/..%2F1`, {
      headers: { authorization: `Bearer ${served.token.viewer}` },
    });
    expect(traversal.status).toBe(400);
    expect(served.kernel.policies!.version).toBe(1);
  });

  it('explains a request against the live policy with the engine’s own decision and reasons', async () => {
    served = await withPolicy();
    const viewer = served.client('viewer');
    const allowed = await viewer.call('explainPolicy', { body: { request: { syscall: 'forge.clock_now' } } });
    expect(allowed).toMatchObject({ version: 1, mode: 'enforce', action: 'allow', decidedBy: 'base/ok' });
    expect(allowed.digest).toBe(served.kernel.policies!.current.digest);
    const denied = await viewer.call('explainPolicy', {
      body: { request: { syscall: 'forge.log', args: { message: 'hi' } }, context: { markers: [] } },
    });
    expect(denied).toMatchObject({ action: 'deny', decidedBy: null });
    expect(denied.reasons.length).toBeGreaterThan(0);
    expect(denied.decision).toMatchObject({ action: 'deny', visited: ['base'], matched: [] });
    // After a swap, the explanation follows the new version.
    await served.client('admin').call('uploadPolicy', {
      body: { document: policyYaml(['forge.log']), activate: true },
    });
    expect(await viewer.call('explainPolicy', { body: { request: { syscall: 'forge.log' } } })).toMatchObject(
      { version: 2, action: 'allow' },
    );
    // A malformed request is 400, naming the field.
    const bad = await post(
      served,
      '/v1/policies/explain',
      JSON.stringify({ request: { syscall: 'NOPE' } }),
      'viewer',
    );
    expect(bad.status).toBe(400);
  });

  it('answers 501 on a kernel without a live policy', async () => {
    served = await serve();
    await expect(served.client('viewer').call('listPolicies', {})).rejects.toMatchObject({
      status: 501,
      code: 'FORGE_API_NOT_AVAILABLE',
    });
  });

  it('streams stored and activated versions on /v1/events', async () => {
    served = await withPolicy();
    const seen: string[] = [];
    const offStored = served.kernel.events.on('policy.stored', ({ version }) =>
      seen.push(`stored ${version}`),
    );
    const offLive = served.kernel.events.on('policy.reloaded', ({ version }) => seen.push(`live ${version}`));
    const admin = served.client('admin');
    await admin.call('uploadPolicy', { body: { document: policyYaml(['forge.log']) } });
    await admin.call('activatePolicy', { params: { version: '2' } });
    offStored();
    offLive();
    expect(seen).toEqual(['stored 2', 'live 2']);
    const response = await fetch(`${served.address}/v1/events`, {
      headers: { authorization: `Bearer ${served.token.viewer}`, 'last-event-id': '0' },
    });
    const reader = response.body!.getReader();
    let text = '';
    while (!/policy\.reloaded/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toMatch(/event: policy\.stored/);
    expect(text).toMatch(/event: policy\.reloaded/);
  });
});
