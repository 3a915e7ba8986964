import { encodeU32, WasmFormatError, WasmReader, type WasmSection } from './wasmReader';
import { readLimits } from '../wasmModuleInfo';

export const TYPE = 1;
export const IMPORT = 2;
export const FUNCTION = 3;
export const TABLE = 4;
export const GLOBAL = 6;
export const EXPORT = 7;
export const START = 8;
export const ELEMENT = 9;
export const CODE = 10;

/** Where each known section goes in a module (the binary format fixes the order). */
export const SECTION_RANK: Readonly<Record<number, number>> = {
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

export function skipValType(reader: WasmReader): void {
  const code = reader.byte();
  if (code === 0x63 || code === 0x64) reader.skipS33();
}

/** Encodes a signed LEB128 of at most 32 bits (an `i32.const` immediate). */
export function encodeS32(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** How many functions, tables and globals the module imports: the first index a defined one gets. */
export function importCounts(
  bytes: Uint8Array,
  imports: WasmSection | undefined,
): { functions: number; tables: number; globals: number } {
  const counts = { functions: 0, tables: 0, globals: 0 };
  if (imports === undefined) return counts;
  const reader = new WasmReader(bytes, imports.contentStart, imports.end);
  for (let n = reader.u32(); n > 0; n -= 1) {
    reader.take(reader.u32());
    reader.take(reader.u32());
    const kind = reader.byte();
    if (kind === 0x00) {
      counts.functions += 1;
      reader.u32();
    } else if (kind === 0x01) {
      counts.tables += 1;
      skipValType(reader);
      readLimits(reader);
    } else if (kind === 0x02) readLimits(reader);
    else if (kind === 0x03) {
      counts.globals += 1;
      skipValType(reader);
      reader.byte();
    } else if (kind === 0x04) {
      reader.byte();
      reader.u32();
    } else throw new WasmFormatError(`import of kind 0x${kind.toString(16)} is not supported`);
  }
  return counts;
}

/** The number of entries of a vector section (0 when the module lacks it). */
export function entryCount(bytes: Uint8Array, section: WasmSection | undefined): number {
  return section === undefined ? 0 : new WasmReader(bytes, section.contentStart, section.end).u32();
}

/** A section from its contents, as parts (its header first). */
export function section(id: number, body: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
  const parts = body instanceof Uint8Array ? [body] : body;
  const size = parts.reduce((n, p) => n + p.byteLength, 0);
  return [Uint8Array.from([id, ...encodeU32(size)]), ...parts];
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/**
 * The type section with each of `wanted` (encoded function types) found or appended, and their
 * indices; `body` is undefined when every one was there already.
 */
export function withTypes(
  bytes: Uint8Array,
  type: WasmSection | undefined,
  wanted: readonly (readonly number[])[],
): { indices: number[]; body: Uint8Array | undefined } {
  const indices = wanted.map(() => -1);
  let count = 0;
  let entries: Uint8Array = new Uint8Array(0);
  if (type !== undefined) {
    const reader = new WasmReader(bytes, type.contentStart, type.end);
    count = reader.u32();
    const entriesStart = reader.offset;
    for (let i = 0; i < count; i += 1) {
      const start = reader.offset;
      const form = reader.byte();
      if (form !== 0x60)
        throw new WasmFormatError(
          `type ${i} has form 0x${form.toString(16)}, which this host does not decode`,
        );
      for (let params = reader.u32(); params > 0; params -= 1) skipValType(reader);
      for (let results = reader.u32(); results > 0; results -= 1) skipValType(reader);
      const entry = bytes.subarray(start, reader.offset);
      wanted.forEach((w, j) => {
        if (indices[j] === -1 && entry.length === w.length && w.every((b, k) => entry[k] === b))
          indices[j] = i;
      });
    }
    entries = bytes.subarray(entriesStart, type.end);
  }
  const added = wanted.filter((_, j) => indices[j] === -1);
  if (added.length === 0) return { indices, body: undefined };
  let next = count;
  for (let j = 0; j < wanted.length; j += 1) if (indices[j] === -1) indices[j] = next++;
  const body = concat([Uint8Array.from(encodeU32(next)), entries, Uint8Array.from(added.flat())]);
  return { indices, body };
}

/** A vector section (`count`, then entries) with entries appended. */
export function appendEntries(
  bytes: Uint8Array,
  existing: WasmSection | undefined,
  added: readonly (readonly number[])[],
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

export function exportEntry(name: string, kind: number, index: number): number[] {
  // The reserved names are ASCII.
  return [...encodeU32(name.length), ...Array.from(name, (c) => c.charCodeAt(0)), kind, ...encodeU32(index)];
}

/**
 * The module's bytes with some sections replaced or added (`replaced`, by id, as parts) and
 * `dropped` left out: a section the module lacks goes where the binary format puts it.
 */
export function assemble(
  bytes: Uint8Array,
  sections: readonly WasmSection[],
  replaced: Map<number, Uint8Array[]>,
  dropped: number,
): Uint8Array {
  const byRank = () => [...replaced].sort(([a], [b]) => SECTION_RANK[a]! - SECTION_RANK[b]!);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of sections) {
    if (s.id === dropped) continue;
    const rank = SECTION_RANK[s.id];
    // A section the module lacks goes before the first section that must follow it.
    if (rank !== undefined) {
      for (const [id, built] of byRank()) {
        if (SECTION_RANK[id]! < rank && !sections.some((existing) => existing.id === id)) {
          parts.push(...built);
          replaced.delete(id);
        }
      }
    }
    parts.push(...(replaced.get(s.id) ?? [bytes.subarray(s.start, s.end)]));
    replaced.delete(s.id);
  }
  for (const [, built] of byRank()) parts.push(...built);
  return concat(parts);
}
