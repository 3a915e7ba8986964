import type { GateSlot } from './gateSlot';
import type { GuestImport, HotGate } from './hotGate';

/**
 * The one module of the host that generates code from strings. It compiles the same hot path as
 * the closures of hotImport.ts (the reference implementation, which the gate uses wherever code
 * generation is refused), from one fixed template: only the number of params and which of the
 * gate's optional parts exist (checkpoint, coarse clock, event bus) vary. Nothing from a guest, a
 * definition or a policy enters the source.
 *
 * Why it exists, measured (bench/gate.bench.ts, default row, and the same row with the other cases'
 * gates live, as in a kernel running several containers): closures made from one function literal
 * share V8's feedback and optimised code, so one closure for every slot of every gate sees every
 * syscall's `execute` and every gate's objects, and cannot fold any of them. With the gate bench's
 * seven gates live, the closure path measured 63 ns a call against 31 ns for code of its own per
 * slot; the issue's bar for keeping generated code is a 1.3× gap.
 *
 * How: per arity and gate shape, a shared factory is compiled once; the import it makes counts
 * the slot's hot calls, and after {@link OWN_AFTER} of them compiles the slot's own import (a
 * source made unique by a serial number, so that V8 gives it feedback and code of its own, with
 * the gate and the slot as constants) and hands every later call to it. Compiling costs ~10 µs:
 * too much for every import at every launch, nothing for a slot that made thousands of calls.
 *
 * The choice between this and the closures is made once, when the module loads ({@link
 * compiledHotImports}): a process started with `--disallow-code-generation-from-strings` (or with
 * FORGEONE_HOST_CODEGEN=off in its environment) uses the closures for every gate.
 */

/** Hot calls of a slot through its shared compiled import before the slot gets its own. */
export const OWN_AFTER = 2_048;

/** Makes the compiled import of a slot (undefined for a slot of more than four params). */
export type CompiledHotImports = (gate: HotGate, slot: GateSlot) => GuestImport | undefined;

/** Where a shared import finds the slot's own, and counts down to compiling it. */
interface OwnCell {
  fn: GuestImport | undefined;
  left: number;
  compile(): void;
}

type Factory = (gate: HotGate, slot: GateSlot, cell: OwnCell | undefined) => GuestImport;

const NAMES = ['a', 'b', 'c', 'd'] as const;

/** Which of the gate's optional parts exist: fixed for a gate's life, so not looked at per call. */
function shapeOf(gate: HotGate): string {
  return `${gate.checkpoint ? 'c' : ''}${gate.timing.coarse ? 'k' : ''}${gate.events ? 'e' : ''}`;
}

/** The source of a factory of imports of `arity` params for gates of `shape`; `own`: the slot's own. */
function source(arity: number, shape: string, own: boolean, serial: number): string {
  const names = NAMES.slice(0, arity);
  const params = names.join(', ');
  const take = [...names, ...NAMES.slice(arity).map(() => '0')].join(', ');
  const store = names.map((name, i) => `P[${i}] = ${name};`).join(' ');
  const record = `${arity}, ${take}`;
  return `"use strict"; // forgeone hot import ${own ? `own #${serial}` : 'shared'}
return function factory(G, S, cell) {
  const calls = G.calls, timing = G.timing, memory = G.memory, writes = G.writes;
  const recorder = G.recorder, checkpoint = G.checkpoint, events = G.events;
  const definition = S.definition, invocation = S.invocation, P = S.params;
  const coarse = timing.coarse;
  return function hotImport(${params}) {
    ${own ? '' : `const fn = cell.fn; if (fn !== undefined) return fn(${params});`}
    if (!S.hot || S.busy || --calls.left < 0) return G.general(S, S.take(${take}));
    ${own ? '' : 'if (--cell.left === 0) cell.compile();'}
    ${store}
    ${shape.includes('c') ? 'checkpoint();' : ''}
    ${shape.includes('k') ? 'const now = coarse.coarseNow(); if (now !== timing.time) timing.stamp(now);' : ''}
    memory.writeSink = writes;
    S.busy = true;
    let result;
    try {
      result = definition.execute(invocation.reset(P));
    } catch (error) {
      memory.writeSink = undefined;
      S.busy = false;
      return G.threw(S, P, error);
    }
    memory.writeSink = undefined;
    S.busy = false;
    if (typeof result !== 'number'${shape.includes('e') ? " || events.hasListeners('syscall.decided')" : ''}) G.finish(S, P, result);
    else recorder.recordHot(S.template, result, ${record});
    return result;
  };
};`;
}

function compile(text: string): Factory {
  return (new Function(text) as () => Factory)();
}

/** Whether this process lets the host compile code from strings (probed once). */
function codegenAllowed(): boolean {
  if (process.env.FORGEONE_HOST_CODEGEN === 'off') return false;
  try {
    compile('return () => () => undefined;');
    return true;
  } catch {
    return false;
  }
}

function makeCompiledHotImports(): CompiledHotImports {
  const shared = new Map<string, Factory>();
  let serial = 0;
  return (gate, slot) => {
    const arity = slot.params.length;
    if (arity > NAMES.length) return undefined;
    const shape = shapeOf(gate);
    const key = `${arity}:${shape}`;
    let factory = shared.get(key);
    if (factory === undefined) {
      factory = compile(source(arity, shape, false, 0));
      shared.set(key, factory);
    }
    const cell: OwnCell = {
      fn: undefined,
      left: OWN_AFTER,
      compile: () => {
        serial += 1;
        cell.fn = compile(source(arity, shape, true, serial))(gate, slot, undefined);
      },
    };
    return factory(gate, slot, cell);
  };
}

/** The compiled hot imports, or undefined where the process refuses code generation (then: closures). */
export const compiledHotImports: CompiledHotImports | undefined = codegenAllowed()
  ? makeCompiledHotImports()
  : undefined;
