import { describe, expect, it } from 'vitest';
import { KernelEventBus, ManualClock, type PolicyDecisionPoint } from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import { Runtime } from '../index';

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
    const names = runtime().rt.syscallNames();
    expect(names.slice(0, 3)).toEqual(['forge.log', 'forge.clock_now', 'forge.random_bytes']);
    expect(names).toContain('wasi.fd_write');
    // Every run offers kv, events and secrets; a run without a namespace answers kv calls DENIED,
    // one given no secrets answers secret reads NOT_FOUND.
    expect(names).toEqual(
      expect.arrayContaining([
        'forge.kv_get',
        'forge.kv_put',
        'forge.kv_delete',
        'forge.emit_event',
        'forge.secret_read',
      ]),
    );
    expect(names).toHaveLength(3 + 5 + 46);
  });
});

describe('Runtime.runModule with WASI and worker isolation', () => {
  /** Prints its first argument and $GREETING to stdout, then exits with code 3. */
  const ECHO_ARGS = new TextEncoder().encode(`(module
    (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func $strlen (param $p i32) (result i32) (local $n i32)
      (block $end (loop $next
        (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1))) (br $next)))
      (local.get $n))
    (func $print (param $p i32)
      (i32.store (i32.const 0) (local.get $p))
      (i32.store (i32.const 4) (call $strlen (local.get $p)))
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
    (func (export "_start")
      (drop (call $args_get (i32.const 100) (i32.const 1000)))
      (call $print (i32.load (i32.const 104)))
      (drop (call $environ_get (i32.const 200) (i32.const 2000)))
      (call $print (i32.load (i32.const 200)))
      (call $exit (i32.const 3))))`);

  it('gives the guest its args and env through WASI in a worker, and reports its exit code', async () => {
    const { rt } = runtime();
    try {
      const report = await rt.runModule({
        source: ECHO_ARGS,
        name: 'echo.wat',
        policy: { mode: 'enforce', policy: { kind: 'allow-list', allow: ['wasi.*'] } },
        wasi: { args: ['echo', 'first'], env: { GREETING: 'hi' } },
      });
      expect(report.isolation).toBe('worker');
      expect(report.outcome).toEqual({ status: 'exited', exitCode: 3 });
      expect(Buffer.from(report.stdout).toString()).toBe('firstGREETING=hi');
      expect(report.recorded.end).toMatchObject({ status: 'exited', exitCode: 3 });
      expect(report.recorded.events.map((e) => e.syscall)).toContain('wasi.args_get');
    } finally {
      await rt.close();
    }
  });

  it('denies WASI by default: nothing is printed and the refusals are in the trace', async () => {
    const { rt } = runtime();
    try {
      const report = await rt.runModule({
        source: ECHO_ARGS,
        name: 'echo.wat',
        policy: { mode: 'enforce', policy: { kind: 'allow-list', allow: [] } },
        wasi: { args: ['echo', 'first'] },
        isolation: 'inline',
      });
      expect(report.stdout).toHaveLength(0);
      expect(report.summary.find((row) => row.syscall === 'wasi.fd_write')).toMatchObject({
        byAction: { deny: 2 },
      });
      // proc_exit is denied too: the guest asked to stop, so it ends, as a policy violation.
      expect(report.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_EXIT_DENIED' } });
    } finally {
      await rt.close();
    }
  });

  it('stops a spinning guest at its deadline (kernel limit overridden per run)', async () => {
    const { rt } = runtime();
    try {
      const report = await rt.runModule({
        source: new TextEncoder().encode('(module (func (export "_start") (loop br 0)))'),
        name: 'spin.wat',
        policy: { mode: 'enforce', policy: { kind: 'allow-list', allow: [] } },
        limits: { timeoutMs: 200 },
      });
      expect(report.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
    } finally {
      await rt.close();
    }
  });
});
