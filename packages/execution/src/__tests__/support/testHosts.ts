import { afterAll } from 'vitest';
import type { Clock } from '@forgeone/common';
import { WasmHost, type EnforcerSpec, type HostLimits } from '../../index';

/** Module text as bytes (the host takes text or binary). */
export const wat = (text: string) => new TextEncoder().encode(text);

/** An enforcing allow-list of `names`. */
export const allow = (...names: string[]): EnforcerSpec => ({
  mode: 'enforce',
  policy: { kind: 'allow-list', allow: names },
});

/**
 * A test file's way to make development hosts: `host(isolation, limits, clock)` or
 * `hostWith(options)`; every host it made is closed after the file's tests.
 */
export function testHosts() {
  const hosts: WasmHost[] = [];
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.close()));
  });
  const hostWith = (options: ConstructorParameters<typeof WasmHost>[0] = {}) => {
    const h = new WasmHost({ development: true, ...options });
    hosts.push(h);
    return h;
  };
  const host = (isolation: 'inline' | 'worker', limits: Partial<HostLimits> = {}, clock?: Clock) =>
    hostWith({ isolation, limits, ...(clock ? { clock } : {}) });
  return { host, hostWith };
}
