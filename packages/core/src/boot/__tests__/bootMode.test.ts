import { describe, expect, it } from 'vitest';
import { KernelEventBus, ManualClock, MemoryStore, type PolicyDecisionPoint } from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import {
  Runtime,
  boot,
  bootModes,
  drainsRunning,
  launchKindOf,
  launchRefusal,
  traceAll,
  traceCapacityFor,
  DEBUG_TRACE_CAPACITY,
  DEBUG_TRACES_NAMESPACE,
  type BootMode,
} from '../../index';
import { NOW, selfTestSpy } from './rootFixtures';

const allowAll: PolicyDecisionPoint = { decide: () => ({ action: 'allow', reasons: [] }) };
const HELLO = new TextEncoder().encode(`(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello")
  (func (export "_start") (drop (call $log (i32.const 0) (i32.const 5)))))`);
/** Logs three times: more calls than the capacity the debug test asks for. */
const LOG3 = new TextEncoder().encode(`(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello")
  (func (export "_start")
    (drop (call $log (i32.const 0) (i32.const 5)))
    (drop (call $log (i32.const 1) (i32.const 4)))
    (drop (call $log (i32.const 2) (i32.const 3)))))`);

describe('launchRefusal', () => {
  const table: Record<BootMode, { package: string | undefined; module: string | undefined }> = {
    normal: { package: undefined, module: undefined },
    debug: { package: undefined, module: undefined },
    recovery: { package: 'FORGE_KERNEL_RECOVERY', module: undefined },
    maintenance: { package: 'FORGE_KERNEL_MAINTENANCE', module: 'FORGE_KERNEL_MAINTENANCE' },
  };
  for (const mode of bootModes) {
    for (const kind of ['package', 'module'] as const) {
      it(`${mode} mode, a ${kind}: ${table[mode][kind] ?? 'launches'}`, () => {
        expect(launchRefusal(mode, { kind })?.code).toBe(table[mode][kind]);
      });
    }
  }

  it('traces everything only in debug mode and drains only in maintenance mode', () => {
    expect(bootModes.filter(traceAll)).toEqual(['debug']);
    expect(bootModes.filter(drainsRunning)).toEqual(['maintenance']);
  });

  it("raises a run's trace capacity in debug mode only", () => {
    expect(traceCapacityFor('debug', undefined)).toBe(DEBUG_TRACE_CAPACITY);
    expect(traceCapacityFor('debug', 4 * DEBUG_TRACE_CAPACITY)).toBe(4 * DEBUG_TRACE_CAPACITY);
    expect(traceCapacityFor('normal', undefined)).toBeUndefined();
    expect(traceCapacityFor('recovery', 10)).toBe(10);
  });

  it('tells a package launch from a module launch', () => {
    expect(launchKindOf({ package: new Uint8Array(1) })).toBe('package');
    expect(launchKindOf({ file: '/x/app.forgepkg' })).toBe('package');
    expect(launchKindOf({ file: '/x/app.wasm' })).toBe('module');
    expect(launchKindOf({})).toBe('module');
  });
});

async function runtimeIn(mode: BootMode) {
  const store = new MemoryStore();
  const clock = new ManualClock(NOW);
  const context = await boot({ mode, clock, store, selfTest: selfTestSpy().run });
  const runtime = new Runtime({
    clock,
    events: new KernelEventBus(),
    limits: defaultRuntimeConfig().limits,
    mode: 'enforce',
    store,
    boot: context,
  });
  return { runtime, store };
}

describe('Runtime honours the boot mode', () => {
  it('recovery: a package is refused before it is read; a development module runs', async () => {
    const { runtime } = await runtimeIn('recovery');
    // Not a package at all: a refusal that read it would fail with another code.
    await expect(
      runtime.runModule({ package: new Uint8Array([1, 2, 3]), pdp: allowAll }),
    ).rejects.toMatchObject({ code: 'FORGE_KERNEL_RECOVERY' });
    await expect(
      runtime.runModule({ file: '/nonexistent/app.forgepkg', pdp: allowAll }),
    ).rejects.toMatchObject({ code: 'FORGE_KERNEL_RECOVERY' });
    const report = await runtime.runModule({ source: HELLO, pdp: allowAll });
    expect(report.logs).toEqual(['hello']);
    expect(runtime.debugTraces).toBeUndefined();
    await runtime.close();
  });

  it('maintenance: every new launch is refused with its code', async () => {
    const { runtime } = await runtimeIn('maintenance');
    await expect(runtime.runModule({ source: HELLO, pdp: allowAll })).rejects.toMatchObject({
      code: 'FORGE_KERNEL_MAINTENANCE',
    });
    await runtime.close();
  });

  it('debug: every run is traced with its arguments and kept in the store for replay', async () => {
    const { runtime, store } = await runtimeIn('debug');
    const report = await runtime.runModule({ source: LOG3, pdp: allowAll, traceCapacity: 1 });
    // The run's own small capacity does not drop calls in debug mode.
    expect(report.recorded.end?.dropped).toBe(0);
    const record = await store.getRecord(DEBUG_TRACES_NAMESPACE, report.containerId);
    expect(record?.value).toMatchObject({ containerId: report.containerId, calls: 3 });
    const kept = await runtime.debugTraces?.get(report.containerId);
    expect(kept?.events).toHaveLength(3);
    expect(kept?.events.map((e) => e.args)).toEqual(report.trace.map((e) => e.args));
    expect(kept?.events[2]?.args).toMatchObject({ len: 3 });
    const replayed = await runtime.replay({ source: LOG3, trace: kept! });
    expect(replayed).toMatchObject({ replayed: 3, divergence: undefined });
    await runtime.close();
  });

  it('normal: runs keep no debug trace', async () => {
    const { runtime, store } = await runtimeIn('normal');
    const report = await runtime.runModule({ source: HELLO, pdp: allowAll });
    expect(await store.getRecord(DEBUG_TRACES_NAMESPACE, report.containerId)).toBeUndefined();
    await runtime.close();
  });
});
