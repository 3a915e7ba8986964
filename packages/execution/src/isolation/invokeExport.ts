import { ForgeError, isForgeError } from '@forgeone/common';
import { FUEL_GLOBAL_EXPORT } from '../module/fuelMetering';
import type { DeadlineMeter } from '../module/deadlineMeter';
import { linkHostTable } from '../module/internal/hostTable';
import { checkImports, type CompiledModule } from '../module/moduleSource';
import type { GuestMemory } from '../gate/guestMemory';
import { GuestExit, type WasmValue } from '../gate/syscallDefinition';
import { ALLOC_EXPORT, liftResult, lowerArgs, type ResultKind, type TypedValue } from './typedValue';

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
  /** Stops a deadline-metered module's start function and call at the deadline it was armed with. */
  readonly meter?: DeadlineMeter;
}

/** Refuses an export that does not exist or is not a function, naming the ones that do. */
export function assertFunctionExport(compiled: CompiledModule, entry: string): void {
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
}

/**
 * Instantiates with the gate's imports and binds guest memory; a start function that traps or
 * exits comes back as an outcome (one stopped by `meter`, armed with its deadline, as
 * FORGE_LIMIT_TIMEOUT). Throws only when the host refuses the module (imports).
 */
export function instantiateGuest(
  compiled: CompiledModule,
  imports: WebAssembly.Imports,
  memory: GuestMemory,
  meter?: DeadlineMeter,
): WebAssembly.Instance | RunOutcome {
  checkImports(compiled, imports);
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(compiled.module, imports);
    // A module rewritten for the host had its start function held back until its table is filled.
    linkHostTable(instance, meter)?.();
  } catch (error) {
    return guestFailure(error, undefined, meter, 'its start function');
  }
  const exportedMemory = instance.exports.memory;
  memory.bind(exportedMemory instanceof WebAssembly.Memory ? exportedMemory : undefined);
  return instance;
}

/**
 * Instantiates a compiled module with the gate's imports and calls one export. Guest failures
 * (traps, stack exhaustion, exit) come back as a RunOutcome, never as a host exception; only a
 * module the host refuses to instantiate throws.
 */
export function runInstance(options: RunInstanceOptions): RunOutcome {
  const { compiled, imports, memory } = options;
  const entry = options.entry ?? '_start';
  assertFunctionExport(compiled, entry);
  const instance = instantiateGuest(compiled, imports, memory, options.meter);
  if (!(instance instanceof WebAssembly.Instance)) return instance;
  const fn = instance.exports[entry] as (...args: WasmValue[]) => WasmValue | undefined;
  try {
    const value = fn(...(options.args ?? []));
    return { status: 'returned', exitCode: 0, value };
  } catch (error) {
    return guestFailure(error, undefined, options.meter);
  }
}

export interface InvokeOptions {
  /** Read the result through the bytes ABI. Default `values`. */
  readonly results?: ResultKind;
  /** Fuel for this call (modules compiled with fuel metering only). */
  readonly fuel?: number;
}

/** How one export call ended, with its typed results. */
export interface InvokeResult {
  readonly outcome: RunOutcome;
  readonly values: readonly TypedValue[];
  /** Fuel left after the call, for modules compiled with fuel metering. */
  readonly fuelLeft?: number;
}

/**
 * Calls an export with typed values (bytes and strings through `forge_alloc`, README "Passing bytes
 * and strings"). Guest failures become the outcome (a call `meter` stopped: FORGE_LIMIT_TIMEOUT);
 * wrong arguments throw FORGE_INVOKE_ARGS.
 */
export function invokeExport(
  compiled: CompiledModule,
  instance: WebAssembly.Instance,
  memory: GuestMemory,
  entry: string,
  args: readonly TypedValue[],
  options: InvokeOptions = {},
  meter?: DeadlineMeter,
): InvokeResult {
  assertFunctionExport(compiled, entry);
  const signature = compiled.info?.exports.find((e) => e.name === entry)?.signature;
  const fuelGlobal = compiled.fuel
    ? (instance.exports[FUEL_GLOBAL_EXPORT] as WebAssembly.Global | undefined)
    : undefined;
  if (fuelGlobal) fuelGlobal.value = BigInt(Math.max(0, Math.floor(options.fuel ?? Number.MAX_SAFE_INTEGER)));
  const fuelLeft = () => (fuelGlobal ? { fuelLeft: Math.max(0, Number(fuelGlobal.value as bigint)) } : {});
  const alloc = instance.exports[ALLOC_EXPORT];
  let raw: WasmValue[];
  try {
    raw = lowerArgs(args, {
      export: entry,
      signature,
      memory,
      alloc: typeof alloc === 'function' ? (alloc as (len: number) => unknown) : undefined,
    });
  } catch (error) {
    if (isForgeError(error) && error.code === 'FORGE_INVOKE_ARGS') throw error;
    return { outcome: guestFailure(error, fuelGlobal, meter), values: [], ...fuelLeft() };
  }
  const fn = instance.exports[entry] as (...values: WasmValue[]) => unknown;
  let value: unknown;
  try {
    value = fn(...raw);
  } catch (error) {
    return { outcome: guestFailure(error, fuelGlobal, meter), values: [], ...fuelLeft() };
  }
  const values = liftResult(value, options.results ?? 'values', signature, memory);
  const first = values[0];
  const rawFirst =
    first && (first.type === 'i32' || first.type === 'i64' || first.type === 'f32' || first.type === 'f64')
      ? first.value
      : undefined;
  return { outcome: { status: 'returned', exitCode: 0, value: rawFirst }, values, ...fuelLeft() };
}

/**
 * The error of a guest stopped at its deadline: `what` ran past it (`the call`, `its start
 * function`...). One wording and one shape of details wherever a deadline is kept.
 */
export function deadlineError(
  timeoutMs: number,
  what = 'the call',
  who = 'guest',
  details: Readonly<Record<string, string | number>> = {},
): ForgeError {
  return new ForgeError(
    'FORGE_LIMIT_TIMEOUT',
    `${who} stopped: ${what} ran past its deadline of ${timeoutMs} ms`,
    {
      details: { limit: 'timeoutMs', max: timeoutMs, ...details },
    },
  );
}

/**
 * Turns whatever a guest call threw into an outcome; only link errors are the host's to throw. A
 * call its `meter` stopped ran past its deadline (`what`: the call, its start function).
 */
export function guestFailure(
  error: unknown,
  fuel?: WebAssembly.Global,
  meter?: DeadlineMeter,
  what?: string,
): RunOutcome {
  const trapped = (code: ConstructorParameters<typeof ForgeError>[0], message: string): RunOutcome => ({
    status: 'trapped',
    exitCode: null,
    error: new ForgeError(code, message, { cause: error }),
  });
  if (error instanceof GuestExit) return { status: 'exited', exitCode: error.exitCode };
  if (meter?.expired === true) {
    return { status: 'trapped', exitCode: null, error: deadlineError(meter.timeoutMs ?? 0, what) };
  }
  if (isForgeError(error)) return { status: 'trapped', exitCode: null, error };
  if (error instanceof WebAssembly.RuntimeError) {
    if (fuel !== undefined && (fuel.value as bigint) < 0n) {
      return trapped('FORGE_LIMIT_FUEL', 'guest stopped: it used up its fuel');
    }
    return trapped('FORGE_WASM_TRAP', `guest trapped: ${error.message}`);
  }
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return trapped('FORGE_LIMIT_STACK', 'guest trapped: call stack exhausted');
  }
  if (error instanceof WebAssembly.LinkError) {
    throw new ForgeError('FORGE_WASM_IMPORT_UNKNOWN', `module failed to link: ${error.message}`, {
      cause: error,
    });
  }
  // Anything else is a host bug surfacing through the guest: report it, coded, without a stack.
  return trapped(
    'FORGE_INTERNAL',
    `host error during guest call: ${error instanceof Error ? error.message : String(error)}`,
  );
}
