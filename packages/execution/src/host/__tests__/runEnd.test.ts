import { describe, expect, it } from 'vitest';
import { recordedTraceOf } from '../../index';
import { allow, testHosts, wat } from '../../__tests__/support/testHosts';

// How a run ends (a deadline, a denied exit) must never cost the record of its calls, its deadline
// or its exit code.

const { host } = testHosts();

/** Five calls the default policy denies, then a loop that only the deadline ends. */
const FIVE_DENIED_THEN_SPIN = wat(`(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 0) "hi")
  (func (export "_start")
    (drop (call $log (i32.const 0) (i32.const 2))) (drop (call $log (i32.const 0) (i32.const 2)))
    (drop (call $log (i32.const 0) (i32.const 2))) (drop (call $log (i32.const 0) (i32.const 2)))
    (drop (call $log (i32.const 0) (i32.const 2)))
    (loop br 0)))`);

/** 1,000 allowed calls (the gate's hot path), then a loop. */
const FLOOD_THEN_SPIN = wat(`(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (loop $l (drop (call $sizes (i32.const 0) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
    (loop br 0)))`);

/** Asks to exit with 7; a guest let past that would log "still running". */
const EXIT_7 = wat(`(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 0) "still running")
  (func (export "_start") (call $exit (i32.const 7)) (drop (call $log (i32.const 0) (i32.const 13)))))`);

/** Grows its memory one page at a time up to the cap, then spins. */
const GROW_THEN_SPIN = wat(`(module (memory (export "memory") 1)
  (func (export "_start")
    (block $full (loop $more (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $more)))
    (loop br 0)))`);

describe.each(['inline', 'worker'] as const)('how a run ends (%s)', (isolation) => {
  it('a guest stopped at its deadline keeps every call it made in the trace and the recorded run', async () => {
    const h = host(isolation, { timeoutMs: 300 });
    const module = await h.loadModule(FIVE_DENIED_THEN_SPIN);
    const run = await h.run(module);
    expect(run.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
    const recorded = recordedTraceOf(run, module, { recordedAt: 1 });
    expect(recorded.events.map((e) => [e.seq, e.syscall, e.action])).toEqual(
      [1, 2, 3, 4, 5].map((seq) => [seq, 'forge.log', 'deny']),
    );
    expect(recorded.end).toMatchObject({ code: 'FORGE_LIMIT_TIMEOUT', dropped: 0 });
    expect(recorded.end?.droppedSeqs).toBeUndefined();
  });

  it('a ring too small for the calls says how many were dropped and which, also at a deadline', async () => {
    const h = host(isolation, { timeoutMs: 2000 });
    const module = await h.loadModule(FLOOD_THEN_SPIN);
    const run = await h.run(module, { enforcer: allow('wasi.args_sizes_get'), traceCapacity: 100 });
    expect(run.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
    const recorded = recordedTraceOf(run, module, { recordedAt: 1 });
    // Every one of the 1,000 calls is either held or named as dropped: none vanish unsaid.
    const held = recorded.events.map((e) => e.seq);
    const dropped = (recorded.end?.droppedSeqs ?? []).flatMap(([from, to]) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i),
    );
    expect(held.length).toBeGreaterThan(0);
    expect(recorded.end?.dropped).toBe(dropped.length);
    expect([...dropped, ...held].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
  });

  it('a denied proc_exit(7) ends the guest as a policy violation, never as success', async () => {
    const h = host(isolation);
    const module = await h.loadModule(EXIT_7);
    const run = await h.run(module, { enforcer: allow('forge.log') });
    expect(run.outcome).toMatchObject({
      status: 'trapped',
      exitCode: null,
      error: { code: 'FORGE_EXIT_DENIED', details: { exitCode: 7 } },
    });
    expect(run.instance.logs()).toEqual([]);
    const recorded = recordedTraceOf(run, module, { recordedAt: 1 });
    expect(recorded.events).toMatchObject([
      { syscall: 'wasi.proc_exit', action: 'deny', executed: false, result: 7, outcome: 'exit' },
    ]);
    // A replay of it ends the same way.
    const replay = await h.replay(module, recorded);
    expect(replay.divergence).toBeUndefined();
    expect(replay.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_EXIT_DENIED' } });
  });
});

describe('the deadline of a worker guest', () => {
  it('holds while the guest grows its memory page by page (the run ends; the worker is stopped behind it)', async () => {
    const h = host('worker', { timeoutMs: 1000, memoryPages: 4096 });
    const run = await h.run(await h.loadModule(GROW_THEN_SPIN));
    expect(run.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
  }, 15_000);

  it('does not count the compilation of the policy: five regex rules run under the default deadline', async () => {
    const rules = Array.from({ length: 5 }, (_, i) => ({
      id: `secret-${i}`,
      action: 'deny',
      match: { syscall: 'wasi.path_open', args: { path: { regex: `^/secret${i}/[a-z]+$` } } },
    }));
    const document = {
      apiVersion: 'forgeone.dev/v1',
      kind: 'Policy',
      metadata: { name: 'regex5', version: '1.0.0' },
      spec: {
        entry: 'base',
        nodes: [
          {
            name: 'base',
            rules: [...rules, { id: 'log', action: 'allow', match: { syscall: 'forge.log' } }],
          },
        ],
      },
    };
    const h = host('worker');
    const module = await h.loadModule(
      wat(`(module (import "forge" "log" (func $log (param i32 i32) (result i32)))
        (memory (export "memory") 1) (data (i32.const 0) "alive")
        (func (export "_start") (drop (call $log (i32.const 0) (i32.const 5)))))`),
    );
    const run = await h.run(module, {
      enforcer: { mode: 'enforce', policy: { kind: 'document', document } },
    });
    expect(run.outcome).toMatchObject({ status: 'returned' });
    expect(run.instance.logs()).toEqual(['alive']);
  });
});
