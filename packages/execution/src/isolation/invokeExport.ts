import { ForgeError, isForgeError } from '@forgeone/common';
import { FUEL_GLOBAL_EXPORT } from '../module/fuelMetering';
import type { DeadlineMeter } from '../module/deadlineMeter';
import { linkHostTable } from '../module/internal/hostTable';
import { checkImports, type CompiledModule } from '../module/moduleSource';
import type { GuestMemory } from '../gate/guestMemory';
import { GuestExit, type WasmValue } from '../gate/syscallDefinition';
import { ALLOC_EXPORT, liftResult, lowerArgs, type ResultKind, type TypedValue } from './typedValue';
import type { WasmSignature } from '../module/wasmModuleInfo';

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

/** One export of one instance, looked up once (prepareExport): what each call of it needs. */
export interface ExportCall {
  readonly entry: string;
  readonly fn: (...values: WasmValue[]) => unknown;
  readonly signature: WasmSignature | undefined;
  readonly alloc: ((len: number) => unknown) | undefined;
  readonly fuelGlobal: WebAssembly.Global | undefined;
  /** The export takes no parameters: a call without arguments needs no lowering. */
  readonly takesNothing: boolean;
}

/** Looks an export up for calls (FORGE_WASM_EXPORT_MISSING when it is not a function). */
export function prepareExport(
  compiled: CompiledModule,
  instance: WebAssembly.Instance,
  entry: string,
): ExportCall {
  assertFunctionExport(compiled, entry);
  const signature = compiled.info?.exports.find((e) => e.name === entry)?.signature;
  const fuelGlobal = compiled.fuel
    ? (instance.exports[FUEL_GLOBAL_EXPORT] as WebAssembly.Global | undefined)
    : undefined;
  const alloc = instance.exports[ALLOC_EXPORT];
  return {
    entry,
    fn: instance.exports[entry] as (...values: WasmValue[]) => unknown,
    signature,
    alloc: typeof alloc === 'function' ? (alloc as (len: number) => unknown) : undefined,
    fuelGlobal,
    takesNothing: signature !== undefined && signature.params.length === 0,
  };
}

const NO_VALUES: readonly WasmValue[] = Object.freeze([]);
const NO_RESULTS: readonly TypedValue[] = Object.freeze([]);

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
  return callExport(prepareExport(compiled, instance, entry), memory, args, options, meter);
}

/** `invokeExport` of an export already looked up: the per-call work only. */
export function callExport(
  call: ExportCall,
  memory: GuestMemory,
  args: readonly TypedValue[],
  options: InvokeOptions,
  meter?: DeadlineMeter,
): InvokeResult {
  const { fuelGlobal, signature } = call;
  if (fuelGlobal) fuelGlobal.value = BigInt(Math.max(0, Math.floor(options.fuel ?? Number.MAX_SAFE_INTEGER)));
  let raw: readonly WasmValue[];
  if (args.length === 0 && call.takesNothing) raw = NO_VALUES;
  else {
    try {
      raw = lowerArgs(args, { export: call.entry, signature, memory, alloc: call.alloc });
    } catch (error) {
      if (isForgeError(error) && error.code === 'FORGE_INVOKE_ARGS') throw error;
      return failedCall(error, fuelGlobal, meter);
    }
  }
  let value: unknown;
  try {
    value = raw.length === 0 ? call.fn() : call.fn(...raw);
  } catch (error) {
    return failedCall(error, fuelGlobal, meter);
  }
  const results = options.results ?? 'values';
  const values =
    value === undefined && results === 'values'
      ? (NO_RESULTS as TypedValue[])
      : liftResult(value, results, signature, memory);
  const first = values[0];
  const rawFirst =
    first && (first.type === 'i32' || first.type === 'i64' || first.type === 'f32' || first.type === 'f64')
      ? first.value
      : undefined;
  const outcome: RunOutcome = { status: 'returned', exitCode: 0, value: rawFirst };
  return fuelGlobal ? { outcome, values, fuelLeft: fuelLeftOf(fuelGlobal) } : { outcome, values };
}

function failedCall(
  error: unknown,
  fuelGlobal: WebAssembly.Global | undefined,
  meter: DeadlineMeter | undefined,
): InvokeResult {
  const outcome = guestFailure(error, fuelGlobal, meter);
  return fuelGlobal ? { outcome, values: [], fuelLeft: fuelLeftOf(fuelGlobal) } : { outcome, values: [] };
}

function fuelLeftOf(fuel: WebAssembly.Global): number {
  return Math.max(0, Number(fuel.value as bigint));
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
