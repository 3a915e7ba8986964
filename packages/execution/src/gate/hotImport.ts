import type { Clock, KernelEventBus } from '@forgeone/common';
import {
  ROW_PARAMS,
  ROW_RESULT,
  ROW_TEMPLATE,
  ROW_WRITE_LEN,
  STAGE_ROW,
  type DnaSlot,
  type DnaTracker,
  type TraceRecorder,
  type TraceStage,
} from '@forgeone/observer';
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
  /** The slot's own compiled import, once it has been busy enough (see `hotImport`): calls go there. */
  readonly own: ((...args: WasmValue[]) => WasmValue | undefined) | undefined;
  /** Hot calls left before the gate compiles the slot's own import (counted by the shared one). */
  untilOwn: number;
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
  /** The slot has been busy: compile its own import (`slot.own`). */
  readonly own: (slot: S) => void;
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
  readonly own: HotCallbacks<S>['own'];
  /** Where hot calls are recorded: the recorder's stage (rows handed to the recorder in batches). */
  readonly stage: TraceStage;

  constructor(
    readonly memory: GuestMemory,
    /** The guest memory's write sink during a call: the stage, or none when writes are not kept. */
    readonly sink: MemoryWriteSink | undefined,
    recorder: TraceRecorder,
    readonly dna: DnaTracker,
    readonly clock: Clock,
    callbacks: HotCallbacks<S>,
  ) {
    this.coarse = clock.coarseNow !== undefined;
    this.stage = recorder.stage();
    this.checkpoint = callbacks.checkpoint;
    this.events = callbacks.events;
    this.slow = callbacks.slow;
    this.stamp = callbacks.stamp;
    this.thrown = callbacks.thrown;
    this.untimed = callbacks.untimed;
    this.own = callbacks.own;
  }
}

/** Builds the import function for one slot of a gate. */
export type HotImportFactory = <S extends HotSlot>(
  state: HotState<S>,
  slot: S,
  params: WasmValue[],
) => (...args: WasmValue[]) => WasmValue | undefined;

const PARAM_NAMES = ['a', 'b', 'c', 'd'] as const;
/** Per arity and gate shape: the shared factory, and the source. */
const shared = new Map<string, HotImportFactory>();
const sources = new Map<string, string>();

/**
 * The hot-path import factory for a call of `arity` params (0–4) into a gate of `shape`, or
 * undefined where the runtime refuses to generate code (`--disallow-code-generation-from-strings`):
 * then the gate's general path serves every call.
 *
 * Why generated: an import is called millions of times, and V8 optimises a function by what it saw
 * at each of its call sites. One function for every syscall would see every syscall's `execute` and
 * go megamorphic; code per arity and shape sees few.
 *
 * `own`: a factory compiled afresh, for one slot of one gate. An import made by the shared factory
 * hands its calls to the slot's own import (`slot.own`) once the gate has compiled one: the gate
 * does after the slot's `untilOwn` hot calls. Code of its own (one closure per compiled function) lets V8
 * take the gate's state, the slot and the stage as constants, so that their fields fold away;
 * code shared by the gates of a kernel's containers measured 10–30 ns slower per call. Compiling
 * costs ~8 µs, too much for every import at every launch, and nothing for a slot that made
 * thousands of calls. The source is a fixed template: only the number of params, the gate's shape
 * and `own` vary, and nothing from a guest or a definition enters it.
 *
 * The hot path, for a call whose decision the enforcer promised for every call (`slot.hot`),
 * within the gate's budget: checkpoint, stamp, execute with host writes captured, stage the call's
 * row (TraceStage: its DNA is learned when the row is committed). Anything else (the first call, a
 * timed call, a re-entrant call, the end of a rate window, an exit) goes to `state.slow`, the
 * gate's general path.
 */
export function hotImport(
  arity: number,
  shape: HotShape = FULL_SHAPE,
  own = false,
): HotImportFactory | undefined {
  const key = `${arity}:${shape.checkpoint ? 'c' : ''}${shape.coarse ? 'k' : ''}${shape.events ? 'e' : ''}${own ? 'o' : ''}`;
  let factory = own ? undefined : shared.get(key);
  if (factory === undefined) {
    let source = sources.get(key);
    if (source === undefined) {
      source = hotSource(arity, shape, own);
      sources.set(key, source);
    }
    try {
      factory = (new Function(source) as () => HotImportFactory)();
    } catch {
      return undefined; // code generation refused (asked again next time: cheap, and rare)
    }
    if (!own) shared.set(key, factory);
  }
  return factory;
}

/**
 * What a gate has for all its life, and its hot imports then need not look at on every call: a
 * checkpoint, a coarse clock, an event bus.
 */
export interface HotShape {
  readonly checkpoint: boolean;
  readonly coarse: boolean;
  readonly events: boolean;
}
const FULL_SHAPE: HotShape = { checkpoint: true, coarse: true, events: true };

/** The shape of the gate whose state is `state`. */
export function hotShape<S extends HotSlot>(state: HotState<S>): HotShape {
  return {
    checkpoint: state.checkpoint !== undefined,
    coarse: state.coarse,
    events: state.events !== undefined,
  };
}

function hotSource(arity: number, shape: HotShape, own: boolean): string {
  const names = PARAM_NAMES.slice(0, arity);
  const take = [...names, ...PARAM_NAMES.slice(arity).map(() => '0')].join(', ');
  const store = names.map((name, i) => `P[${i}] = ${name};`).join(' ');
  // A bigint param (an i64) does not fit a row: such a call goes to the stage's general path.
  const numberChecks = names.map((name) => ` || typeof ${name} !== 'number'`).join('');
  const rowStores = names.map((name, i) => `rows[r + ${ROW_PARAMS + i}] = ${name};`).join(' ');
  const checkpoint = shape.checkpoint ? 'if (H.checkpoint !== undefined) H.checkpoint();' : '';
  const clock = shape.coarse
    ? `const now = H.clock.coarseNow();
    if (now !== H.time) H.stamp(now);`
    : '';
  const delegate = own
    ? ''
    : `const own = S.own;
    if (own !== undefined) return own(${names.join(', ')});`;
  // The shared import counts its hot calls of the slot, and has the gate compile the slot's own.
  const countdown = own ? '' : 'if (--S.untilOwn === 0) H.own(S);';
  const listened = shape.events
    ? " || (H.events !== undefined && H.events.hasListeners('syscall.decided'))"
    : '';
  return `"use strict";
return function hotImportFactory(H, S, P) {
  return function hotImport(${names.join(', ')}) {
    ${delegate}
    if (!S.hot || S.busy || --H.budget < 0) return H.slow(S, S.take(${take}));
    ${countdown}
    ${store}
    ${checkpoint}
    ${clock}
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
    if (typeof result !== 'number'${listened}) {
      H.untimed(S, P, result);
      return result;
    }
    const st = H.stage;
    const r = st.at;
    if (r === st.end${numberChecks}) {
      if (!st.add(S.template, result, ${arity}, ${take})) H.dna.observeSlot(S.dna, false);
    } else {
      // TraceStage.add, inline: the call's row, with the write it captured (or none); its DNA is
      // learned when the stage commits it.
      const rows = st.rows;
      rows[r + ${ROW_TEMPLATE}] = S.template;
      rows[r + ${ROW_RESULT}] = result;
      ${rowStores}
      if (st.pending) st.pending = false;
      else rows[r + ${ROW_WRITE_LEN}] = 0;
      st.at = r + ${STAGE_ROW};
      if (r + ${STAGE_ROW} === st.end) st.flush();
    }
    return result;
  };
};`;
}
