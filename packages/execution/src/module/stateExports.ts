import { scanFunctionBody } from './internal/wasmCodeScan';
import { readSections, WasmFormatError, WasmReader, type WasmSection } from './internal/wasmReader';
import {
  appendEntries,
  assemble,
  CODE,
  EXPORT,
  exportEntry,
  GLOBAL,
  IMPORT,
  importCounts,
  section,
} from './internal/wasmSections';
import { readLimits } from './wasmModuleInfo';
import {
  GROW_MEMORY_EXPORT,
  HOST_TABLE_EXPORT,
  RESERVED_EXPORT_PREFIX,
  skipImportDescription,
} from './wasmCodeRewrite';

/** Reserved export of mutable global N: `__forge_global_N` (N its index in the global index space). */
export const STATE_GLOBAL_PREFIX = `${RESERVED_EXPORT_PREFIX}global_`;
/** Memory 0, exported for snapshots under the same name the memory.grow routing uses. */
export const STATE_MEMORY_EXPORT = GROW_MEMORY_EXPORT;

/** The reserved export name of mutable global `index`. */
export function stateGlobalName(index: number): string {
  return `${STATE_GLOBAL_PREFIX}${index}`;
}

/**
 * The global index a reserved export name stands for (`__forge_global_7` → 7), or undefined for
 * any other name: how a reader of an instance's exports maps them back to the module's globals.
 */
export function reservedGlobalIndex(name: string): number | undefined {
  if (!name.startsWith(STATE_GLOBAL_PREFIX)) return undefined;
  const digits = name.slice(STATE_GLOBAL_PREFIX.length);
  if (!/^(0|[1-9][0-9]{0,9})$/.test(digits)) return undefined;
  const index = Number(digits);
  return index <= 0xffff_ffff ? index : undefined;
}

/** The type of a global, as a snapshot stores it (`ref` and `v128` globals cannot be captured). */
export type StateGlobalType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'ref';

/** One mutable global of a module, exported under `stateGlobalName(index)`. */
export interface StateGlobal {
  readonly index: number;
  readonly type: StateGlobalType;
}

/** What a module exposes of its state to the host (exposeModuleState). */
export interface ModuleState {
  /** Every mutable global, imported or defined, in index order (v128 and reference ones are not exported). */
  readonly globals: readonly StateGlobal[];
  /** Tables (by index) the module's code changes at run time; the host's own table is left out. */
  readonly tableWrites: readonly number[];
  /** Memory 0 is exported as STATE_MEMORY_EXPORT (false: the module has no memory). */
  readonly memory: boolean;
  /** Memories the module has, imported and defined (a snapshot holds memory 0 only: more is refused). */
  readonly memories: number;
}

const TYPES: Readonly<Record<number, StateGlobalType>> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
};

function readGlobalType(reader: WasmReader): { type: StateGlobalType; mutable: boolean } {
  const code = reader.byte();
  if (code === 0x63 || code === 0x64) reader.skipS33();
  const type = TYPES[code] ?? 'ref';
  const mutable = reader.byte() === 0x01;
  return { type, mutable };
}

/** Skips a constant expression up to its `end` (the opcodes a constant expression may hold). */
function skipConstExpr(reader: WasmReader): void {
  for (;;) {
    const op = reader.byte();
    if (op === 0x0b) return;
    if (op === 0x41 || op === 0x42 || op === 0x23 || op === 0xd2) reader.u64();
    else if (op === 0x43) reader.take(4);
    else if (op === 0x44) reader.take(8);
    else if (op === 0xd0) reader.skipS33();
    else if (op === 0xfd) {
      if (reader.u32() !== 0x0c)
        throw new WasmFormatError('unsupported SIMD opcode in a constant expression');
      reader.take(16);
    } else if (op === 0xfb) {
      // GC constant expressions (struct.new...) have immediates of their own: not decoded.
      throw new WasmFormatError('GC constant expressions are not supported for snapshots');
    } else if (![0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e].includes(op))
      throw new WasmFormatError(`opcode 0x${op.toString(16)} in a constant expression`);
  }
}

function mutableGlobals(
  bytes: Uint8Array,
  imports: WasmSection | undefined,
  globals: WasmSection | undefined,
) {
  const found: StateGlobal[] = [];
  let index = 0;
  if (imports !== undefined) {
    const reader = new WasmReader(bytes, imports.contentStart, imports.end);
    for (let n = reader.u32(); n > 0; n -= 1) {
      reader.take(reader.u32());
      reader.take(reader.u32());
      skipImportDescription(reader, (r) => {
        const { type, mutable } = readGlobalType(r);
        if (mutable) found.push({ index, type });
        index += 1;
      });
    }
  }
  if (globals !== undefined) {
    const reader = new WasmReader(bytes, globals.contentStart, globals.end);
    for (let n = reader.u32(); n > 0; n -= 1) {
      const { type, mutable } = readGlobalType(reader);
      skipConstExpr(reader);
      if (mutable) found.push({ index, type });
      index += 1;
    }
  }
  return found;
}

/** How many globals a module has, imported and defined: the first index one added to it gets. */
export function globalCount(bytes: Uint8Array): number {
  const sections = readSections(bytes);
  const imports = sections.find((s) => s.id === IMPORT);
  const globals = sections.find((s) => s.id === GLOBAL);
  return (
    importCounts(bytes, imports).globals +
    (globals === undefined ? 0 : new WasmReader(bytes, globals.contentStart, globals.end).u32())
  );
}

/** Names of the module's exports, and the index of the table exported as HOST_TABLE_EXPORT. */
function exportsOf(bytes: Uint8Array, exports: WasmSection | undefined) {
  const names = new Set<string>();
  let hostTable: number | undefined;
  if (exports !== undefined) {
    const reader = new WasmReader(bytes, exports.contentStart, exports.end);
    for (let n = reader.u32(); n > 0; n -= 1) {
      const name = reader.name();
      const kind = reader.byte();
      const index = reader.u32();
      names.add(name);
      if (name === HOST_TABLE_EXPORT && kind === 0x01) hostTable = index;
    }
  }
  return { names, hostTable };
}

function tableWritesOf(bytes: Uint8Array, code: WasmSection | undefined, hostTable: number | undefined) {
  const written = new Set<number>();
  if (code === undefined) return [];
  const reader = new WasmReader(bytes, code.contentStart, code.end);
  const count = reader.u32();
  for (let i = 0; i < count; i += 1) {
    const size = reader.u32();
    const start = reader.offset;
    reader.take(size);
    for (const table of scanFunctionBody(bytes, start, start + size, i).tableWrites ?? [])
      if (table !== hostTable) written.add(table);
  }
  return [...written].sort((a, b) => a - b);
}

function memoryCount(bytes: Uint8Array, sections: readonly WasmSection[]): number {
  const defined = sections.find((s) => s.id === 5);
  let count = defined === undefined ? 0 : new WasmReader(bytes, defined.contentStart, defined.end).u32();
  const imports = sections.find((s) => s.id === IMPORT);
  if (imports === undefined) return count;
  const reader = new WasmReader(bytes, imports.contentStart, imports.end);
  for (let n = reader.u32(); n > 0; n -= 1) {
    reader.take(reader.u32());
    reader.take(reader.u32());
    const kind = reader.byte();
    if (kind === 0x02) {
      count += 1;
      readLimits(reader);
    } else if (kind === 0x00) reader.u32();
    else if (kind === 0x01) {
      const code = reader.byte();
      if (code === 0x63 || code === 0x64) reader.skipS33();
      readLimits(reader);
    } else if (kind === 0x03) readGlobalType(reader);
    else {
      reader.byte();
      reader.u32();
    }
  }
  return count;
}

/**
 * Exposes a module's state to the host for snapshots: V8 gives the JS API no way to read or
 * write a global or table the module does not export, so every mutable global is exported as
 * `__forge_global_<index>` and memory 0 as STATE_MEMORY_EXPORT (unless the module, rewritten by
 * rewriteModuleCode, exports it under that name already). Only exports are added: no index
 * shifts and no code changes, so the module behaves as before. Also finds the tables its code
 * changes (`table.set/grow/init/copy/fill`), whose contents a snapshot cannot map back to
 * functions. Run it after rewriteModuleCode (which refuses reserved names from the guest).
 */
export function exposeModuleState(
  bytes: Uint8Array,
  /** Globals from this index on are the host's (rewriteModuleCode's deadline countdown): left out. */
  hostGlobalsFrom = Number.POSITIVE_INFINITY,
): { bytes: Uint8Array; state: ModuleState } {
  const sections = readSections(bytes);
  const find = (id: number) => sections.find((s) => s.id === id);
  const globals = mutableGlobals(bytes, find(IMPORT), find(GLOBAL)).filter((g) => g.index < hostGlobalsFrom);
  const { names, hostTable } = exportsOf(bytes, find(EXPORT));
  const tableWrites = tableWritesOf(bytes, find(CODE), hostTable);
  const memories = memoryCount(bytes, sections);
  const memory = memories > 0;
  // A v128 or reference global is not exported (JS cannot read a v128; a reference cannot be
  // stored): a snapshot of such a module is refused, naming the global.
  const added = globals
    .filter((g) => g.type !== 'v128' && g.type !== 'ref')
    .map((g) => exportEntry(stateGlobalName(g.index), 0x03, g.index));
  if (memory && !names.has(STATE_MEMORY_EXPORT)) added.push(exportEntry(STATE_MEMORY_EXPORT, 0x02, 0));
  const state: ModuleState = { globals, tableWrites, memory, memories };
  if (added.length === 0) return { bytes, state };
  const replaced = new Map([[EXPORT, section(EXPORT, appendEntries(bytes, find(EXPORT), added))]]);
  return { bytes: assemble(bytes, sections, replaced, -1), state };
}
