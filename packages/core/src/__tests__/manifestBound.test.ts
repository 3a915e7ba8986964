import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  KernelEventBus,
  ManualClock,
  type EnforcementMode,
  type PolicyDecisionPoint,
} from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import { AllowListPdp, SyscallEnforcer, type EnforcerSpec } from '@forgeone/trust';
import { Runtime, type RunReport } from '../index';
import { signedPackages } from './support/signedPackages';

// "A package gets no more than its manifest": whatever decides its calls (an allow-list, a policy
// document, a PDP or an enforcer object) and in every mode, a call outside the manifest is denied
// and never runs; inside it, the decision is the policy's.

const NOW = Date.parse('2030-01-01T00:00:00Z');
const { root, packageOf: signed } = signedPackages(7, NOW);

/** The syscalls the guest calls, once each, in this order. */
const CALLS = [
  'forge.log',
  'forge.clock_now',
  'wasi.fd_write',
  'wasi.clock_time_get',
  'wasi.args_sizes_get',
  'wasi.environ_sizes_get',
] as const;

const GUEST = `(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hi\\n")
  (func (export "_start")
    (drop (call $log (i32.const 100) (i32.const 2)))
    (drop (call $now (i32.const 200)))
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 3))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 16)))
    (drop (call $args (i32.const 24) (i32.const 28)))
    (drop (call $env (i32.const 24) (i32.const 28)))))`;

const packages = new Map<string, Uint8Array>();
function packageOf(capabilities: readonly string[]): Uint8Array {
  const id = capabilities.join(',');
  let bytes = packages.get(id);
  if (bytes === undefined) {
    bytes = signed('bounded', new TextEncoder().encode(GUEST), capabilities);
    packages.set(id, bytes);
  }
  return bytes;
}

const runtime = new Runtime({
  clock: new ManualClock(NOW),
  events: new KernelEventBus(),
  limits: defaultRuntimeConfig().limits,
  mode: 'enforce',
  isolation: 'inline',
});
afterAll(() => runtime.close());

type Source = 'allow-list' | 'document' | 'pdp' | 'enforcer';

/** A policy allowing exactly `allowed` (names or globs) from each decision source. */
function decider(source: Source, allowed: readonly string[], mode: EnforcementMode) {
  if (source === 'allow-list' || source === 'document') {
    const policy: EnforcerSpec['policy'] =
      source === 'allow-list'
        ? { kind: 'allow-list', allow: [...allowed] }
        : {
            kind: 'document',
            document: {
              apiVersion: 'forgeone.dev/v1',
              kind: 'Policy',
              metadata: { name: 'wide' },
              spec: {
                nodes: [
                  {
                    name: 'a',
                    rules:
                      allowed.length === 0
                        ? []
                        : [{ id: 'allowed', action: 'allow', match: { syscall: [...allowed] } }],
                  },
                ],
              },
            },
          };
    return { policy: { mode, policy } satisfies EnforcerSpec };
  }
  const pdp: PolicyDecisionPoint = new AllowListPdp(allowed);
  return source === 'pdp' ? { pdp, mode } : { enforcer: new SyscallEnforcer({ pdp, mode }) };
}

const globMatches = (pattern: string, name: string) =>
  pattern === name || (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1)));
const covered = (patterns: readonly string[], name: string) => patterns.some((p) => globMatches(p, name));

const namesAndGlobs = fc.constantFrom<string>(...CALLS, 'wasi.*', 'forge.*');

async function runUnder(
  manifest: readonly string[],
  source: Source,
  allowed: readonly string[],
  mode: EnforcementMode,
): Promise<RunReport> {
  return runtime.runModule({
    name: 'bounded.forgepkg',
    package: packageOf(manifest),
    trustRoot: root,
    ...decider(source, allowed, mode),
  });
}

describe('a package gets no more than its manifest', () => {
  it('a policy allowing wasi.fd_write does not let a forge.log-only package write (policy document, enforce)', async () => {
    const report = await runUnder(['forge.log'], 'document', ['wasi.fd_write', 'forge.log'], 'enforce');
    const write = report.trace.find((e) => e.syscall === 'wasi.fd_write');
    expect(write).toMatchObject({ action: 'deny', executed: false });
    expect(write?.reasons[0]?.message).toMatch(/outside package bounded@1\.0\.0's manifest/);
    expect(new TextDecoder().decode(report.stdout)).toBe('');
    expect(report.trace.find((e) => e.syscall === 'forge.log')).toMatchObject({ action: 'allow' });
  });

  it('in audit and permissive mode a call outside the manifest still does not run', async () => {
    for (const mode of ['audit', 'permissive'] as const) {
      const report = await runUnder(['forge.log'], 'document', ['*'], mode);
      expect(report.trace.find((e) => e.syscall === 'wasi.fd_write')).toMatchObject({
        action: 'deny',
        executed: false,
      });
      expect(new TextDecoder().decode(report.stdout)).toBe('');
    }
  });

  it('is the intersection of manifest and policy for random manifests, policies, sources and modes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(namesAndGlobs, { maxLength: 4 }),
        fc.uniqueArray(namesAndGlobs, { maxLength: 4 }),
        fc.constantFrom<Source>('allow-list', 'document', 'pdp', 'enforcer'),
        fc.constantFrom<EnforcementMode>('enforce', 'audit', 'permissive'),
        async (manifest, allowed, source, mode) => {
          const report = await runUnder(manifest, source, allowed, mode);
          for (const call of CALLS) {
            const event = report.trace.find((e) => e.syscall === call);
            expect(event, call).toBeDefined();
            if (!covered(manifest, call)) {
              // Never executed, whatever the policy or mode says.
              expect(event, call).toMatchObject({ action: 'deny', executed: false });
            } else if (mode === 'enforce') {
              expect(event?.executed, call).toBe(covered(allowed, call));
            } else {
              // Audit and permissive trial the policy inside the manifest: the call runs.
              expect(event?.executed, call).toBe(true);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('holds under worker isolation too', async () => {
    const report = await runtime.runModule({
      name: 'bounded.forgepkg',
      package: packageOf(['forge.log']),
      trustRoot: root,
      isolation: 'worker',
      policy: { mode: 'audit', policy: { kind: 'allow-list', allow: ['forge.*', 'wasi.*'] } },
    });
    expect(report.trace.find((e) => e.syscall === 'wasi.fd_write')).toMatchObject({
      action: 'deny',
      executed: false,
    });
    expect(report.trace.find((e) => e.syscall === 'forge.log')).toMatchObject({ executed: true });
  });
});
