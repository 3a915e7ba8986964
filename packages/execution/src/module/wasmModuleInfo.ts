import { readSections, WasmReader, WasmFormatError } from './internal/wasmReader';

/** A WebAssembly value type of a host function's signature. */
export type WasmValType = 'i32' | 'i64' | 'f32' | 'f64';

/** A value type as the loader reports it: the four numbers, or anything else by name. */
export type WasmTypeName = WasmValType | 'v128' | 'funcref' | 'externref' | 'ref';

/** A function signature. */
export interface WasmSignature {
  readonly params: readonly WasmTypeName[];
  readonly results: readonly WasmTypeName[];
}

/** Declared size limits of a memory (64 KiB pages) or a table (elements). */
export interface WasmLimits {
  readonly initial: number;
  readonly maximum: number | undefined;
  readonly shared: boolean;
  /** memory64 / table64: refused by the loader. */
  readonly index64: boolean;
}

export interface WasmImportInfo {
  readonly module: string;
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  /** For a function import, its signature (when the type section is plain). */
  readonly signature?: WasmSignature;
}

export interface WasmExportInfo {
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  /** For a function export, its signature (when the type section is plain). */
  readonly signature?: WasmSignature;
  /** For a global export, the global's index (imported globals first). */
  readonly index?: number;
}

/** What the loader reads from a module's binary before compiling it. */
export interface WasmModuleInfo {
  readonly imports: readonly WasmImportInfo[];
  readonly exports: readonly WasmExportInfo[];
  /** Memories the module defines (imported memories are listed in `imports`). */
  readonly memories: readonly WasmLimits[];
  /** Tables the module defines. */
  readonly tables: readonly WasmLimits[];
  /** The module has a start function: instantiating it runs guest code. */
  readonly hasStart: boolean;
}

const KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;
const VAL_TYPES: Record<number, WasmTypeName> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
};

function valType(reader: WasmReader): WasmTypeName {
  const code = reader.byte();
  const known = VAL_TYPES[code];
  if (known) return known;
  if (code === 0x63 || code === 0x64) {
    reader.skipS33();
    return 'ref';
  }
  if (code >= 0x69 && code <= 0x74) return 'ref'; // abstract heap type shorthands
  throw new WasmFormatError(`unknown value type 0x${code.toString(16)}`);
}

/** Reads the limits of a memory or table; `flags` bits: 1 has max, 2 shared, 4 64-bit. */
export function readLimits(reader: WasmReader): WasmLimits {
  const flags = reader.byte();
  if (flags > 0x07) throw new WasmFormatError(`unsupported limits flags 0x${flags.toString(16)}`);
  const index64 = (flags & 0x04) !== 0;
  const read = () => (index64 ? Number(BigInt.asUintN(53, reader.u64())) : reader.u32());
  const initial = read();
  const maximum = (flags & 0x01) !== 0 ? read() : undefined;
  return { initial, maximum, shared: (flags & 0x02) !== 0, index64 };
}

/** Reads a table type: its reference type, then its limits (or a typed table with an initialiser). */
function readTableType(reader: WasmReader): WasmLimits {
  if (reader.bytes[reader.offset] === 0x40) {
    throw new WasmFormatError('tables with initialiser expressions are not supported');
  }
  valType(reader);
  return readLimits(reader);
}

/**
 * Reads imports, exports (with function signatures), memories and tables from a module binary,
 * without compiling it. Throws WasmFormatError on anything it cannot read; the caller has already
 * run `WebAssembly.validate`.
 */
export function readWasmModuleInfo(bytes: Uint8Array): WasmModuleInfo {
  const types: (WasmSignature | undefined)[] = [];
  const functionTypes: (WasmSignature | undefined)[] = [];
  const imports: WasmImportInfo[] = [];
  const exports: WasmExportInfo[] = [];
  const memories: WasmLimits[] = [];
  const tables: WasmLimits[] = [];
  let hasStart = false;
  let plainTypes = true;

  for (const section of readSections(bytes)) {
    const reader = new WasmReader(bytes, section.contentStart, section.end);
    switch (section.id) {
      case 1: {
        const count = reader.u32();
        for (let i = 0; i < count && plainTypes; i += 1) {
          if (reader.byte() !== 0x60) {
            // GC proposal type forms (rec groups, subtypes): signatures are not reported.
            plainTypes = false;
            break;
          }
          const params = Array.from({ length: reader.u32() }, () => valType(reader));
          const results = Array.from({ length: reader.u32() }, () => valType(reader));
          types.push({ params, results });
        }
        break;
      }
      case 2: {
        const count = reader.u32();
        for (let i = 0; i < count; i += 1) {
          const module = reader.name();
          const name = reader.name();
          const kindCode = reader.byte();
          const kind = KINDS[kindCode];
          if (kind === undefined) throw new WasmFormatError(`unknown import kind ${kindCode}`);
          if (kind === 'function') {
            const signature = plainTypes ? types[reader.u32()] : (reader.u32(), undefined);
            functionTypes.push(signature);
            imports.push({ module, name, kind, ...(signature ? { signature } : {}) });
            continue;
          }
          if (kind === 'table') readTableType(reader);
          else if (kind === 'memory') readLimits(reader);
          else if (kind === 'global') {
            valType(reader);
            reader.byte();
          } else {
            reader.byte();
            reader.u32();
          }
          imports.push({ module, name, kind });
        }
        break;
      }
      case 3: {
        const count = reader.u32();
        for (let i = 0; i < count; i += 1) {
          const index = reader.u32();
          functionTypes.push(plainTypes ? types[index] : undefined);
        }
        break;
      }
      case 4: {
        const count = reader.u32();
        for (let i = 0; i < count; i += 1) tables.push(readTableType(reader));
        break;
      }
      case 5: {
        const count = reader.u32();
        for (let i = 0; i < count; i += 1) memories.push(readLimits(reader));
        break;
      }
      case 7: {
        const count = reader.u32();
        for (let i = 0; i < count; i += 1) {
          const name = reader.name();
          const kindCode = reader.byte();
          const kind = KINDS[kindCode];
          if (kind === undefined) throw new WasmFormatError(`unknown export kind ${kindCode}`);
          const index = reader.u32();
          const signature = kind === 'function' ? functionTypes[index] : undefined;
          exports.push({
            name,
            kind,
            ...(signature ? { signature } : {}),
            ...(kind === 'global' ? { index } : {}),
          });
        }
        break;
      }
      case 8:
        hasStart = true;
        break;
      default:
        break;
    }
  }
  return { imports, exports, memories, tables, hasStart };
}
