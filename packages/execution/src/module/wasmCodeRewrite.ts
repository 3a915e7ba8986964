import { ForgeError } from '@forgeone/common';
import { scanFunctionBody, type GrowSite } from './internal/wasmCodeScan';
import {
  encodeU32,
  readSections,
  WasmFormatError,
  WasmReader,
  type WasmSection,
} from './internal/wasmReader';
import { readLimits } from './wasmModuleInfo';

/** Exports whose names start with this belong to the host: a module may not declare them, and lists of a module's exports leave them out. */
export const RESERVED_EXPORT_PREFIX = '__forge_';
/** The one-element funcref table a rewritten module calls through for `memory.grow`. */
export const GROW_TABLE_EXPORT = '__forge_grow_table';
/** Memory 0 of a rewritten module, exported so the host can grow it. */
export const GROW_MEMORY_EXPORT = '__forge_memory';
/** The start function of a rewritten module, which the host calls once the grow table is filled. */
export const START_EXPORT = '__forge_start';

/** True for an export name the host reserves. */
export function isReservedExport(name: string): boolean {
  return name.startsWith(RESERVED_EXPORT_PREFIX);
}

const TYPE = 1;
const IMPORT = 2;
const TABLE = 4;
const EXPORT = 7;
const START = 8;
const CODE = 10;
/** Where each known section goes in a module (the binary format fixes the order). */
const SECTION_RANK: Readonly<Record<number, number>> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  13: 6,
  6: 7,
  7: 8,
  8: 9,
  9: 10,
  12: 11,
  10: 12,
  11: 13,
};
const GROW_TYPE = [0x60, 0x01, 0x7f, 0x01, 0x7f]; // (func (param i32) (result i32))

function byRank(sections: ReadonlyMap<number, Uint8Array[]>): [number, Uint8Array[]][] {
  return [...sections].sort(([a], [b]) => SECTION_RANK[a]! - SECTION_RANK[b]!);
}

function skipValType(reader: WasmReader): void {
  const code = reader.byte();
  if (code === 0x63 || code === 0x64) reader.skipS33();
}

function reservedExportError(name: string, exported: string): ForgeError {
  return new ForgeError(
    'FORGE_WASM_INVALID',
    `${name} exports '${exported}', a name the host reserves (names starting with '${RESERVED_EXPORT_PREFIX}'); rename the export`,
    { details: { export: exported } },
  );
}

const RESERVED_PREFIX_BYTES = new TextEncoder().encode(RESERVED_EXPORT_PREFIX);

/** Every memory.grow of the code section, by function body, and the refusal of reserved exports. */
function scanModule(
  bytes: Uint8Array,
  sections: readonly WasmSection[],
  name: string,
): (GrowSite[] | undefined)[] {
  const bodies: (GrowSite[] | undefined)[] = [];
  for (const section of sections) {
    if (section.id === EXPORT) {
      const reader = new WasmReader(bytes, section.contentStart, section.end);
      for (let count = reader.u32(); count > 0; count -= 1) {
        // Compared as bytes: decoding every export name would cost more than the whole scan of a small module.
        const exported = reader.take(reader.u32());
        if (RESERVED_PREFIX_BYTES.every((b, i) => exported[i] === b)) {
          throw reservedExportError(name, new TextDecoder().decode(exported));
        }
        reader.byte();
        reader.u32();
      }
    } else if (section.id === CODE) {
      const reader = new WasmReader(bytes, section.contentStart, section.end);
      const count = reader.u32();
      for (let i = 0; i < count; i += 1) {
        const size = reader.u32();
        const start = reader.offset;
        reader.take(size);
        bodies.push(scanFunctionBody(bytes, start, start + size, i));
      }
    }
  }
  return bodies;
}

/** How many tables the module imports and defines: the index the grow table gets. */
function tableCount(bytes: Uint8Array, sections: readonly WasmSection[]): number {
  let count = 0;
  for (const section of sections) {
    const reader = new WasmReader(bytes, section.contentStart, section.end);
    if (section.id === TABLE) count += reader.u32();
    if (section.id !== IMPORT) continue;
    for (let n = reader.u32(); n > 0; n -= 1) {
      reader.take(reader.u32());
      reader.take(reader.u32());
      const kind = reader.byte();
      if (kind === 0x00) reader.u32();
      else if (kind === 0x01) {
        count += 1;
        skipValType(reader);
        readLimits(reader);
      } else if (kind === 0x02) readLimits(reader);
      else if (kind === 0x03) {
        skipValType(reader);
        reader.byte();
      } else if (kind === 0x04) {
        reader.byte();
        reader.u32();
      } else throw new WasmFormatError(`import of kind 0x${kind.toString(16)} is not supported`);
    }
  }
  return count;
}

/** A section from its contents, as parts (its header first). */
function section(id: number, body: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
  const parts = body instanceof Uint8Array ? [body] : body;
  const size = parts.reduce((n, p) => n + p.byteLength, 0);
  return [Uint8Array.from([id, ...encodeU32(size)]), ...parts];
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** The type section with `(i32) -> (i32)` found or appended, and that type's index. */
function withGrowType(
  bytes: Uint8Array,
  type: WasmSection | undefined,
): { index: number; body: Uint8Array | undefined } {
  if (type === undefined) return { index: 0, body: Uint8Array.from([0x01, ...GROW_TYPE]) };
  const reader = new WasmReader(bytes, type.contentStart, type.end);
  const count = reader.u32();
  const entriesStart = reader.offset;
  for (let i = 0; i < count; i += 1) {
    const start = reader.offset;
    const form = reader.byte();
    if (form !== 0x60)
      throw new WasmFormatError(`type ${i} has form 0x${form.toString(16)}, which this host does not decode`);
    for (let params = reader.u32(); params > 0; params -= 1) skipValType(reader);
    for (let results = reader.u32(); results > 0; results -= 1) skipValType(reader);
    const entry = bytes.subarray(start, reader.offset);
    if (entry.length === GROW_TYPE.length && GROW_TYPE.every((b, j) => entry[j] === b)) {
      return { index: i, body: undefined };
    }
  }
  const body = concat([
    Uint8Array.from(encodeU32(count + 1)),
    bytes.subarray(entriesStart, type.end),
    Uint8Array.from(GROW_TYPE),
  ]);
  return { index: count, body };
}

/** A vector section (`count`, then entries) with entries appended. */
function appendEntries(
  bytes: Uint8Array,
  existing: WasmSection | undefined,
  added: readonly number[][],
): Uint8Array {
  if (existing === undefined) return Uint8Array.from([...encodeU32(added.length), ...added.flat()]);
  const reader = new WasmReader(bytes, existing.contentStart, existing.end);
  const count = reader.u32();
  return concat([
    Uint8Array.from(encodeU32(count + added.length)),
    bytes.subarray(reader.offset, existing.end),
    Uint8Array.from(added.flat()),
  ]);
}

function exportEntry(name: string, kind: number, index: number): number[] {
  // The reserved names are ASCII.
  return [...encodeU32(name.length), ...Array.from(name, (c) => c.charCodeAt(0)), kind, ...encodeU32(index)];
}

/**
 * The code section's contents with every `memory.grow` replaced by `i32.const 0; call_indirect
 * type table`, as parts to copy once: runs of unchanged bodies stay views of the module.
 */
function rewriteCode(
  bytes: Uint8Array,
  code: WasmSection,
  bodies: readonly (GrowSite[] | undefined)[],
  call: Uint8Array,
): Uint8Array[] {
  const reader = new WasmReader(bytes, code.contentStart, code.end);
  const count = reader.u32();
  const parts: Uint8Array[] = [Uint8Array.from(encodeU32(count))];
  let copyFrom = reader.offset;
  for (let i = 0; i < count; i += 1) {
    const sizeStart = reader.offset;
    const size = reader.u32();
    const start = reader.offset;
    reader.take(size);
    const sites = bodies[i];
    if (sites === undefined) continue;
    parts.push(bytes.subarray(copyFrom, sizeStart));
    const pieces: Uint8Array[] = [];
    let at = start;
    for (const site of sites) {
      pieces.push(bytes.subarray(at, site.start), call);
      at = site.end;
    }
    pieces.push(bytes.subarray(at, start + size));
    parts.push(Uint8Array.from(encodeU32(pieces.reduce((n, p) => n + p.byteLength, 0))), ...pieces);
    copyFrom = start + size;
  }
  parts.push(bytes.subarray(copyFrom, code.end));
  return parts;
}

/**
 * Routes every `memory.grow` of a module through the host: each becomes a `call_indirect` into a
 * new one-element table (exported as GROW_TABLE_EXPORT, with memory 0 as GROW_MEMORY_EXPORT) that
 * the host fills with a function growing the memory from JS. V8 does not honour a worker's
 * terminate() or node:vm's timeout while a guest loops on native `memory.grow` under GC pressure;
 * growth from JS lets it stop the guest at its deadline. A start section is removed and its
 * function exported as START_EXPORT: it must run after the table is filled (see instantiateGuest).
 * No index shifts: the type, table and exports are appended. A module without `memory.grow` comes
 * back as it is. Refuses (FORGE_WASM_INVALID) reserved export names and opcodes it cannot decode;
 * expects a module that passed `WebAssembly.validate`.
 */
export function routeMemoryGrow(bytes: Uint8Array, name = 'module'): Uint8Array {
  const sections = readSections(bytes);
  const bodies = scanModule(bytes, sections, name);
  if (!bodies.some((sites) => sites !== undefined)) return bytes;
  for (const sites of bodies) {
    const other = sites?.find((site) => site.memory !== 0);
    if (other) throw new WasmFormatError(`memory.grow of memory ${other.memory} is not supported`);
  }
  const find = (id: number) => sections.find((s) => s.id === id);
  const tableIndex = tableCount(bytes, sections);
  const growType = withGrowType(bytes, find(TYPE));
  const start = find(START);
  const exports = [
    exportEntry(GROW_TABLE_EXPORT, 0x01, tableIndex),
    exportEntry(GROW_MEMORY_EXPORT, 0x02, 0),
  ];
  if (start)
    exports.push(exportEntry(START_EXPORT, 0x00, new WasmReader(bytes, start.contentStart, start.end).u32()));
  const call = Uint8Array.from([0x41, 0x00, 0x11, ...encodeU32(growType.index), ...encodeU32(tableIndex)]);
  const replaced = new Map<number, Uint8Array[]>([
    [TABLE, section(TABLE, appendEntries(bytes, find(TABLE), [[0x70, 0x01, 0x01, 0x01]]))],
    [EXPORT, section(EXPORT, appendEntries(bytes, find(EXPORT), exports))],
    [CODE, section(CODE, rewriteCode(bytes, find(CODE)!, bodies, call))],
  ]);
  if (growType.body) replaced.set(TYPE, section(TYPE, growType.body));
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  const emit = (s: WasmSection) => parts.push(...(replaced.get(s.id) ?? [bytes.subarray(s.start, s.end)]));
  for (const s of sections) {
    if (s.id === START) continue;
    const rank = SECTION_RANK[s.id];
    // A section the module lacks goes before the first section that must follow it.
    if (rank !== undefined) {
      for (const [id, built] of byRank(replaced)) {
        if (SECTION_RANK[id]! < rank && !sections.some((existing) => existing.id === id)) {
          parts.push(...built);
          replaced.delete(id);
        }
      }
    }
    emit(s);
    replaced.delete(s.id);
  }
  for (const [, built] of byRank(replaced)) parts.push(...built);
  return concat(parts);
}
