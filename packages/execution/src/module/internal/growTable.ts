import { GROW_MEMORY_EXPORT, GROW_TABLE_EXPORT, START_EXPORT } from '../wasmCodeRewrite';

/**
 * `(module (import "h" "g" (func (param i32) (result i32))) (export "g" (func 0)))`: a JS function
 * enters a table only as a WebAssembly exported function, which re-exporting an import makes.
 */
// prettier-ignore
const HELPER = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type 0: (i32) -> (i32)
  0x02, 0x07, 0x01, 0x01, 0x68, 0x01, 0x67, 0x00, 0x00, // import "h" "g" (func (type 0))
  0x07, 0x05, 0x01, 0x01, 0x67, 0x00, 0x00, // export "g" (func 0)
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

/**
 * For a module rewritten by routeMemoryGrow: fills its grow table with a function that grows its
 * memory from JS, and returns its start function (removed from the module so that it runs only
 * now, once growth works). Nothing to do for a module that was not rewritten.
 */
export function linkMemoryGrow(instance: WebAssembly.Instance): (() => void) | undefined {
  const table = instance.exports[GROW_TABLE_EXPORT];
  const memory = instance.exports[GROW_MEMORY_EXPORT];
  if (!(table instanceof WebAssembly.Table) || !(memory instanceof WebAssembly.Memory)) return undefined;
  helper ??= new WebAssembly.Module(HELPER);
  const linked = new WebAssembly.Instance(helper, { h: { g: growerOf(memory) } });
  table.set(0, linked.exports.g);
  const start = instance.exports[START_EXPORT];
  return typeof start === 'function' ? (start as () => void) : undefined;
}
