import { ForgeError } from '@forgeone/common';
import { scanFunctionBody, type BodyScan } from './internal/wasmCodeScan';
import {
  encodeU32,
  readSections,
  WasmFormatError,
  WasmReader,
  type WasmSection,
} from './internal/wasmReader';
import {
  appendEntries,
  assemble,
  CODE,
  concat,
  ELEMENT,
  FUNCTION,
  encodeS32,
  entryCount,
  EXPORT,
  exportEntry,
  GLOBAL,
  IMPORT,
  importCounts,
  section,
  START,
  TABLE,
  TYPE,
  withTypes,
} from './internal/wasmSections';

/** Exports whose names start with this belong to the host: a module may not declare them, and lists of a module's exports leave them out. */
export const RESERVED_EXPORT_PREFIX = '__forge_';
/**
 * The two-element funcref table a rewritten module calls the host through: element 0 grows
 * memory 0 (`memory.grow`), element 1 is the deadline check (see meterDeadline).
 */
export const HOST_TABLE_EXPORT = '__forge_host_table';
/** Memory 0 of a rewritten module, exported so the host can grow it. */
export const GROW_MEMORY_EXPORT = '__forge_memory';
/** The start function of a rewritten module, which the host calls once the host table is filled. */
export const START_EXPORT = '__forge_start';
/** The host table's element that grows memory 0. */
export const GROW_ELEMENT = 0;
/** The host table's element that checks the deadline and returns the next countdown (0: stop). */
export const TICK_ELEMENT = 1;
/** The countdown a metered module starts with (the host's tick sets every later one). */
export const INITIAL_COUNTDOWN = 1 << 14;
/** The most one check takes off the countdown (a loop body or function bigger than this counts as this). */
const MAX_STEP = 1 << 20;

/** True for an export name the host reserves. */
export function isReservedExport(name: string): boolean {
  return name.startsWith(RESERVED_EXPORT_PREFIX);
}

const GROW_TYPE = [0x60, 0x01, 0x7f, 0x01, 0x7f]; // (func (param i32) (result i32))
const TICK_TYPE = [0x60, 0x00, 0x01, 0x7f]; // (func (result i32))
/** `(local.get 0) (memory.grow)`, no locals. */
const GROW_FALLBACK = Uint8Array.from([0x00, 0x20, 0x00, 0x40, 0x00, 0x0b]);
/** `(i32.const INITIAL_COUNTDOWN)`, no locals. */
const TICK_FALLBACK = Uint8Array.from([0x00, 0x41, ...encodeS32(INITIAL_COUNTDOWN), 0x0b]);
const RESERVED_PREFIX_BYTES = new TextEncoder().encode(RESERVED_EXPORT_PREFIX);
const isReservedBytes = (name: Uint8Array) => RESERVED_PREFIX_BYTES.every((b, i) => name[i] === b);

function reservedNameError(name: string, what: string, used: Uint8Array): ForgeError {
  const text = new TextDecoder().decode(used);
  return new ForgeError(
    'FORGE_WASM_INVALID',
    `${name} ${what} '${text}', a name the host reserves (names starting with '${RESERVED_EXPORT_PREFIX}'); rename it`,
    { details: { [what === 'exports' ? 'export' : 'import']: text } },
  );
}

/** Refuses exports, and imports, named with the host's reserved prefix. */
function refuseReservedNames(bytes: Uint8Array, sections: readonly WasmSection[], name: string): void {
  for (const s of sections) {
    if (s.id !== EXPORT && s.id !== IMPORT) continue;
    const reader = new WasmReader(bytes, s.contentStart, s.end);
    for (let count = reader.u32(); count > 0; count -= 1) {
      if (s.id === EXPORT) {
        // Compared as bytes: decoding every export name would cost more than the whole scan of a small module.
        const exported = reader.take(reader.u32());
        if (isReservedBytes(exported)) throw reservedNameError(name, 'exports', exported);
        reader.byte();
        reader.u32();
      } else {
        reader.take(reader.u32());
        const field = reader.take(reader.u32());
        if (isReservedBytes(field)) throw reservedNameError(name, 'imports', field);
        skipImportDescription(reader);
      }
    }
  }
}

/**
 * Reads past one import's description (after its module and field names). A global import is read
 * by `onGlobal` when given (its value type and mutability), else skipped.
 */
export function skipImportDescription(reader: WasmReader, onGlobal?: (reader: WasmReader) => void): void {
  const kind = reader.byte();
  if (kind === 0x00) reader.u32();
  else if (kind === 0x01) {
    const code = reader.byte();
    if (code === 0x63 || code === 0x64) reader.skipS33();
    skipLimits(reader);
  } else if (kind === 0x02) skipLimits(reader);
  else if (kind === 0x03 && onGlobal !== undefined) onGlobal(reader);
  else if (kind === 0x03) {
    const code = reader.byte();
    if (code === 0x63 || code === 0x64) reader.skipS33();
    reader.byte();
  } else if (kind === 0x04) {
    reader.byte();
    reader.u32();
  } else throw new WasmFormatError(`import of kind 0x${kind.toString(16)} is not supported`);
}

function skipLimits(reader: WasmReader): void {
  const flags = reader.byte();
  const wide = (flags & 0x04) !== 0;
  const read = () => (wide ? reader.u64() : reader.u32());
  read();
  if ((flags & 0x01) !== 0) read();
}

function scanBodies(bytes: Uint8Array, code: WasmSection | undefined): BodyScan[] {
  const bodies: BodyScan[] = [];
  if (code === undefined) return bodies;
  const reader = new WasmReader(bytes, code.contentStart, code.end);
  const count = reader.u32();
  for (let i = 0; i < count; i += 1) {
    const size = reader.u32();
    const start = reader.offset;
    reader.take(size);
    bodies.push(scanFunctionBody(bytes, start, start + size, i));
  }
  return bodies;
}

/** One change to a body: the bytes [start, end) become `bytes` (start === end: an insertion). */
interface Edit {
  readonly start: number;
  readonly end: number;
  readonly bytes: Uint8Array;
}

/** The countdown check of a function entry or loop header that takes `weight` off it. */
type CheckOf = (weight: number) => Uint8Array;

function editsOf(body: BodyScan, grow: Uint8Array, check: CheckOf | undefined): Edit[] {
  const edits: Edit[] = [];
  if (check) {
    edits.push({ start: body.codeStart, end: body.codeStart, bytes: check(body.weight) });
    for (const loop of body.loops ?? [])
      edits.push({ start: loop.at, end: loop.at, bytes: check(loop.weight) });
  }
  for (const site of body.grows ?? []) edits.push({ start: site.start, end: site.end, bytes: grow });
  return edits.sort((a, b) => a.start - b.start);
}

/** The code section's contents with each body's edits applied, as parts to copy once. */
function rewriteCode(
  bytes: Uint8Array,
  code: WasmSection,
  bodies: readonly BodyScan[],
  grow: Uint8Array,
  check: CheckOf | undefined,
  appended: readonly Uint8Array[],
): Uint8Array[] {
  const reader = new WasmReader(bytes, code.contentStart, code.end);
  const count = reader.u32();
  const parts: Uint8Array[] = [Uint8Array.from(encodeU32(count + appended.length))];
  let copyFrom = reader.offset;
  for (let i = 0; i < count; i += 1) {
    const sizeStart = reader.offset;
    const size = reader.u32();
    const start = reader.offset;
    reader.take(size);
    const edits = editsOf(bodies[i]!, grow, check);
    // Runs of unchanged bodies stay views of the module.
    if (edits.length === 0) continue;
    parts.push(bytes.subarray(copyFrom, sizeStart));
    const pieces: Uint8Array[] = [];
    let at = start;
    for (const edit of edits) {
      pieces.push(bytes.subarray(at, edit.start), edit.bytes);
      at = edit.end;
    }
    pieces.push(bytes.subarray(at, start + size));
    parts.push(Uint8Array.from(encodeU32(pieces.reduce((n, p) => n + p.byteLength, 0))), ...pieces);
    copyFrom = start + size;
  }
  parts.push(bytes.subarray(copyFrom, code.end));
  for (const body of appended) parts.push(Uint8Array.from(encodeU32(body.byteLength)), body);
  return parts;
}

/**
 * `global.get $t; i32.const w; i32.sub; global.set $t; global.get $t; i32.const 0; i32.lt_s; if
 * (i32.const 1; call_indirect tick; global.set $t; global.get $t; i32.eqz; if unreachable end) end`:
 * the countdown, and below zero the host's tick, whose 0 stops the guest with a trap (which, unlike
 * an exception thrown from the host, no `catch_all` of the guest can catch).
 */
function checkMaker(global: number, tickType: number, table: number): CheckOf {
  const g = encodeU32(global);
  const head = [0x23, ...g, 0x41];
  const tail = Uint8Array.from([
    0x6b,
    0x24,
    ...g,
    0x23,
    ...g,
    0x41,
    0x00,
    0x48,
    0x04,
    0x40,
    0x41,
    TICK_ELEMENT,
    0x11,
    ...encodeU32(tickType),
    ...encodeU32(table),
    0x24,
    ...g,
    0x23,
    ...g,
    0x45,
    0x04,
    0x40,
    0x00,
    0x0b,
    0x0b,
  ]);
  const made = new Map<number, Uint8Array>();
  return (weight) => {
    const step = Math.max(1, Math.min(MAX_STEP, weight));
    let check = made.get(step);
    if (check === undefined) {
      check = concat([Uint8Array.from([...head, ...encodeS32(step)]), tail]);
      made.set(step, check);
    }
    return check;
  };
}

/** A module as rewritten by {@link rewriteModuleCode}. */
export interface RewrittenModule {
  readonly bytes: Uint8Array;
  /** Every function entry and loop header checks the deadline (see `meterDeadline`). */
  readonly metered: boolean;
}

export interface CodeRewriteOptions {
  /**
   * Meter the deadline in the code: at every function entry and `loop` header, a countdown on a
   * new global (past every index the module's code can name, so the guest cannot touch it) that,
   * below zero, calls the host table's TICK_ELEMENT. Not applied to a module that waits on a
   * shared memory (`memory.atomic.wait32/64`: V8 blocks there, out of reach of any check):
   * `metered` then says false.
   */
  readonly meterDeadline?: boolean;
}

/**
 * Rewrites a module's code for the host. Every `memory.grow` becomes a `call_indirect` into a new
 * two-element table (exported as HOST_TABLE_EXPORT, with memory 0 as GROW_MEMORY_EXPORT) that the
 * host fills with a function growing the memory from JS: V8 does not honour a worker's
 * terminate() or node:vm's timeout while a guest loops on native `memory.grow` under GC pressure,
 * and growth from JS lets the host stop it. With `meterDeadline`, every function entry and loop
 * header counts down to a deadline check. A start section is removed and its function exported
 * as START_EXPORT: it must run after the table is filled (see instantiateGuest). No index shifts:
 * the types, table, global and exports are appended. A module with nothing to rewrite comes back
 * as it is. Refuses (FORGE_WASM_INVALID) reserved export and import names; throws WasmFormatError
 * for opcodes it cannot decode; expects a module that passed `WebAssembly.validate`.
 */
export function rewriteModuleCode(
  bytes: Uint8Array,
  name = 'module',
  options: CodeRewriteOptions = {},
): RewrittenModule {
  const sections = readSections(bytes);
  refuseReservedNames(bytes, sections, name);
  const find = (id: number) => sections.find((s) => s.id === id);
  const code = find(CODE);
  const bodies = scanBodies(bytes, code);
  const grows = bodies.some((body) => body.grows !== undefined);
  for (const body of bodies) {
    const other = body.grows?.find((site) => site.memory !== 0);
    if (other) throw new WasmFormatError(`memory.grow of memory ${other.memory} is not supported`);
  }
  const metered = options.meterDeadline === true && !bodies.some((body) => body.waits);
  const meter = metered && code !== undefined;
  if (!grows && !meter) return { bytes, metered };
  const counts = importCounts(bytes, find(IMPORT));
  const tableIndex = counts.tables + entryCount(bytes, find(TABLE));
  const globalIndex = counts.globals + entryCount(bytes, find(GLOBAL));
  const types = withTypes(bytes, find(TYPE), [GROW_TYPE, TICK_TYPE]);
  const start = find(START);
  const exports = [exportEntry(HOST_TABLE_EXPORT, 0x01, tableIndex)];
  if (grows) exports.push(exportEntry(GROW_MEMORY_EXPORT, 0x02, 0));
  if (start)
    exports.push(exportEntry(START_EXPORT, 0x00, new WasmReader(bytes, start.contentStart, start.end).u32()));
  const grow = Uint8Array.from([
    0x41,
    GROW_ELEMENT,
    0x11,
    ...encodeU32(types.indices[0]!),
    ...encodeU32(tableIndex),
  ]);
  const check = meter ? checkMaker(globalIndex, types.indices[1]!, tableIndex) : undefined;
  // Until the host fills the table, it holds functions of the module's own (appended, so past
  // every function index its code names): native memory.grow, and a tick that never stops the
  // guest. A module instantiated without the host (WebAssembly.Instance) then runs as it was.
  const fallbacks: { element: number; type: number; body: Uint8Array }[] = [];
  if (grows) fallbacks.push({ element: GROW_ELEMENT, type: types.indices[0]!, body: GROW_FALLBACK });
  if (meter) fallbacks.push({ element: TICK_ELEMENT, type: types.indices[1]!, body: TICK_FALLBACK });
  const firstFallback = counts.functions + entryCount(bytes, find(FUNCTION));
  // (elem (table $host) (i32.const first element) func ...fallbacks)
  const segment = [
    0x02,
    ...encodeU32(tableIndex),
    0x41,
    ...encodeS32(fallbacks[0]!.element),
    0x0b,
    0x00,
    ...encodeU32(fallbacks.length),
    ...fallbacks.flatMap((_, i) => encodeU32(firstFallback + i)),
  ];
  const replaced = new Map<number, Uint8Array[]>([
    [
      FUNCTION,
      section(
        FUNCTION,
        appendEntries(
          bytes,
          find(FUNCTION),
          fallbacks.map((f) => encodeU32(f.type)),
        ),
      ),
    ],
    [TABLE, section(TABLE, appendEntries(bytes, find(TABLE), [[0x70, 0x01, 0x02, 0x02]]))],
    [EXPORT, section(EXPORT, appendEntries(bytes, find(EXPORT), exports))],
    [ELEMENT, section(ELEMENT, appendEntries(bytes, find(ELEMENT), [segment]))],
    [
      CODE,
      section(
        CODE,
        rewriteCode(
          bytes,
          code!,
          bodies,
          grow,
          check,
          fallbacks.map((f) => f.body),
        ),
      ),
    ],
  ]);
  if (meter) {
    // (global (mut i32) (i32.const INITIAL_COUNTDOWN))
    const countdown = [0x7f, 0x01, 0x41, ...encodeS32(INITIAL_COUNTDOWN), 0x0b];
    replaced.set(GLOBAL, section(GLOBAL, appendEntries(bytes, find(GLOBAL), [countdown])));
  }
  if (types.body) replaced.set(TYPE, section(TYPE, types.body));
  return { bytes: assemble(bytes, sections, replaced, START), metered };
}

/**
 * Routes every `memory.grow` of a module through the host (rewriteModuleCode without deadline
 * metering). A module without `memory.grow` comes back as it is.
 */
export function routeMemoryGrow(bytes: Uint8Array, name = 'module'): Uint8Array {
  return rewriteModuleCode(bytes, name).bytes;
}
