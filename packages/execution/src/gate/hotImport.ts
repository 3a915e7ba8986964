import type { KernelEventBus } from '@forgeone/common';
import type { CallRecorder } from '@forgeone/observer';
import type { GateCallTiming } from './callTiming';
import type { GateRateWindow } from './rateWindow';
import type { GateSlot } from './gateSlot';
import type { GuestMemory, MemoryWriteSink } from './guestMemory';
import type { WasmValue } from './syscallDefinition';
import { compiledHotImports } from './compiledHotImport';

/** A function a guest imports. */
export type GuestImport = (...args: WasmValue[]) => WasmValue | undefined;

/**
 * How many calls the hot imports may take between two calls of the gate's general path: up to the
 * next timed call and the end of the rate window (none once the guest exited). The hot imports
 * count `left` down; the general path charges what they used to the timing and the rate window.
 */
export class HotCallBudget {
  left = 0;
  #granted = 0;

  readonly #timing: GateCallTiming;
  readonly #rate: GateRateWindow;

  constructor(timing: GateCallTiming, rate: GateRateWindow) {
    this.#timing = timing;
    this.#rate = rate;
  }

  /** Charges the hot calls made since the last `grant` to the timing and the rate window; none may run now. */
  settle(): void {
    const used = this.#granted - Math.max(this.left, 0);
    this.#timing.charge(used);
    this.#rate.charge(used);
    this.left = 0;
    this.#granted = 0;
  }

  /** Hot calls may go on until the next timed call or the end of the rate window (none when `closed`). */
  grant(closed: boolean): void {
    let budget = closed ? 0 : this.#timing.untilTimed;
    if (this.#rate.limited && this.#rate.left < budget) budget = this.#rate.left;
    budget = Math.max(0, budget);
    this.left = budget;
    this.#granted = budget;
  }
}

/** What a gate gives its hot imports. */
export interface HotGate {
  readonly calls: HotCallBudget;
  readonly timing: GateCallTiming;
  readonly memory: GuestMemory;
  /** The guest memory's write sink during a call: the recorder's, or none when writes are not kept. */
  readonly writes: MemoryWriteSink | undefined;
  readonly recorder: CallRecorder;
  readonly checkpoint: (() => void) | undefined;
  /** The kernel's events: a call listened to (`syscall.decided`) goes to `finish`. */
  readonly events: KernelEventBus | undefined;
  /** The gate's general path: any call the hot path does not take. */
  general(slot: GateSlot, params: WasmValue[]): WasmValue | undefined;
  /** A hot call that threw (a fault, an exit, a host error): what the guest gets, or a rethrow. */
  threw(slot: GateSlot, params: WasmValue[], error: unknown): WasmValue | undefined;
  /** Records and learns a hot call the hot entry point does not take (its result is not a number, or it is listened to). */
  finish(slot: GateSlot, params: WasmValue[], result: WasmValue | undefined): void;
}

/**
 * The hot import of a slot, as this process makes them, chosen once at start-up: compiled per
 * slot where the process allows code generation, else the closures below.
 */
export function hotImport(gate: HotGate, slot: GateSlot): GuestImport | undefined {
  return linking(gate, slot);
}

let linking: (gate: HotGate, slot: GateSlot) => GuestImport | undefined =
  compiledHotImports ?? closureHotImport;

/**
 * For tests that compare the two paths in one process: gates link their imports with the closures
 * until the returned function is called.
 */
export function linkWithClosures(): () => void {
  const previous = linking;
  linking = closureHotImport;
  return () => {
    linking = previous;
  };
}

/**
 * The function the guest imports for a slot of up to four params: a closure of its arity, which
 * declares exactly the import's params (V8 calls it without adapting arguments) and takes the hot
 * path itself. The hot path, for a call whose decision the enforcer promised for every call
 * (`slot.hot`) within the gate's budget: checkpoint, stamp, execute with host writes captured,
 * record and learn through the recorder's hot entry point. Anything else (the first call, a timed
 * call, a re-entrant call, the end of a rate window, an exit) goes to the gate's general path.
 * Plain closures: the reference implementation of the hot path, and the path of every gate where
 * code generation is refused (`--disallow-code-generation-from-strings`). Where it is allowed, the
 * same steps are compiled per slot (compiledHotImport.ts, which says why).
 * Undefined for a slot of more params: the gate's general path serves its calls.
 */
export function closureHotImport(gate: HotGate, slot: GateSlot): GuestImport | undefined {
  switch (slot.params.length) {
    case 0:
      return hot0(gate, slot);
    case 1:
      return hot1(gate, slot);
    case 2:
      return hot2(gate, slot);
    case 3:
      return hot3(gate, slot);
    case 4:
      return hot4(gate, slot);
    default:
      return undefined;
  }
}

/** The hot import of a slot of 0 params. */
function hot0(gate: HotGate, slot: GateSlot): GuestImport {
  const { calls, timing, memory, writes, recorder, checkpoint } = gate;
  const { definition, invocation, params } = slot;
  const coarse = timing.coarse;
  const events = gate.events;
  return () => {
    if (!slot.hot || slot.busy || --calls.left < 0) return gate.general(slot, slot.take(0, 0, 0, 0));

    if (checkpoint !== undefined) checkpoint();
    if (coarse !== undefined) {
      const now = coarse.coarseNow();
      if (now !== timing.time) timing.stamp(now);
    }
    memory.writeSink = writes;
    slot.busy = true;
    let result: WasmValue | undefined;
    try {
      result = definition.execute(invocation.reset(params));
    } catch (error) {
      memory.writeSink = undefined;
      slot.busy = false;
      return gate.threw(slot, params, error);
    }
    memory.writeSink = undefined;
    slot.busy = false;
    if (typeof result !== 'number' || (events !== undefined && events.hasListeners('syscall.decided')))
      gate.finish(slot, params, result);
    else recorder.recordHot(slot.template, result, 0, 0, 0, 0, 0);
    return result;
  };
}

/** The hot import of a slot of 1 param. */
function hot1(gate: HotGate, slot: GateSlot): GuestImport {
  const { calls, timing, memory, writes, recorder, checkpoint } = gate;
  const { definition, invocation, params } = slot;
  const coarse = timing.coarse;
  const events = gate.events;
  return (a: WasmValue) => {
    if (!slot.hot || slot.busy || --calls.left < 0) return gate.general(slot, slot.take(a, 0, 0, 0));
    params[0] = a;
    if (checkpoint !== undefined) checkpoint();
    if (coarse !== undefined) {
      const now = coarse.coarseNow();
      if (now !== timing.time) timing.stamp(now);
    }
    memory.writeSink = writes;
    slot.busy = true;
    let result: WasmValue | undefined;
    try {
      result = definition.execute(invocation.reset(params));
    } catch (error) {
      memory.writeSink = undefined;
      slot.busy = false;
      return gate.threw(slot, params, error);
    }
    memory.writeSink = undefined;
    slot.busy = false;
    if (typeof result !== 'number' || (events !== undefined && events.hasListeners('syscall.decided')))
      gate.finish(slot, params, result);
    else recorder.recordHot(slot.template, result, 1, a, 0, 0, 0);
    return result;
  };
}

/** The hot import of a slot of 2 params. */
function hot2(gate: HotGate, slot: GateSlot): GuestImport {
  const { calls, timing, memory, writes, recorder, checkpoint } = gate;
  const { definition, invocation, params } = slot;
  const coarse = timing.coarse;
  const events = gate.events;
  return (a: WasmValue, b: WasmValue) => {
    if (!slot.hot || slot.busy || --calls.left < 0) return gate.general(slot, slot.take(a, b, 0, 0));
    params[0] = a;
    params[1] = b;
    if (checkpoint !== undefined) checkpoint();
    if (coarse !== undefined) {
      const now = coarse.coarseNow();
      if (now !== timing.time) timing.stamp(now);
    }
    memory.writeSink = writes;
    slot.busy = true;
    let result: WasmValue | undefined;
    try {
      result = definition.execute(invocation.reset(params));
    } catch (error) {
      memory.writeSink = undefined;
      slot.busy = false;
      return gate.threw(slot, params, error);
    }
    memory.writeSink = undefined;
    slot.busy = false;
    if (typeof result !== 'number' || (events !== undefined && events.hasListeners('syscall.decided')))
      gate.finish(slot, params, result);
    else recorder.recordHot(slot.template, result, 2, a, b, 0, 0);
    return result;
  };
}

/** The hot import of a slot of 3 params. */
function hot3(gate: HotGate, slot: GateSlot): GuestImport {
  const { calls, timing, memory, writes, recorder, checkpoint } = gate;
  const { definition, invocation, params } = slot;
  const coarse = timing.coarse;
  const events = gate.events;
  return (a: WasmValue, b: WasmValue, c: WasmValue) => {
    if (!slot.hot || slot.busy || --calls.left < 0) return gate.general(slot, slot.take(a, b, c, 0));
    params[0] = a;
    params[1] = b;
    params[2] = c;
    if (checkpoint !== undefined) checkpoint();
    if (coarse !== undefined) {
      const now = coarse.coarseNow();
      if (now !== timing.time) timing.stamp(now);
    }
    memory.writeSink = writes;
    slot.busy = true;
    let result: WasmValue | undefined;
    try {
      result = definition.execute(invocation.reset(params));
    } catch (error) {
      memory.writeSink = undefined;
      slot.busy = false;
      return gate.threw(slot, params, error);
    }
    memory.writeSink = undefined;
    slot.busy = false;
    if (typeof result !== 'number' || (events !== undefined && events.hasListeners('syscall.decided')))
      gate.finish(slot, params, result);
    else recorder.recordHot(slot.template, result, 3, a, b, c, 0);
    return result;
  };
}

/** The hot import of a slot of 4 params. */
function hot4(gate: HotGate, slot: GateSlot): GuestImport {
  const { calls, timing, memory, writes, recorder, checkpoint } = gate;
  const { definition, invocation, params } = slot;
  const coarse = timing.coarse;
  const events = gate.events;
  return (a: WasmValue, b: WasmValue, c: WasmValue, d: WasmValue) => {
    if (!slot.hot || slot.busy || --calls.left < 0) return gate.general(slot, slot.take(a, b, c, d));
    params[0] = a;
    params[1] = b;
    params[2] = c;
    params[3] = d;
    if (checkpoint !== undefined) checkpoint();
    if (coarse !== undefined) {
      const now = coarse.coarseNow();
      if (now !== timing.time) timing.stamp(now);
    }
    memory.writeSink = writes;
    slot.busy = true;
    let result: WasmValue | undefined;
    try {
      result = definition.execute(invocation.reset(params));
    } catch (error) {
      memory.writeSink = undefined;
      slot.busy = false;
      return gate.threw(slot, params, error);
    }
    memory.writeSink = undefined;
    slot.busy = false;
    if (typeof result !== 'number' || (events !== undefined && events.hasListeners('syscall.decided')))
      gate.finish(slot, params, result);
    else recorder.recordHot(slot.template, result, 4, a, b, c, d);
    return result;
  };
}
