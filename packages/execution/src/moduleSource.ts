import { createHash } from 'node:crypto';
import { ForgeError } from '@forgeone/common';
import type wabtFactory from 'wabt';

export type ModuleFormat = 'wasm' | 'wat';

/** Size limits applied before any parsing, so a hostile file cannot make the host do large work. */
export interface ModuleLimits {
  /** Largest accepted module (binary or text), bytes. Default 64 MiB. */
  readonly maxModuleBytes: number;
  /** Most imports a module may declare. Default 1,024. */
  readonly maxImports: number;
}

export const defaultModuleLimits: ModuleLimits = { maxModuleBytes: 64 * 1024 * 1024, maxImports: 1024 };

/** A validated, compiled module, identified by the SHA-256 of its binary. */
export interface CompiledModule {
  readonly module: WebAssembly.Module;
  readonly sha256: string;
  readonly imports: readonly WebAssembly.ModuleImportDescriptor[];
  readonly exports: readonly WebAssembly.ModuleExportDescriptor[];
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** `wasm` when the bytes start with the WebAssembly magic number, else `wat`. */
export function detectFormat(bytes: Uint8Array): ModuleFormat {
  return WASM_MAGIC.every((b, i) => bytes[i] === b) ? 'wasm' : 'wat';
}

type Wabt = Awaited<ReturnType<typeof wabtFactory>>;
let wabtLoading: Promise<Wabt> | undefined;

/** Translates WebAssembly text to binary (wabt, loaded on first use). */
export async function watToWasm(text: Uint8Array | string, name = 'module.wat'): Promise<Uint8Array> {
  // wabt is a pure function of its input; one shared instance is a cache, not kernel state.
  wabtLoading ??= import('wabt').then((m) =>
    ((m as { default?: () => Promise<Wabt> }).default ?? (m as unknown as () => Promise<Wabt>))(),
  );
  const wabt = await wabtLoading;
  let parsed: ReturnType<Wabt['parseWat']> | undefined;
  try {
    parsed = wabt.parseWat(name, text, {
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

/**
 * Validates and compiles a module from its binary or text form. Checks the size limit before
 * parsing and the import count after; the result's imports still need checking against what the
 * host provides (`checkImports`).
 */
export async function compileModule(
  source: Uint8Array,
  options: { name?: string; format?: ModuleFormat; limits?: Partial<ModuleLimits> } = {},
): Promise<CompiledModule> {
  const limits = { ...defaultModuleLimits, ...options.limits };
  const name = options.name ?? 'module';
  if (source.byteLength > limits.maxModuleBytes) {
    throw new ForgeError(
      'FORGE_WASM_LIMIT',
      `${name} is ${source.byteLength} bytes, over the module size limit of ${limits.maxModuleBytes}`,
      { details: { limit: 'moduleBytes', max: limits.maxModuleBytes } },
    );
  }
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
  const module = await WebAssembly.compile(binary);
  const imports = WebAssembly.Module.imports(module);
  if (imports.length > limits.maxImports) {
    throw new ForgeError(
      'FORGE_WASM_LIMIT',
      `${name} declares ${imports.length} imports, over the limit of ${limits.maxImports}`,
      {
        details: { limit: 'imports', max: limits.maxImports },
      },
    );
  }
  return {
    module,
    sha256: createHash('sha256').update(binary).digest('hex'),
    imports,
    exports: WebAssembly.Module.exports(module),
  };
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
