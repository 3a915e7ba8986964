import { ForgeError } from '@forgeone/common';
import type binaryenModule from 'binaryen';

type Binaryen = typeof binaryenModule;
let binaryenLoading: Promise<Binaryen> | undefined;

/** Name of the exported mutable i64 global holding the fuel left (set by the host before each call). */
export const FUEL_GLOBAL_EXPORT = '__forge_fuel';

/**
 * Instruments a module for deterministic fuel metering with binaryen: one unit is taken at every
 * function entry, loop header and function return (binaryen's `log-execution` pass places the
 * hooks; the hook becomes an internal function that decrements a global and traps below zero).
 * The same module with the same fuel always stops at the same point, whatever the machine.
 */
export async function instrumentFuel(binary: Uint8Array, name = 'module'): Promise<Uint8Array> {
  // binaryen is large (about a second to load): loaded only when fuel metering is asked for.
  binaryenLoading ??= import('binaryen').then(
    (m) => (m as { default?: Binaryen }).default ?? (m as unknown as Binaryen),
  );
  const binaryen = await binaryenLoading;
  let module: binaryenModule.Module | undefined;
  try {
    module = binaryen.readBinary(binary);
    module.setFeatures(binaryen.Features.All);
    for (let i = 0; i < module.getNumExports(); i += 1) {
      const info = binaryen.getExportInfo(module.getExportByIndex(i));
      if (info.name === FUEL_GLOBAL_EXPORT) {
        throw new ForgeError(
          'FORGE_WASM_INVALID',
          `${name} exports '${FUEL_GLOBAL_EXPORT}', a name the host reserves`,
        );
      }
    }
    const importsBefore = functionImports(binaryen, module);
    module.runPasses(['log-execution']);
    const hook = functionImports(binaryen, module).find(
      (fn) => fn.base === 'log_execution' && !importsBefore.some((before) => before.name === fn.name),
    );
    if (hook === undefined) return binary; // no function: nothing can run
    const fuel = '__forge_fuel_left';
    module.addGlobal(fuel, binaryen.i64, true, module.i64.const(0n));
    module.addGlobalExport(fuel, FUEL_GLOBAL_EXPORT);
    module.removeFunction(hook.name);
    module.addFunction(
      hook.name,
      binaryen.createType([binaryen.i32]),
      binaryen.none,
      [],
      module.block(null, [
        module.global.set(fuel, module.i64.sub(module.global.get(fuel, binaryen.i64), module.i64.const(1n))),
        module.if(
          module.i64.lt_s(module.global.get(fuel, binaryen.i64), module.i64.const(0n)),
          module.unreachable(),
        ),
      ]),
    );
    if (!module.validate()) throw new Error('the instrumented module does not validate');
    return module.emitBinary();
  } catch (error) {
    if (error instanceof ForgeError) throw error;
    throw new ForgeError(
      'FORGE_WASM_INVALID',
      `${name}: fuel instrumentation failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    module?.dispose();
  }
}

function functionImports(
  binaryen: Binaryen,
  module: binaryenModule.Module,
): { name: string; base: string }[] {
  const out: { name: string; base: string }[] = [];
  for (let i = 0; i < module.getNumFunctions(); i += 1) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (info.module) out.push({ name: info.name, base: info.base ?? '' });
  }
  return out;
}
