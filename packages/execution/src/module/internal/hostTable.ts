import { DeadlineMeter } from '../deadlineMeter';
import {
  GROW_ELEMENT,
  GROW_MEMORY_EXPORT,
  HOST_TABLE_EXPORT,
  START_EXPORT,
  TICK_ELEMENT,
} from '../wasmCodeRewrite';

/**
 * `(module (import "h" "g" (func (param i32) (result i32))) (import "h" "t" (func (result i32)))
 * (export "g" (func 0)) (export "t" (func 1)))`: a JS function enters a table only as a
 * WebAssembly exported function, which re-exporting an import makes.
 */
// prettier-ignore
const HELPER = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x0a, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7f, // types: (i32) -> (i32), () -> (i32)
  0x02, 0x0d, 0x02, 0x01, 0x68, 0x01, 0x67, 0x00, 0x00, 0x01, 0x68, 0x01, 0x74, 0x00, 0x01, // imports h.g, h.t
  0x07, 0x09, 0x02, 0x01, 0x67, 0x00, 0x00, 0x01, 0x74, 0x00, 0x01, // exports g, t
]);
let helper: WebAssembly.Module | undefined;

/** `memory.grow` from JS, with its semantics: the old size in pages, or -1 when the memory cannot grow. */
function growerOf(memory: WebAssembly.Memory): (delta: number) => number {
  return (delta) => {
    try {
      return memory.grow(delta >>> 0);
    } catch (error) {
      if (error instanceof RangeError) return -1;
      throw error;
    }
  };
}

/** A module without memory.grow never calls element 0. */
const noGrow = (): number => -1;

/**
 * For a module rewritten by rewriteModuleCode: fills its host table with a function that grows its
 * memory from JS and with `meter`'s tick (a meter that never stops the guest when none is given),
 * and returns its start function (removed from the module so that it runs only now, once the
 * table is filled). Nothing to do for a module that was not rewritten.
 */
export function linkHostTable(
  instance: WebAssembly.Instance,
  meter?: DeadlineMeter,
): (() => void) | undefined {
  const table = instance.exports[HOST_TABLE_EXPORT];
  if (!(table instanceof WebAssembly.Table)) return undefined;
  const memory = instance.exports[GROW_MEMORY_EXPORT];
  helper ??= new WebAssembly.Module(HELPER);
  const linked = new WebAssembly.Instance(helper, {
    h: {
      g: memory instanceof WebAssembly.Memory ? growerOf(memory) : noGrow,
      t: (meter ?? new DeadlineMeter()).tick,
    },
  });
  table.set(GROW_ELEMENT, linked.exports.g);
  table.set(TICK_ELEMENT, linked.exports.t);
  const start = instance.exports[START_EXPORT];
  return typeof start === 'function' ? (start as () => void) : undefined;
}
