import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '@forgeone/common';
import {
  createApiClient,
  createApiServer,
  createKernel,
  TokenStore,
  type ApiServerOptions,
  type CreateKernelOptions,
  type Kernel,
} from '../../index';

export const encode = (text: string) => new TextEncoder().encode(text);
export const base64 = (text: string) => Buffer.from(text).toString('base64');

/** A service: `add` adds its two i32s, `count` counts its calls, `tick` reads the clock (a syscall). */
export const SERVICE = `(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $n (mut i32) (i32.const 0))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "count") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))
  (func (export "tick") (result i32) (call $now (i32.const 8))))`;

export const SERVICE_LAUNCH = {
  module: base64(SERVICE),
  name: 'adder',
  isolation: 'inline' as const,
  policy: { mode: 'enforce' as const, allow: ['forge.clock_now'] },
};

export interface Served {
  readonly kernel: Kernel;
  readonly tokens: TokenStore;
  readonly store: SqliteStore;
  readonly address: string;
  readonly app: ReturnType<typeof createApiServer>;
  /** A token of each role, and a client for each. */
  readonly token: { viewer: string; operator: string; admin: string };
  client(role: 'viewer' | 'operator' | 'admin' | undefined): ReturnType<typeof createApiClient>;
  close(): Promise<void>;
}

/** A kernel on a fresh SQLite store, its API on 127.0.0.1:0, and one token per role. */
export async function serve(
  options: { kernel?: CreateKernelOptions; server?: Omit<ApiServerOptions, 'kernel'> } = {},
): Promise<Served> {
  const store = await SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'forge-api-')), 'kernel.db'));
  const kernel = await createKernel({ store, auditStore: store, ...options.kernel });
  const tokens = new TokenStore(store, { clock: kernel.clock });
  const app = createApiServer({ kernel, tokens, ...options.server });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const token = {
    viewer: (await tokens.create({ role: 'viewer', name: 'watcher' })).token,
    operator: (await tokens.create({ role: 'operator', name: 'runner' })).token,
    admin: (await tokens.create({ role: 'admin', name: 'boss' })).token,
  };
  let closed = false;
  return {
    kernel,
    tokens,
    store,
    address,
    app,
    token,
    client: (role) => createApiClient({ baseUrl: address, ...(role ? { token: token[role] } : {}) }),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await kernel.shutdown();
    },
  };
}
