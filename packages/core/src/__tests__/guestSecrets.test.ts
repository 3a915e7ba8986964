import { afterAll, describe, expect, it } from 'vitest';
import { KernelEventBus, ManualClock } from '@forgeone/common';
import { SecretValue, defaultRuntimeConfig } from '@forgeone/config';
import type { EnforcerSpec } from '@forgeone/trust';
import { Runtime } from '../index';
import { signedPackages } from './support/signedPackages';

// A guest reads a secret only when the launch gives it, the policy allows the call and (for a
// package) the manifest grants `secret:read:<name>`; the value is in no trace or report.

const NOW = Date.parse('2030-01-01T00:00:00Z');
const CANARY = 'canary-core-5b1e-secret';
// `read` returns the errno of reading "db" to 1024; `sum` the sum of the bytes read (length at 96).
const GUEST = `(module
  (import "forge" "secret_read" (func $read (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "db")
  (func (export "_initialize"))
  (func (export "read") (result i32)
    (call $read (i32.const 0) (i32.const 2) (i32.const 1024) (i32.const 256) (i32.const 96)))
  (func (export "sum") (result i32) (local $i i32) (local $s i32)
    (block $done (loop $add
      (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 96))))
      (local.set $s (i32.add (local.get $s) (i32.load8_u (i32.add (i32.const 1024) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $add)))
    (local.get $s)))`;
const sum = [...new TextEncoder().encode(CANARY)].reduce((a, b) => a + b, 0);
const module = new TextEncoder().encode(GUEST);
const allow: EnforcerSpec = { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.secret_read'] } };
const secrets = { db: new SecretValue('db', CANARY) };

const { root, packageOf: signed } = signedPackages(9, NOW);
const packageOf = (capabilities: readonly string[]) => signed('reader', module, capabilities);

const runtime = new Runtime({
  clock: new ManualClock(NOW),
  events: new KernelEventBus(),
  limits: defaultRuntimeConfig().limits,
  mode: 'enforce',
  isolation: 'inline',
});
afterAll(() => runtime.close());

const i32 = (report: { values: readonly { value: unknown }[] }) => report.values[0]?.value;

describe('launch secrets', () => {
  it('runModule: the guest reads the value; the report and trace hold the name only', async () => {
    for (const isolation of ['inline', 'worker'] as const) {
      const report = await runtime.runModule({
        source: module,
        format: 'wat',
        entry: 'read',
        policy: allow,
        secrets,
        isolation,
      });
      expect(i32(report), isolation).toBe(0);
      const call = report.trace.find((e) => e.syscall === 'forge.secret_read');
      expect(call).toMatchObject({ args: { name: 'db', cap: 256 }, action: 'allow' });
      expect(JSON.stringify(report)).not.toContain(CANARY);
    }
  });

  it('a service container keeps its secrets for every invoke (inline and worker)', async () => {
    for (const isolation of ['inline', 'worker'] as const) {
      const id = await runtime.launchContainer({
        source: module,
        format: 'wat',
        policy: allow,
        secrets,
        isolation,
      });
      expect(i32(await runtime.invoke(id, 'read'))).toBe(0);
      expect(i32(await runtime.invoke(id, 'sum'))).toBe(sum);
      await runtime.stop(id);
    }
  });

  it('refuses plain values, bad names and snapshots of a container given secrets', async () => {
    await expect(
      runtime.runModule({
        source: module,
        format: 'wat',
        policy: allow,
        secrets: { db: CANARY as unknown as SecretValue },
      }),
    ).rejects.toMatchObject({ code: 'FORGE_INVALID_INPUT', details: { field: 'secrets' } });
    await expect(
      runtime.runModule({
        source: module,
        format: 'wat',
        policy: allow,
        secrets: { '9x': new SecretValue('9x', 'v') },
      }),
    ).rejects.toMatchObject({ code: 'FORGE_INVALID_INPUT' });
    const refused = runtime.launchContainer({
      source: module,
      format: 'wat',
      policy: allow,
      secrets,
      isolation: 'inline',
      snapshots: true,
    });
    await expect(refused).rejects.toMatchObject({
      code: 'FORGE_INVALID_INPUT',
      details: { field: 'snapshots' },
    });
    // No error message carries the value.
    await refused.catch((error: Error) => expect(error.message).not.toContain(CANARY));
  });

  it('a package reads only the secrets its manifest names', async () => {
    const granted = await runtime.runModule({
      name: 'reader.forgepkg',
      package: packageOf(['secret:read:db']),
      trustRoot: root,
      entry: 'read',
      policy: allow,
      secrets,
    });
    expect(i32(granted)).toBe(0);
    await expect(
      runtime.runModule({
        name: 'reader.forgepkg',
        package: packageOf(['forge.log']),
        trustRoot: root,
        entry: 'read',
        policy: allow,
        secrets,
      }),
    ).rejects.toMatchObject({
      code: 'FORGE_CAPABILITY_NOT_GRANTED',
      details: { capability: 'secret:read:db' },
    });
    // Without secret:read in the manifest, forge.secret_read is outside its bound: denied, whatever the policy.
    const bounded = await runtime.runModule({
      name: 'reader.forgepkg',
      package: packageOf(['forge.log']),
      trustRoot: root,
      entry: 'read',
      policy: allow,
    });
    expect(i32(bounded)).toBe(1);
  });
});
