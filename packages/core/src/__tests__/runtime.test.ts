import { describe, expect, it } from 'vitest';
import { KernelEventBus, ManualClock, type PolicyDecisionPoint } from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import { ModuleCache, Runtime } from '../index';

const allowAll: PolicyDecisionPoint = {
  decide: () => ({ action: 'allow', reasons: [{ policy: 'test', message: 'ok' }] }),
};
const denyAll: PolicyDecisionPoint = {
  decide: () => ({ action: 'deny', reasons: [{ policy: 'test', message: 'no' }] }),
};
const HELLO = new TextEncoder().encode(`(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello")
  (func (export "_start") (drop (call $log (i32.const 0) (i32.const 5)))))`);

function runtime() {
  const events = new KernelEventBus();
  const seen: string[] = [];
  events.on('container.launched', (e) => seen.push(`launched:${e.subject}`));
  events.on('container.exited', (e) => seen.push(`exited:${e.reason}`));
  const clock = new ManualClock(1000);
  return { rt: new Runtime({ clock, events, limits: defaultRuntimeConfig().limits, mode: 'enforce' }), seen };
}

describe('Runtime.runModule', () => {
  it('runs a module, returns its logs, trace and DNA, and publishes lifecycle events', async () => {
    const { rt, seen } = runtime();
    const report = await rt.runModule({
      source: HELLO,
      name: 'hello.wat',
      pdp: allowAll,
      identity: { subject: 'user:alice' },
    });
    expect(report.outcome).toMatchObject({ status: 'returned', exitCode: 0 });
    expect(report.logs).toEqual(['hello']);
    expect(report.summary).toEqual([{ syscall: 'forge.log', calls: 1, byAction: { allow: 1 } }]);
    expect(report.dna.totalCalls).toBe(1);
    expect(report.containerId).toMatch(/^ctr_/);
    expect(seen).toEqual(['launched:user:alice', 'exited:returned']);
  });

  it('applies the PDP: a denied log prints nothing', async () => {
    const { rt } = runtime();
    const report = await rt.runModule({ source: HELLO, name: 'hello.wat', pdp: denyAll });
    expect(report.logs).toEqual([]);
    expect(report.trace[0]).toMatchObject({ action: 'deny', executed: false });
  });

  it('reports a trap as an outcome with a code, not an exception', async () => {
    const { rt, seen } = runtime();
    const trap = new TextEncoder().encode('(module (func (export "_start") unreachable))');
    const report = await rt.runModule({ source: trap, name: 'trap.wat', pdp: allowAll });
    expect(report.outcome.status).toBe('trapped');
    if (report.outcome.status === 'trapped') expect(report.outcome.error.code).toBe('FORGE_WASM_TRAP');
    expect(seen.at(-1)).toBe('exited:FORGE_WASM_TRAP');
  });

  it('traps unbounded recursion without harming the host', async () => {
    const { rt } = runtime();
    const deep = new TextEncoder().encode('(module (func $f (export "_start") (call $f)))');
    const report = await rt.runModule({ source: deep, name: 'deep.wat', pdp: allowAll });
    expect(report.outcome.status).toBe('trapped');
    const again = await rt.runModule({ source: HELLO, name: 'hello.wat', pdp: allowAll });
    expect(again.logs).toEqual(['hello']);
  });

  it('names a missing export', async () => {
    const { rt } = runtime();
    await expect(
      rt.runModule({ source: HELLO, name: 'hello.wat', pdp: allowAll, entry: 'main' }),
    ).rejects.toMatchObject({
      code: 'FORGE_WASM_EXPORT_MISSING',
    });
  });

  it('lists the syscalls a guest can import', () => {
    expect(runtime().rt.syscallNames()).toEqual(['forge.log', 'forge.clock_now', 'forge.random_bytes']);
  });
});

describe('ModuleCache', () => {
  it('compiles a source once and evicts the least recently used', async () => {
    const cache = new ModuleCache(2);
    const src = (n: number) => new TextEncoder().encode(`(module (func (export "f${n}")))`);
    const a = await cache.get(src(1), 'a');
    expect(await cache.get(src(1), 'a')).toBe(a);
    await cache.get(src(2), 'b');
    await cache.get(src(1), 'a'); // 1 is now most recent
    await cache.get(src(3), 'c'); // evicts 2
    expect(cache.size).toBe(2);
    expect(await cache.get(src(1), 'a')).toBe(a);
  });

  it('does not cache failures', async () => {
    const cache = new ModuleCache();
    await expect(cache.get(new TextEncoder().encode('(module'), 'bad')).rejects.toMatchObject({
      code: 'FORGE_WAT_INVALID',
    });
    expect(cache.size).toBe(0);
  });
});
