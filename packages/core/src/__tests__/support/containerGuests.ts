import {
  KernelEventBus,
  ManualClock,
  systemClock,
  type ContainerStateEvent,
  type StoragePort,
} from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import type { EnforcerSpec, WorkerPool } from '@forgeone/execution';
import { Runtime, type RuntimeDeps } from '../../index';

const encode = (text: string) => new TextEncoder().encode(text);

/** A service: no `_start`; a counter, an adder, a loop of syscalls, a loop without, a trap, proc_exit. */
export const SERVICE = encode(`(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (global $n (mut i32) (i32.const 0))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "count") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))
  (func (export "noop"))
  (func (export "spin") (param $k i32) (result i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $k)))
      (drop (call $now (i32.const 8)))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br $again)))
    (i32.const 7))
  (func (export "forever") (loop $l (br $l)))
  (func (export "boom") unreachable)
  (func (export "quit") (call $exit (i32.const 4))))`);

/** A reactor with `_initialize`: `get` answers what `_initialize` set. */
export const REACTOR = encode(`(module
  (global $v (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $v (i32.const 42)))
  (func (export "get") (result i32) (global.get $v)))`);

/** A command: `_start` makes `n` syscalls (default 1) and returns. */
export const COMMAND = encode(`(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $now (i32.const 8)))))`);

/** A command that exits with 3. */
export const EXIT3 = encode(`(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 3))))`);

/** A command whose `_start` traps. */
export const TRAP = encode(`(module (func (export "_start") unreachable))`);

/** A command that never ends on its own (a syscall per turn, so a pause holds it). */
export const ENDLESS = encode(`(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (loop $l (drop (call $now (i32.const 8))) (br $l))))`);

/** Limits under which ENDLESS runs until it is stopped (no syscall rate, a long deadline). */
export const endlessLimits = { syscallsPerSecond: 0, timeoutMs: 600_000 } as const;

export const allow: EnforcerSpec = {
  mode: 'enforce',
  policy: { kind: 'allow-list', allow: ['forge.clock_now', 'wasi.proc_exit'] },
};

/** A runtime on a fresh bus that records every `container.state` event. */
export function containerRuntime(
  extra: Partial<RuntimeDeps> & { readonly store?: StoragePort; readonly pool?: WorkerPool } = {},
  options: { readonly manualClock?: boolean } = {},
) {
  const events = new KernelEventBus();
  const states: ContainerStateEvent[] = [];
  events.on('container.state', (event) => states.push(event));
  const runtime = new Runtime({
    clock: options.manualClock ? new ManualClock(1_000) : systemClock,
    events,
    limits: defaultRuntimeConfig().limits,
    mode: 'enforce',
    ...extra,
  });
  return { runtime, events, states };
}

/** The states a container went through, in order. */
export function statesOf(events: readonly ContainerStateEvent[], id: string): string[] {
  return events.filter((e) => e.containerId === id).map((e) => e.state);
}
