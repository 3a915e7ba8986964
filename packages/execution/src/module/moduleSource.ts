import { createHash } from 'node:crypto';
import { ForgeError } from '@forgeone/common';
import { defaultModuleLimits, resolveLimits, type ContainerLimitsInput } from '@forgeone/config';
import type wabtFactory from 'wabt';
import { instrumentFuel } from './fuelMetering';
import { checkModuleSize } from './moduleSize';
import { WasmFormatError } from './internal/wasmReader';
import { findWatOverNesting } from './internal/watNesting';
import { exposeModuleState, globalCount, type ModuleState } from './stateExports';
import { isReservedExport, rewriteModuleCode } from './wasmCodeRewrite';
import { applyWasmLimits } from './wasmLimitPatch';
import { readWasmModuleInfo, type WasmModuleInfo } from './wasmModuleInfo';

export type ModuleFormat = 'wasm' | 'wat';

// The limits and their defaults are config's (one name each, end to end); re-exported for compileModule's callers.
export { defaultModuleLimits } from '@forgeone/config';
export type { ModuleLimits } from '@forgeone/config';

export interface CompileModuleOptions {
  readonly name?: string;
  readonly format?: ModuleFormat;
  readonly limits?: ContainerLimitsInput;
  /** Import namespaces the host knows; any other import (or any non-function import) is refused. */
  readonly namespaces?: readonly string[];
  /** Instrument the module for deterministic fuel metering (see instrumentFuel). */
  readonly fuel?: boolean;
  /**
   * Meter call deadlines in the module's code (rewriteModuleCode's `meterDeadline`): what lets
   * inline isolation stop a guest at its deadline without V8's per-call watchdog. Default true;
   * false compiles the code as given (inline deadlines then need the watchdog).
   */
  readonly deadlineMetering?: boolean;
  /**
   * Expose the module's state for snapshots (exposeModuleState: every mutable global and memory 0
   * exported under reserved names; nothing else changes). Default false, or true when the
   * environment has FORGEONE_SNAPSHOT_EXPORTS=on (how the conformance tests run on instrumented
   * modules).
   */
  readonly snapshots?: boolean;
}

/** A validated, compiled module, identified by the SHA-256 of its binary. */
export interface CompiledModule {
  readonly module: WebAssembly.Module;
  /** SHA-256 of the module as given (binary form, before the host applied its limits). */
  readonly sha256: string;
  /** Imports, exports with signatures, memories and tables, as declared. */
  readonly info?: WasmModuleInfo;
  /** True when compiled with fuel metering. */
  readonly fuel?: boolean;
  /**
   * True when every function entry and loop header checks the call's deadline (a DeadlineMeter
   * then stops the guest). False when metering was turned off or the module waits on a shared
   * memory, where no check in the code can interrupt it.
   */
  readonly deadlineMetered?: boolean;
  /** What the module exposes to snapshots; undefined when it was compiled without `snapshots`. */
  readonly state?: ModuleState;
  readonly imports: readonly WebAssembly.ModuleImportDescriptor[];
  readonly exports: readonly WebAssembly.ModuleExportDescriptor[];
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** `wasm` when the bytes start with the WebAssembly magic number, else `wat`. */
export function detectFormat(bytes: Uint8Array): ModuleFormat {
  return WASM_MAGIC.every((b, i) => bytes[i] === b) ? 'wasm' : 'wat';
}

/**
 * How deeply WebAssembly text may nest before it is refused, counted as open parentheses plus open
 * flat blocks (`block`/`loop`/`if`/`try`/`try_table` up to their `end`).
 *
 * Why so low: wabt, the text parser, is C++ compiled to WebAssembly with a fixed stack of its own, and
 * its recursive-descent parser overflows it at about 145 to 175 levels (measured on wabt 1.0.39:
 * folded `(block` 150, `(block (result i32) (drop ...)` 144, flat `block` 176, mixed 162). Past that
 * it does not fail cleanly: it reads out of bounds, aborts, hangs, or corrupts its own memory, so the
 * next parse can fail too or, worse, produce a different module. 100 keeps a margin below every
 * construct measured. Binary modules are not limited by this: V8 validates them without recursion.
 */
export const WAT_NESTING_LIMIT = 100;

type Wabt = Awaited<ReturnType<typeof wabtFactory>>;
let wabtLoading: Promise<Wabt> | undefined;

/**
 * Translates WebAssembly text to binary (wabt, loaded on first use). Text nested deeper than
 * `WAT_NESTING_LIMIT` is refused with FORGE_WAT_TOO_DEEP before wabt sees it; a failure of wabt
 * itself is FORGE_WAT_INVALID, never a raw message.
 */
export async function watToWasm(text: Uint8Array | string, name = 'module.wat'): Promise<Uint8Array> {
  // wabt reads a typed array's whole underlying buffer, not just the view: hand it exact bytes (a
  // package entry is a view into the package file; a small Buffer is a view into Node's pool, and
  // Buffer#slice does not copy).
  const exact = typeof text === 'string' ? new TextEncoder().encode(text) : new Uint8Array(text);
  checkWatNesting(exact, name);
  // wabt is a pure function of its input; one shared instance is a cache, not kernel state.
  const loading = (wabtLoading ??= import('wabt').then((m) =>
    ((m as { default?: () => Promise<Wabt> }).default ?? (m as unknown as () => Promise<Wabt>))(),
  ));
  const wabt = await loading;
  let parsed: ReturnType<Wabt['parseWat']> | undefined;
  try {
    parsed = wabt.parseWat(name, exact, {
      multi_value: true,
      bulk_memory: true,
      sign_extension: true,
      mutable_globals: true,
      sat_float_to_int: true,
    });
    parsed.resolveNames();
    parsed.validate();
    return new Uint8Array(parsed.toBinary({ log: false }).buffer);
  } catch (error) {
    if (isParserCrash(error)) {
      // The instance's memory and stack are in an unknown state after a trap: never reuse it.
      if (wabtLoading === loading) wabtLoading = undefined;
      parsed = undefined;
      throw new ForgeError(
        'FORGE_WAT_INVALID',
        `${name}: the WebAssembly text parser failed on this text (${crashReason(error)}); check the text, or give a binary .wasm module instead`,
        { cause: error, details: { parserCrash: true } },
      );
    }
    const first = String(error instanceof Error ? error.message : error)
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line.length > 0 && !/^parseWat failed:?$/i.test(line));
    throw new ForgeError('FORGE_WAT_INVALID', `${name}: ${first ?? 'invalid WebAssembly text'}`, {
      cause: error,
    });
  } finally {
    parsed?.destroy();
  }
}

/** wabt reports bad text as a plain Error; a trap of its own code (out of bounds, abort) is a crash. */
function isParserCrash(error: unknown): boolean {
  return error instanceof WebAssembly.RuntimeError || error instanceof RangeError;
}

function crashReason(error: unknown): string {
  const first = (error as Error).message.split('\n')[0] ?? '';
  return first.replace(/\s*Build with -sASSERTIONS.*$/, '').trim() || 'it trapped';
}

function checkWatNesting(text: Uint8Array, name: string): void {
  const over = findWatOverNesting(text, WAT_NESTING_LIMIT);
  if (!over) return;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < over.offset; i++) {
    if (text[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = over.offset - lineStart + 1;
  throw new ForgeError(
    'FORGE_WAT_TOO_DEEP',
    `${name}:${line}:${column}: nested more than ${WAT_NESTING_LIMIT} levels deep (parentheses plus block/loop/if ... end), the most the WebAssembly text parser takes; flatten the nesting, or give a binary .wasm module instead`,
    { details: { limit: 'watNesting', max: WAT_NESTING_LIMIT, line, column } },
  );
}

/**
 * Validates and compiles a module from its binary or text form: the size limit before parsing,
 * then `WebAssembly.validate`, the import count and namespaces, and the memory and table caps
 * (written into the module, so growth past them fails inside the guest). The result's imports
 * still need checking against what the host provides (`checkImports`).
 */
export async function compileModule(
  source: Uint8Array,
  options: CompileModuleOptions = {},
): Promise<CompiledModule> {
  const limits = resolveLimits(defaultModuleLimits, options.limits);
  const name = options.name ?? 'module';
  checkModuleSize(source.byteLength, limits.maxModuleBytes, name);
  const format = options.format ?? detectFormat(source);
  const binary: Uint8Array<ArrayBuffer> = new Uint8Array(
    format === 'wat' ? await watToWasm(source, name) : source,
  );
  if (!WebAssembly.validate(binary)) {
    let why = 'not a valid WebAssembly module';
    try {
      await WebAssembly.compile(binary);
    } catch (error) {
      if (error instanceof Error) why = error.message.replace(/^WebAssembly\.compile\(\): /, '');
    }
    throw new ForgeError('FORGE_WASM_INVALID', `${name}: ${why}`);
  }
  let info: WasmModuleInfo;
  try {
    info = readWasmModuleInfo(binary);
  } catch (error) {
    if (!(error instanceof WasmFormatError)) throw error;
    throw new ForgeError('FORGE_WASM_INVALID', `${name}: ${error.message}`, { cause: error });
  }
  if (info.imports.length > limits.maxImports) {
    throw new ForgeError(
      'FORGE_WASM_LIMIT',
      `${name} declares ${info.imports.length} imports, over the limit of ${limits.maxImports}`,
      { details: { limit: 'imports', max: limits.maxImports } },
    );
  }
  if (options.namespaces) checkNamespaces(info, options.namespaces, name);
  let limited: Uint8Array;
  try {
    limited = applyWasmLimits(binary, limits);
  } catch (error) {
    if (!(error instanceof WasmFormatError)) throw error;
    throw new ForgeError('FORGE_WASM_INVALID', `${name}: ${error.message}`, { cause: error });
  }
  let routed: ReturnType<typeof rewriteModuleCode>;
  try {
    routed = rewriteModuleCode(limited, name, { meterDeadline: options.deadlineMetering !== false });
  } catch (error) {
    if (!(error instanceof WasmFormatError)) throw error;
    throw new ForgeError('FORGE_WASM_INVALID', `${name}: ${error.message}`, { cause: error });
  }
  let exposed: ReturnType<typeof exposeModuleState> | undefined;
  if (options.snapshots ?? process.env.FORGEONE_SNAPSHOT_EXPORTS === 'on') {
    try {
      exposed = exposeModuleState(routed.bytes, globalCount(limited));
    } catch (error) {
      if (!(error instanceof WasmFormatError)) throw error;
      throw new ForgeError('FORGE_WASM_INVALID', `${name}: ${error.message}`, { cause: error });
    }
  }
  const rewritten = exposed?.bytes ?? routed.bytes;
  const runnable = options.fuel === true ? await instrumentFuel(rewritten, name) : rewritten;
  const module = await WebAssembly.compile(new Uint8Array(runnable));
  return {
    module,
    sha256: createHash('sha256').update(binary).digest('hex'),
    imports: WebAssembly.Module.imports(module),
    exports: WebAssembly.Module.exports(module).filter((e) => !isReservedExport(e.name)),
    info,
    fuel: options.fuel === true,
    deadlineMetered: routed.metered,
    ...(exposed && { state: exposed.state }),
  };
}

/** Refuses imports from namespaces the host does not know, and imports that are not functions. */
function checkNamespaces(info: WasmModuleInfo, namespaces: readonly string[], name: string): void {
  for (const entry of info.imports) {
    if (entry.kind !== 'function' || !namespaces.includes(entry.module)) {
      throw new ForgeError(
        'FORGE_WASM_IMPORT_UNKNOWN',
        `${name} imports ${entry.kind} '${entry.module}.${entry.name}'; this host gives only functions from ${namespaces.join(', ')}`,
        { details: { module: entry.module, name: entry.name, kind: entry.kind } },
      );
    }
  }
}

/**
 * Refuses a module that imports anything the host does not provide, naming the first such import,
 * before instantiation (V8's own error names only an index).
 */
export function checkImports(compiled: CompiledModule, provided: WebAssembly.Imports): void {
  for (const entry of compiled.imports) {
    const field = provided[entry.module]?.[entry.name];
    if (entry.kind !== 'function' || typeof field !== 'function') {
      const offered = Object.entries(provided).flatMap(([m, fields]) =>
        Object.keys(fields).map((f) => `${m}.${f}`),
      );
      throw new ForgeError(
        'FORGE_WASM_IMPORT_UNKNOWN',
        `module imports ${entry.kind} '${entry.module}.${entry.name}', which this host does not provide` +
          (offered.length > 0
            ? ` (provided: ${offered.slice(0, 12).join(', ')}${offered.length > 12 ? ', ...' : ''})`
            : ''),
        { details: { module: entry.module, name: entry.name, kind: entry.kind } },
      );
    }
  }
}
