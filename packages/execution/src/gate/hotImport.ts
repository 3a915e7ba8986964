import type { GateSlot } from './gateSlot';
import type { WasmValue } from './syscallDefinition';
import type { GuestImport, HotGate } from './hotGate';
import { compiledHotImports } from './compiledHotImport';

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
