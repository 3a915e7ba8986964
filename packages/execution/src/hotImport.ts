import type { Clock, KernelEventBus } from '@forgeone/common';
import type { DnaSlot, DnaTracker, TraceRecorder } from '@forgeone/observer';
import type { GuestMemory, MemoryWriteSink } from './guestMemory';
import type { SyscallDefinition, SyscallInvocation, WasmValue } from './syscallDefinition';

/** What a hot import needs of the gate's slot for its syscall (SyscallGate's GateSlot). */
export interface HotSlot {
  /** The call may take the hot path: its decision was reused, its args decode lazily, it is untimed. */
  readonly hot: boolean;
  /** A call of this slot is in progress. */
  busy: boolean;
  readonly definition: SyscallDefinition;
  readonly invocation: { reset(args: readonly WasmValue[]): SyscallInvocation };
  readonly template: number;
  readonly dna: DnaSlot;
  take(a: WasmValue, b: WasmValue, c: WasmValue, d: WasmValue): WasmValue[];
}

/** The gate's ways back in from a hot import. */
export interface HotCallbacks<S extends HotSlot> {
  readonly checkpoint: (() => void) | undefined;
  readonly events: KernelEventBus | undefined;
  /** The gate's general path (SyscallGate's `#call`). */
  readonly slow: (slot: S, params: WasmValue[]) => WasmValue | undefined;
  /** A new wall time for the calls from now on. */
  readonly stamp: (now: number) => void;
  /** An executed call threw (a fault, an exit, a host error). */
  readonly thrown: (slot: S, params: WasmValue[], error: unknown) => WasmValue | undefined;
  /** Records and learns an untimed call the template does not fit (a result that is not a number). */
  readonly untimed: (slot: S, params: WasmValue[], result: WasmValue | undefined) => void;
}

/**
 * The state of one gate that its hot imports read and write: public fields, because the imports
 * are generated code and cannot reach the gate's private ones. Internal to the package.
 */
export class HotState<S extends HotSlot = HotSlot> {
  /**
   * Hot calls left before the gate must look again (the next timed call, the end of the rate
   * window). Each hot call counts it down; zero while a slow call runs and after the guest exited.
   */
  budget = 0;
  /** The wall time calls are stamped with (ms since the epoch). */
  time = 0;
  readonly coarse: boolean;
  readonly checkpoint: (() => void) | undefined;
  readonly events: KernelEventBus | undefined;
  readonly slow: HotCallbacks<S>['slow'];
  readonly stamp: HotCallbacks<S>['stamp'];
  readonly thrown: HotCallbacks<S>['thrown'];
  readonly untimed: HotCallbacks<S>['untimed'];

  constructor(
    readonly memory: GuestMemory,
    readonly sink: MemoryWriteSink | undefined,
    readonly recorder: TraceRecorder,
    readonly dna: DnaTracker,
    readonly clock: Clock,
    callbacks: HotCallbacks<S>,
  ) {
    this.coarse = clock.coarseNow !== undefined;
    this.checkpoint = callbacks.checkpoint;
    this.events = callbacks.events;
    this.slow = callbacks.slow;
    this.stamp = callbacks.stamp;
    this.thrown = callbacks.thrown;
    this.untimed = callbacks.untimed;
  }
}

/** Builds the import function for one slot of a gate. */
export type HotImportFactory = <S extends HotSlot>(
  state: HotState<S>,
  slot: S,
  params: WasmValue[],
) => (...args: WasmValue[]) => WasmValue | undefined;

const PARAM_NAMES = ['a', 'b', 'c', 'd'] as const;
/** Syscalls get their own generated code up to this many; the rest share one per arity. */
const MAX_FACTORIES = 256;
const factories = new Map<string, HotImportFactory | null>();

/**
 * The hot-path import for `syscall` with `arity` params (0–4), or undefined where the runtime
 * refuses to generate code (`--disallow-code-generation-from-strings`): then the gate's general
 * path serves every call.
 *
 * Why generated: an import is called millions of times, and V8 optimises a function by what it
 * saw at each of its call sites. One shared function would see every syscall's `execute` and go
 * megamorphic; code generated once per syscall sees only its own, and V8 inlines it. The source is
 * a fixed template: only the number of params varies, and nothing from a guest or a definition
 * enters it.
 *
 * The hot path, for a call whose decision the enforcer promised for every call (`slot.hot`), within
 * the gate's budget: checkpoint, stamp, execute with host writes captured, record by template,
 * learn. Anything else (the first call, a timed call, a re-entrant call, the end of a rate window,
 * an exit) goes to `state.slow`, the gate's general path.
 */
export function hotImport(syscall: string, arity: number): HotImportFactory | undefined {
  const key =
    factories.size < MAX_FACTORIES || factories.has(`${arity}:${syscall}`)
      ? `${arity}:${syscall}`
      : `${arity}:*`;
  let factory = factories.get(key);
  if (factory === undefined) {
    factory = compileFactory(arity);
    factories.set(key, factory);
  }
  return factory ?? undefined;
}

function compileFactory(arity: number): HotImportFactory | null {
  const names = PARAM_NAMES.slice(0, arity);
  const take = [...names, ...PARAM_NAMES.slice(arity).map(() => '0')].join(', ');
  const store = names.map((name, i) => `P[${i}] = ${name};`).join(' ');
  const source = `"use strict";
return function hotImportFactory(H, S, P) {
  return function hotImport(${names.join(', ')}) {
    if (!S.hot || S.busy || --H.budget < 0) return H.slow(S, S.take(${take}));
    ${store}
    if (H.checkpoint !== undefined) H.checkpoint();
    if (H.coarse) {
      const now = H.clock.coarseNow();
      if (now !== H.time) H.stamp(now);
    }
    const memory = H.memory;
    memory.writeSink = H.sink;
    S.busy = true;
    let result;
    try {
      result = S.definition.execute(S.invocation.reset(P));
    } catch (error) {
      memory.writeSink = undefined;
      S.busy = false;
      return H.thrown(S, P, error);
    }
    memory.writeSink = undefined;
    S.busy = false;
    if (typeof result !== 'number' || (H.events !== undefined && H.events.hasListeners('syscall.decided'))) {
      H.untimed(S, P, result);
      return result;
    }
    H.recorder.recordTemplatedArgs(S.template, result, ${arity}, ${take});
    H.dna.observeSlot(S.dna, false);
    return result;
  };
};`;
  try {
    return (new Function(source) as () => HotImportFactory)();
  } catch {
    return null;
  }
}
