// Installing a package over the API against verifying the same package in process, in the same
// run (read the ratio vitest prints under the group). Run: `npx vitest bench --run --project
// interface bench/packages.bench.ts` from the repository root. Each API iteration uploads (verify,
// then one store transaction) and removes the package; load stays on 127.0.0.1, one at a time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { ManualClock, SqliteStore } from '@forgeone/common';
import {
  PrivateKey,
  buildPackage,
  createRootSigned,
  signPackage,
  signRoot,
  verifyPackage,
  verifyRootChain,
} from '@forgeone/crypto';
import { TokenStore, createApiClient, createApiServer, createKernel, type Kernel } from '../src/index';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const clock = new ManualClock(NOW);
const key = PrivateKey.fromSeed('ed25519', new Uint8Array(32).fill(3));
const rootDocument = signRoot(
  createRootSigned({
    expires: '2031-01-01T00:00:00Z',
    root: { keys: [key.publicKey], threshold: { ed25519: 1 } },
  }),
  [key],
);
const trustRoot = verifyRootChain([rootDocument], { clock });
// A 256 KiB module body: large enough that hashing and the body transfer count.
const filler = 'x'.repeat(256 * 1024);
const pkg = signPackage(
  buildPackage(
    {
      name: 'bench',
      version: '1.0.0',
      entry: 'main.wat',
      created_at: '2029-06-01T00:00:00Z',
      expires_at: '2030-06-01T00:00:00Z',
      capabilities: ['forge.clock_now'],
    },
    new Map([['main.wat', new TextEncoder().encode(`(module) ;; ${filler}`)]]),
  ).bytes,
  [key],
);

const dir = mkdtempSync(join(tmpdir(), 'forgeone-pkg-bench-'));
let kernel: Kernel;
let app: ReturnType<typeof createApiServer>;
let client: ReturnType<typeof createApiClient>;

beforeAll(async () => {
  const store = await SqliteStore.open(join(dir, 'kernel.db'));
  kernel = await createKernel({ store, auditStore: store, clock, boot: { root: rootDocument } });
  const tokens = new TokenStore(store, { clock });
  const { token } = await tokens.create({ role: 'operator' });
  app = createApiServer({ kernel, tokens, trustRoot, rateLimits: { perToken: 1e9, perAddress: 1e9 } });
  client = createApiClient({ baseUrl: await app.listen({ host: '127.0.0.1', port: 0 }), token });
});

afterAll(async () => {
  await app.close();
  await kernel.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe(`install a ${Math.round(pkg.length / 1024)} KiB package`, () => {
  bench('baseline: verifyPackage in process', async () => {
    const result = await verifyPackage(pkg, { trustRoot, clock });
    if (!result.ok) throw new Error(result.message);
  });
  bench('POST /v1/packages + DELETE', async () => {
    await client.call('uploadPackage', { body: pkg });
    await client.call('removePackage', { params: { name: 'bench', version: '1.0.0' } });
  });
});
