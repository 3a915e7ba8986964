import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@forgeone/common';
import {
  PrivateKey,
  buildPackage,
  createRootSigned,
  sha256Hex,
  signPackage,
  signRoot,
  verifyRootChain,
} from '@forgeone/crypto';
import { createApiServer, createKernel } from '../index';
import { SERVICE_LAUNCH, encode, serve, type Served } from './support/apiKernel';

// Packages over the API: a ForgePkg is verified against the kernel's boot root (signers, expiry,
// content, rollback floor) before anything is stored, and a container launched from it gets no
// more than its manifest, whatever the launch's policy allows.

const NOW = Date.parse('2030-01-01T00:00:00Z');
const key = PrivateKey.fromSeed('ed25519', new Uint8Array(32).fill(7));
const stranger = PrivateKey.fromSeed('ed25519', new Uint8Array(32).fill(9));
const rootDocument = signRoot(
  createRootSigned({
    expires: '2031-01-01T00:00:00Z',
    root: { keys: [key.publicKey], threshold: { ed25519: 1 } },
  }),
  [key],
);
const trustRoot = verifyRootChain([rootDocument], { clock: new ManualClock(NOW) });

/** A service: `tick` reads the clock (in the manifest), `shout` logs (outside it), `add` adds. */
const GUEST = `(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "hello")
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "tick") (result i32) (call $now (i32.const 8)))
  (func (export "shout") (result i32) (call $log (i32.const 64) (i32.const 5))))`;

function packageOf(
  options: { version?: string; name?: string; expires?: string; signer?: PrivateKey } = {},
): Uint8Array {
  const built = buildPackage(
    {
      name: options.name ?? 'adder',
      version: options.version ?? '1.0.0',
      entry: 'main.wat',
      created_at: '2029-06-01T00:00:00Z',
      expires_at: options.expires ?? '2030-06-01T00:00:00Z',
      capabilities: ['forge.clock_now'],
    },
    new Map([['main.wat', encode(GUEST)]]),
  );
  return signPackage(built.bytes, [options.signer ?? key]);
}

const GOOD = packageOf();

let served: Served;
beforeAll(async () => {
  // No trustRoot option: the server verifies against the root the kernel booted on, as the daemon's does.
  served = await serve({ kernel: { clock: new ManualClock(NOW), boot: { root: rootDocument } } });
});
afterAll(() => served.close());

async function installedKeys(): Promise<string[]> {
  const { packages } = await served.client('viewer').call('listPackages');
  return packages.map((p) => `${p.name}@${p.version}`);
}

/** Posts raw bytes as a package, answering the status and the problem's code. */
async function upload(bytes: Uint8Array, role: 'viewer' | 'operator' = 'operator') {
  const response = await fetch(`${served.address}/v1/packages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.token[role]}`, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(bytes),
  });
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, code: body['code'], body, type: response.headers.get('content-type') };
}

describe('packages over the API', () => {
  it('uploads a signed package, lists, inspects and removes it; a duplicate is refused', async () => {
    const operator = served.client('operator');
    const info = await operator.call('uploadPackage', { body: GOOD });
    expect(info).toMatchObject({
      name: 'adder',
      version: '1.0.0',
      sha256: sha256Hex(GOOD),
      size: GOOD.length,
      capabilities: ['forge.clock_now'],
      signers: [{ keyId: expect.any(String), algorithm: 'ed25519' }],
      installedAt: new Date(NOW).toISOString(),
    });
    expect(await installedKeys()).toEqual(['adder@1.0.0']);
    const detail = await served
      .client('viewer')
      .call('getPackage', { params: { name: 'adder', version: '1.0.0' } });
    expect(detail.manifest).toMatchObject({ name: 'adder', entry: 'main.wat' });
    expect(detail.sha256).toBe(info.sha256);
    expect(await upload(GOOD)).toMatchObject({ status: 409, code: 'FORGE_API_PACKAGE_EXISTS' });
    await expect(
      served.client('viewer').call('removePackage', { params: { name: 'adder', version: '1.0.0' } }),
    ).rejects.toMatchObject({ status: 403 });
    expect(await operator.call('removePackage', { params: { name: 'adder', version: '1.0.0' } })).toEqual({
      ok: true,
    });
    expect(await installedKeys()).toEqual([]);
    await expect(
      operator.call('getPackage', { params: { name: 'adder', version: '1.0.0' } }),
    ).rejects.toMatchObject({ status: 404, code: 'FORGE_API_PACKAGE_NOT_FOUND' });
    // Removing keeps the rollback floor: the same version may come back, an older one may not.
    expect((await operator.call('uploadPackage', { body: GOOD })).version).toBe('1.0.0');
    await operator.call('removePackage', { params: { name: 'adder', version: '1.0.0' } });
  });

  it('refuses hostile packages with their codes and stores nothing', async () => {
    const tampered = new Uint8Array(GOOD);
    tampered[tampered.length - 100] = tampered[tampered.length - 100]! ^ 0x01;
    const cases: Array<[string, Uint8Array, number, string]> = [
      ['not a package', encode('hello, I am a zip file'), 422, 'FORGE_PKG_MALFORMED'],
      ['empty', new Uint8Array(0), 422, 'FORGE_PKG_MALFORMED'],
      ['wrong signer', packageOf({ name: 'other', signer: stranger }), 422, 'FORGE_PKG_THRESHOLD'],
      ['expired', packageOf({ name: 'old', expires: '2029-12-01T00:00:00Z' }), 422, 'FORGE_PKG_EXPIRED'],
    ];
    for (const [what, bytes, status, code] of cases) {
      const answer = await upload(bytes);
      expect({ what, status: answer.status, code: answer.code }).toMatchObject({ what, status });
      if (status === 422) expect(String(answer.code), what).toMatch(/^FORGE_PKG_/);
      else expect(answer.code, what).toBe(code);
      expect(answer.type).toContain('application/problem+json');
    }
    const bad = await upload(tampered);
    expect(bad.status).toBe(422);
    expect(String(bad.code)).toMatch(/^FORGE_PKG_/);
    expect(await upload(GOOD, 'viewer')).toMatchObject({ status: 403, code: 'FORGE_API_FORBIDDEN' });
    const huge = await upload(new Uint8Array(24 * 1024 * 1024 + 1));
    expect(huge).toMatchObject({ status: 413, code: 'FORGE_API_BODY_TOO_LARGE' });
    expect(await installedKeys()).toEqual([]);
  });

  it('refuses an older version of an installed name (FORGE_PKG_ROLLBACK)', async () => {
    const operator = served.client('operator');
    await operator.call('uploadPackage', { body: packageOf({ name: 'rolled', version: '2.0.0' }) });
    const older = await upload(packageOf({ name: 'rolled', version: '1.9.9' }));
    expect(older).toMatchObject({ status: 409, code: 'FORGE_PKG_ROLLBACK' });
    expect(await installedKeys()).toEqual(['rolled@2.0.0']);
    await operator.call('removePackage', { params: { name: 'rolled', version: '2.0.0' } });
    // Removal does not lower the floor.
    expect(await upload(packageOf({ name: 'rolled', version: '1.9.9' }))).toMatchObject({
      code: 'FORGE_PKG_ROLLBACK',
    });
  });

  it('refuses bad names and versions in the path', async () => {
    for (const path of ['..%2F..%2Fetc/1.0.0', 'adder/1.0', 'Adder/1.0.0', 'adder/..', 'adder/1.0.0%2F..']) {
      const response = await fetch(`${served.address}/v1/packages/${path}`, {
        headers: { authorization: `Bearer ${served.token.viewer}` },
      });
      expect([400, 404], path).toContain(response.status);
      expect(((await response.json()) as { code: string }).code, path).toMatch(
        /^FORGE_(INVALID_INPUT|NOT_FOUND)$/,
      );
    }
  });

  it('never installs a package with one byte changed (property)', async () => {
    const signed = packageOf({ name: 'flip' });
    await fc.assert(
      fc.asyncProperty(fc.nat(signed.length - 1), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
        const bytes = new Uint8Array(signed);
        bytes[at] = bytes[at]! ^ mask;
        const answer = await upload(bytes);
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(String(answer.code)).toMatch(/^FORGE_/);
      }),
      { numRuns: 25 },
    );
    expect(await installedKeys()).toEqual([]);
  });

  it('launches an installed package: its calls run within the manifest, one outside it is denied', async () => {
    const operator = served.client('operator');
    await operator.call('uploadPackage', { body: packageOf({ name: 'bounded' }) });
    // This kernel booted on a root: development modules are refused, packages are not.
    await expect(operator.call('launchContainer', { body: SERVICE_LAUNCH })).rejects.toMatchObject({
      code: 'FORGE_API_DEVELOPMENT_MODULE_REFUSED',
    });
    const { id, container } = await operator.call('launchContainer', {
      body: {
        package: { name: 'bounded', version: '1.0.0' },
        isolation: 'inline',
        kind: 'service',
        // The policy would allow forge.log; the manifest does not.
        policy: { mode: 'enforce', allow: ['forge.clock_now', 'forge.log'] },
      },
    });
    expect(container).toMatchObject({ state: 'running', kind: 'service' });
    const sum = await operator.call('invokeContainer', {
      params: { id },
      body: {
        export: 'add',
        args: [
          { type: 'i32', value: 40 },
          { type: 'i32', value: 2 },
        ],
      },
    });
    expect(sum.values).toEqual([{ type: 'i32', value: 42 }]);
    await operator.call('invokeContainer', { params: { id }, body: { export: 'tick' } });
    await operator.call('invokeContainer', { params: { id }, body: { export: 'shout' } });
    await operator.call('stopContainer', { params: { id } });
    const { events } = await served.client('viewer').call('getContainerTrace', { params: { id } });
    expect(events.map((e) => [e['syscall'], e['action'], e['executed']])).toEqual([
      ['forge.clock_now', 'allow', true],
      ['forge.log', 'deny', false],
    ]);
    const reasons = events[1]?.['reasons'] as Array<{ policy: string; message: string }>;
    expect(reasons[0]).toMatchObject({ policy: 'manifest' });
    expect(reasons[0]?.message).toMatch(/outside package bounded@1\.0\.0's manifest/);
    await expect(
      operator.call('launchContainer', {
        body: { package: { name: 'bounded', version: '9.9.9' }, policy: { mode: 'enforce', allow: [] } },
      }),
    ).rejects.toMatchObject({ status: 404, code: 'FORGE_API_PACKAGE_NOT_FOUND' });
    await expect(
      operator.call('launchContainer', {
        body: { ...SERVICE_LAUNCH, package: { name: 'bounded', version: '1.0.0' } },
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('a kernel without a trust root', () => {
  it('refuses uploads and package launches with FORGE_API_NO_TRUST_ROOT', async () => {
    const dev = await serve();
    try {
      const operator = dev.client('operator');
      await expect(operator.call('uploadPackage', { body: GOOD })).rejects.toMatchObject({
        status: 403,
        code: 'FORGE_API_NO_TRUST_ROOT',
      });
      await expect(
        operator.call('launchContainer', {
          body: { package: { name: 'adder', version: '1.0.0' }, policy: { mode: 'enforce', allow: [] } },
        }),
      ).rejects.toMatchObject({ code: 'FORGE_API_NO_TRUST_ROOT' });
      expect((await dev.client('viewer').call('listPackages')).packages).toEqual([]);
    } finally {
      await dev.close();
    }
  });

  it('refuses a trustRoot option the kernel did not boot on', async () => {
    const kernel = await createKernel({ clock: new ManualClock(NOW) });
    try {
      expect(() => createApiServer({ kernel, trustRoot })).toThrow(
        expect.objectContaining({ code: 'FORGE_INVALID_INPUT' }),
      );
    } finally {
      await kernel.shutdown();
    }
  });
});
