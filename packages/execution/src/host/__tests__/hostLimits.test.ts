import { describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '@forgeone/common';
import { type EnforcerSpec } from '../../index';
import { allow, testHosts, wat } from '../../__tests__/support/testHosts';

const { host } = testHosts();

/** Grows memory one page at a time until the host says no; returns the pages it got. */
const MEMORY_BOMB = wat(`(module (memory (export "memory") 1)
  (func (export "_start") (result i32)
    (block $full (loop $more
      (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
      (br $more)))
    (memory.size)))`);
const SPIN = wat('(module (func (export "_start") (loop br 0)))');
const SPIN_AT_START = wat('(module (func $spin (loop br 0)) (start $spin) (func (export "_start")))');
const DEEP = wat('(module (func $f (export "_start") (call $f)))');
const FLOOD = wat(`(module (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (loop (drop (call $now (i32.const 0))) (br 0))))`);
const HELLO = wat(`(module (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 0) "alive")
  (func (export "_start") (drop (call $log (i32.const 0) (i32.const 5)))))`);

describe.each(['inline', 'worker'] as const)('hostile modules against the limits (%s)', (isolation) => {
  it('memory: growth past the cap fails inside the guest even when the module declares no maximum', async () => {
    const h = host(isolation, { memoryPages: 4 });
    const run = await h.run(await h.loadModule(MEMORY_BOMB));
    expect(run.outcome.status).toBe('returned');
    expect(run.values).toEqual([{ type: 'i32', value: 4 }]);
  });

  it('memory: a module that starts above the cap is refused before it runs', async () => {
    const h = host(isolation, { memoryPages: 4 });
    await expect(h.loadModule(wat('(module (memory 5 10))'))).rejects.toMatchObject({
      code: 'FORGE_LIMIT_MEMORY',
    });
  });

  it('stack: runaway recursion traps with FORGE_LIMIT_STACK and the host runs the next guest', async () => {
    const h = host(isolation);
    const deep = await h.run(await h.loadModule(DEEP));
    expect(deep.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_STACK' } });
    const next = await h.run(await h.loadModule(HELLO), { enforcer: allow('forge.log') });
    expect(next.instance.logs()).toEqual(['alive']);
  });

  it('syscall rate: a flood is stopped with FORGE_LIMIT_SYSCALL_RATE, recorded as the last call', async () => {
    // The clock stands still, so every window of 1,000 calls comes "too soon".
    const h = host(
      isolation,
      { syscallsPerSecond: 1000 },
      isolation === 'inline' ? new ManualClock(1) : undefined,
    );
    const run = await h.run(await h.loadModule(FLOOD), { enforcer: allow('forge.clock_now') });
    expect(run.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_SYSCALL_RATE' } });
    const last = run.instance.trace().at(-1);
    expect(last).toMatchObject({ syscall: 'forge.clock_now', outcome: 'limit', executed: false });
    if (isolation === 'inline') expect(run.instance.trace()).toHaveLength(1001);
  });

  it('table: a table over the cap is refused; one without a maximum cannot grow past it', async () => {
    const h = host(isolation, { maxTableElements: 8 });
    await expect(h.loadModule(wat('(module (table 9 funcref))'))).rejects.toMatchObject({
      code: 'FORGE_LIMIT_TABLE',
    });
    const grow = await h.loadModule(
      wat(`(module (table $t 2 funcref) (func (export "_start") (result i32)
        (table.grow $t (ref.null func) (i32.const 100))))`),
    );
    expect((await h.run(grow)).values).toEqual([{ type: 'i32', value: -1 }]);
  });

  it('module size and import count are checked before compiling', async () => {
    const h = host(isolation, { maxModuleBytes: 64, maxImports: 2 });
    await expect(h.loadModule(new Uint8Array(65))).rejects.toMatchObject({
      code: 'FORGE_WASM_LIMIT',
      details: { limit: 'moduleBytes' },
    });
    const big = host(isolation, { maxImports: 2 });
    await expect(
      big.loadModule(
        wat(`(module (import "forge" "log" (func (param i32 i32) (result i32)))
          (import "forge" "clock_now" (func (param i32) (result i32)))
          (import "forge" "random_bytes" (func (param i32 i32) (result i32))))`),
      ),
    ).rejects.toMatchObject({ code: 'FORGE_WASM_LIMIT', details: { limit: 'imports' } });
  });

  it('CPU: (loop br 0) in a call or in the start function is stopped at the deadline; the host runs on', async () => {
    const h = host(isolation, { timeoutMs: 200 });
    for (const spinner of [SPIN, SPIN_AT_START]) {
      const run = await h.run(await h.loadModule(spinner));
      expect(run.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
      expect(run.instance.state).toBe('terminated');
    }
    const next = await h.run(await h.loadModule(HELLO), { enforcer: allow('forge.log') });
    expect(next.instance.logs()).toEqual(['alive']);
  });

  it('fuel: an endless loop is stopped deterministically with FORGE_LIMIT_FUEL', async () => {
    const h = host(isolation, { fuel: 10_000 });
    const spin = await h.run(await h.loadModule(SPIN));
    expect(spin.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_FUEL' } });
    const bomb = await h.loadModule(MEMORY_BOMB);
    const [a, b] = [await h.run(bomb), await h.run(bomb)];
    expect(a.fuelLeft).toBeGreaterThan(0);
    expect(a.fuelLeft).toBe(b.fuelLeft);
  });
});

describe('CPU deadline under worker isolation', () => {
  it('stops (loop br 0) with FORGE_LIMIT_TIMEOUT while the main event loop and other guests keep running', async () => {
    const h = host('worker', { timeoutMs: 300 });
    const spin = await h.loadModule(SPIN);
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 10);
    const stuck = h.run(spin);
    // Another container runs to completion while the first one spins.
    const other = await h.run(await h.loadModule(HELLO), { enforcer: allow('forge.log') });
    expect(other.instance.logs()).toEqual(['alive']);
    const run = await stuck;
    clearInterval(ticker);
    expect(run.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
    expect(run.instance.state).toBe('terminated');
    expect(ticks).toBeGreaterThan(0);
    // The pool replaced the stopped worker: the host still runs guests.
    expect(
      (await h.run(await h.loadModule(HELLO), { enforcer: allow('forge.log') })).instance.logs(),
    ).toEqual(['alive']);
  });

  it("inline isolation with inlineDeadline 'syscalls' checks the deadline at syscalls (host's clock)", async () => {
    let ns = 0n;
    const clock: Clock = { now: () => 0, monotonicNs: () => (ns += 1_000_000n) };
    const h = host('inline', { timeoutMs: 50, syscallsPerSecond: 0 }, clock);
    const run = await h.run(await h.loadModule(FLOOD), {
      enforcer: allow('forge.clock_now'),
      inlineDeadline: 'syscalls',
    });
    expect(run.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
    expect(run.outcome.status === 'trapped' && run.outcome.error.message).toMatch(/at a syscall/);
  });

  it('inline isolation stops a spinning guest on this thread, and the instance can take no more calls', async () => {
    const h = host('inline', { timeoutMs: 10_000 });
    const instance = await h.instantiate(await h.loadModule(SPIN));
    // A guest that were not stopped would hold this thread until the test's own timeout fails it.
    const result = await instance.invoke('_start', [], { timeoutMs: 150 });
    expect(result.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
    expect(instance.state).toBe('terminated');
    await expect(instance.invoke('_start')).rejects.toMatchObject({ code: 'FORGE_INSTANCE_STATE' });
    await instance.terminate();
  });
});

describe('worker isolation: pause, operator approval, audit', () => {
  it('pauses a guest at its next syscall and terminates it', async () => {
    const h = host('worker', { syscallsPerSecond: 0 });
    const paused: string[] = [];
    let onPaused: () => void = () => undefined;
    const pausedOnce = new Promise<void>((resolve) => (onPaused = resolve));
    const instance = await h.instantiate(await h.loadModule(FLOOD), {
      enforcer: allow('forge.clock_now'),
      onPaused: (reason) => {
        paused.push(reason);
        onPaused();
      },
    });
    const call = instance.invoke('_start').catch((error: unknown) => error);
    instance.pause();
    await pausedOnce;
    expect(instance.state).toBe('paused');
    expect(paused).toEqual(['paused']);
    await instance.terminate();
    expect(await call).toMatchObject({ code: 'FORGE_INSTANCE_STATE' });
    expect(instance.state).toBe('terminated');
  });

  it('a call that returns before reaching a syscall leaves the pause holding between calls', async () => {
    const h = host('worker');
    const QUICK = wat(`(module (func (export "f") (result i32) (local $i i32)
      (loop (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if 0 (i32.lt_u (local.get $i) (i32.const 20000000))))
      (local.get $i)))`);
    const instance = await h.instantiate(await h.loadModule(QUICK), { enforcer: allow() });
    const call = instance.invoke('f');
    instance.pause();
    expect((await call).values).toEqual([{ type: 'i32', value: 20_000_000 }]);
    expect(instance.state).toBe('paused');
    instance.resume();
    expect(instance.state).toBe('created');
    expect((await instance.invoke('f')).outcome.status).toBe('returned');
    await instance.terminate();
  });

  it('asks the operator on the main thread while the guest waits, and denies on timeout', async () => {
    const h = host('worker');
    const module = await h.loadModule(HELLO);
    const audit: unknown[] = [];
    const enforcer: EnforcerSpec = {
      mode: 'enforce',
      policy: { kind: 'allow-list', allow: [], ask: ['forge.log'] },
    };
    const approved = await h.run(module, {
      enforcer,
      onAudit: (entry) => audit.push(entry),
      approver: (request) =>
        new Promise((resolve) =>
          setTimeout(() => resolve(request.syscall === 'forge.log' ? 'allow' : 'deny'), 20),
        ),
    });
    expect(approved.instance.logs()).toEqual(['alive']);
    expect(approved.instance.trace()[0]).toMatchObject({ action: 'allow', executed: true });
    expect(audit).toEqual([expect.objectContaining({ syscall: 'forge.log', action: 'ask', executed: true })]);

    const ignored = await h.run(module, {
      enforcer,
      approver: () => new Promise(() => undefined),
      approverTimeoutMs: 100,
    });
    expect(ignored.instance.logs()).toEqual([]);
    expect(ignored.instance.trace()[0]).toMatchObject({ action: 'deny', executed: false });
  });
});
