import { ForgeError, isForgeError } from '@forgeone/common';
import { checkImports, type CompiledModule } from './moduleSource';
import type { GuestMemory } from './guestMemory';
import { GuestExit, type WasmValue } from './syscallDefinition';

/** How a guest run ended. */
export type RunOutcome =
  | { readonly status: 'exited'; readonly exitCode: number }
  | { readonly status: 'returned'; readonly exitCode: 0; readonly value: WasmValue | undefined }
  | { readonly status: 'trapped'; readonly exitCode: null; readonly error: ForgeError };

export interface RunInstanceOptions {
  readonly compiled: CompiledModule;
  readonly imports: WebAssembly.Imports;
  /** Bound to the instance's exported `memory` so syscalls can reach guest memory. */
  readonly memory: GuestMemory;
  /** Export to call. Default `_start`. */
  readonly entry?: string;
  readonly args?: readonly WasmValue[];
}

/**
 * Instantiates a compiled module with the gate's imports and calls one export. Guest failures
 * (traps, stack exhaustion, exit) come back as a RunOutcome, never as a host exception; only a
 * module the host refuses to instantiate throws.
 */
export function runInstance(options: RunInstanceOptions): RunOutcome {
  const { compiled, imports, memory } = options;
  checkImports(compiled, imports);
  const entry = options.entry ?? '_start';
  const exported = compiled.exports.find((e) => e.name === entry);
  if (!exported || exported.kind !== 'function') {
    const functions = compiled.exports.filter((e) => e.kind === 'function').map((e) => e.name);
    throw new ForgeError(
      'FORGE_WASM_EXPORT_MISSING',
      `module exports no function '${entry}'` +
        (functions.length > 0 ? ` (exported: ${functions.join(', ')})` : ''),
      { details: { export: entry } },
    );
  }

  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(compiled.module, imports);
  } catch (error) {
    // A start function can trap or exit during instantiation.
    return guestFailure(error);
  }
  const exportedMemory = instance.exports.memory;
  memory.bind(exportedMemory instanceof WebAssembly.Memory ? exportedMemory : undefined);
  const fn = instance.exports[entry] as (...args: WasmValue[]) => WasmValue | undefined;
  try {
    const value = fn(...(options.args ?? []));
    return { status: 'returned', exitCode: 0, value };
  } catch (error) {
    return guestFailure(error);
  }
}

function guestFailure(error: unknown): RunOutcome {
  if (error instanceof GuestExit) return { status: 'exited', exitCode: error.exitCode };
  if (isForgeError(error)) return { status: 'trapped', exitCode: null, error };
  if (error instanceof WebAssembly.RuntimeError) {
    return {
      status: 'trapped',
      exitCode: null,
      error: new ForgeError('FORGE_WASM_TRAP', `guest trapped: ${error.message}`, { cause: error }),
    };
  }
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return {
      status: 'trapped',
      exitCode: null,
      error: new ForgeError('FORGE_WASM_TRAP', 'guest trapped: call stack exhausted', { cause: error }),
    };
  }
  if (error instanceof WebAssembly.LinkError) {
    throw new ForgeError('FORGE_WASM_IMPORT_UNKNOWN', `module failed to link: ${error.message}`, {
      cause: error,
    });
  }
  // Anything else is a host bug surfacing through the guest: report it, coded, without a stack.
  return {
    status: 'trapped',
    exitCode: null,
    error: new ForgeError(
      'FORGE_INTERNAL',
      `host error during guest call: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    ),
  };
}
