import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, MemoryStore, isKernelAuditEntryLike } from './support/auditEntries';
import { ApiClientError, TOKEN_NAMESPACE, TokenStore, apiRoutes, roleAllows, type ApiRole } from '../index';
import { SERVICE_LAUNCH, serve, type Served } from './support/apiKernel';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

const get = (served: Served, path: string, token?: string) =>
  fetch(`${served.address}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

describe('bearer tokens and roles', () => {
  it('refuses every non-public route without a token, or with a bad one, with a 401 problem', async () => {
    // Failed authentications are limited (10 a minute by default): this test makes more on purpose.
    served = await serve({ server: { rateLimits: { failedAuth: 1000 } } });
    const bad = ['', 'Bearer', 'Bearer nope', `Basic ${served.token.admin}`, `Bearer ${served.token.admin}x`];
    for (const route of Object.values(apiRoutes)) {
      if (route.access === 'public') continue;
      const path = route.path.replace(':id', 'ctr_00000000000000000000000000');
      const response = await fetch(`${served.address}${path}`, { method: route.method });
      expect(response.status, `${route.method} ${route.path}`).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'FORGE_API_UNAUTHENTICATED', status: 401 });
    }
    for (const authorization of bad.slice(0, 4)) {
      const response = await fetch(`${served.address}/v1/containers`, { headers: { authorization } });
      expect(response.status).toBe(401);
    }
    expect((await get(served, '/v1/health')).status).toBe(200);
    expect((await get(served, '/v1/openapi.json')).status).toBe(200);
  });

  it('checks the role per route: viewer reads, operator runs, admin manages tokens', async () => {
    served = await serve();
    const viewer = served.client('viewer');
    const operator = served.client('operator');
    const admin = served.client('admin');
    expect((await viewer.call('listContainers')).containers).toEqual([]);
    const refused = await viewer.call('launchContainer', { body: SERVICE_LAUNCH }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiClientError);
    expect(refused).toMatchObject({ status: 403, code: 'FORGE_API_FORBIDDEN' });
    expect((refused as ApiClientError).message).toMatch(/needs the operator role; token watcher is viewer/);
    await expect(operator.call('listTokens')).rejects.toMatchObject({ status: 403 });
    // Listed by creation time; tokens made within one millisecond fall in id order (random), so as a set.
    expect((await admin.call('listTokens')).tokens.map((t) => t.name).sort()).toEqual([
      'boss',
      'runner',
      'watcher',
    ]);
    // Nothing was launched by the refused request.
    expect(await served.kernel.runtime.list()).toEqual([]);
  });

  it('stops taking a revoked token at once, and an expired one at its time', async () => {
    const clock = new ManualClock(Date.parse('2026-03-01T00:00:00Z'));
    served = await serve({ kernel: { clock } });
    const admin = served.client('admin');
    const made = await admin.call('createToken', {
      body: { role: 'viewer', name: 'brief', expiresInMs: 60_000 },
    });
    expect(made.token).toMatch(/^fo1_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect((await get(served, '/v1/containers', made.token)).status).toBe(200);
    clock.advance(60_000);
    const expired = await get(served, '/v1/containers', made.token);
    expect(expired.status).toBe(401);
    expect((await expired.json()).detail).toMatch(/expired/);
    await admin.call('revokeToken', { params: { id: 'runner' } });
    const revoked = await get(served, '/v1/containers', served.token.operator);
    expect(revoked.status).toBe(401);
    expect((await revoked.json()).detail).toMatch(/revoked/);
  });

  it('keeps only a hash of each token', async () => {
    served = await serve();
    const rows = await served.store.listRecords(TOKEN_NAMESPACE);
    expect(rows).toHaveLength(3);
    const text = JSON.stringify(rows);
    for (const token of Object.values(served.token)) {
      expect(text).not.toContain(token);
      // The secret part (`fo1_<16 hex id>_<secret>`; the secret is base64url, so it may hold `_`).
      const secret = /^fo1_[0-9a-f]{16}_(.{43})$/.exec(token)?.[1];
      expect(secret).toBeDefined();
      expect(text).not.toContain(secret);
    }
  });

  it('attributes every authenticated change in the audit log: request id, token, operation, status', async () => {
    served = await serve();
    const operator = served.client('operator');
    const launched = await operator.call('launchContainer', { body: SERVICE_LAUNCH });
    await operator.call('pauseContainer', { params: { id: launched.id } });
    await served
      .client('viewer')
      .call('launchContainer', { body: SERVICE_LAUNCH })
      .catch(() => undefined);
    await served.client('viewer').call('listContainers');
    const audit = await served.client('viewer').call('readAudit', { query: { limit: 1000 } });
    const api = audit.records.map((r) => r.entry).filter(isKernelAuditEntryLike('api.request'));
    expect(api.map((e) => [e.facts['operation'], e.facts['token'], e.facts['status']])).toEqual([
      ['launchContainer', 'runner', 201],
      ['pauseContainer', 'runner', 200],
      ['launchContainer', 'watcher', 403],
    ]);
    expect(api[0]!.facts['requestId']).toBe(launched.requestId);
    expect(api[1]!.facts['target']).toBe(launched.id);
    expect(await served.client('viewer').call('verifyAudit')).toMatchObject({ ok: true });
  });
});

describe('TokenStore', () => {
  it('verifies exactly the tokens it made, whatever else is presented (property)', async () => {
    const tokens = new TokenStore(new MemoryStore());
    const made = await tokens.create({ role: 'operator', name: 'p' });
    const forged = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.stringMatching(/^fo1_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/),
      // The right id with any other secret.
      fc.stringMatching(/^[A-Za-z0-9_-]{43}$/).map((secret) => `fo1_${made.info.id}_${secret}`),
    );
    await fc.assert(
      fc.asyncProperty(forged, async (presented) => {
        const verdict = await tokens.verify(presented);
        expect(verdict.ok).toBe(presented === made.token);
      }),
      { numRuns: 200 },
    );
    expect(await tokens.verify(made.token)).toMatchObject({
      ok: true,
      info: { name: 'p', role: 'operator' },
    });
  });

  it('refuses bad options with FORGE_API_TOKEN_INVALID and unknown revocations with FORGE_API_TOKEN_NOT_FOUND', async () => {
    const clock = new ManualClock(1_000_000);
    const tokens = new TokenStore(new MemoryStore(), { clock });
    await expect(tokens.create({ role: 'root' as ApiRole })).rejects.toMatchObject({
      code: 'FORGE_API_TOKEN_INVALID',
    });
    await expect(tokens.create({ role: 'viewer', name: '../x' })).rejects.toMatchObject({
      code: 'FORGE_API_TOKEN_INVALID',
    });
    await expect(tokens.create({ role: 'viewer', expiresAt: 999_999 })).rejects.toMatchObject({
      code: 'FORGE_API_TOKEN_INVALID',
    });
    await tokens.create({ role: 'viewer', name: 'once' });
    await expect(tokens.create({ role: 'viewer', name: 'once' })).rejects.toMatchObject({
      code: 'FORGE_API_TOKEN_INVALID',
    });
    await expect(tokens.revoke('nobody')).rejects.toMatchObject({ code: 'FORGE_API_TOKEN_NOT_FOUND' });
  });

  it('orders roles: each can do what the weaker ones can', () => {
    expect(roleAllows('viewer', 'viewer')).toBe(true);
    expect(roleAllows('viewer', 'operator')).toBe(false);
    expect(roleAllows('operator', 'viewer')).toBe(true);
    expect(roleAllows('operator', 'admin')).toBe(false);
    expect(roleAllows('admin', 'operator')).toBe(true);
    expect(roleAllows('viewer', 'public')).toBe(true);
  });
});
