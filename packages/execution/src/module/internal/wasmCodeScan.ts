import { Imm, immediateOf, OPCODES, opcodeName } from './wasmOpcodes';
import { WasmFormatError } from './wasmReader';

/** Thrown for an instruction the decoder does not know: the module is refused, never guessed at. */
export class UnknownOpcodeError extends WasmFormatError {
  constructor(
    readonly opcode: string,
    readonly functionIndex: number,
    readonly offset: number,
  ) {
    super(
      `function ${functionIndex} uses opcode ${opcode} (at byte ${offset}), which this host does not decode`,
    );
  }
}

const MEMORY_GROW = 0x40;
const TABLE_SET = 0x26;
/** table.init (elem, table), table.copy (dst, src), table.grow, table.fill: the table each writes is their last, first, only, only immediate. */
const TABLE_INIT = 0x0c;
const TABLE_COPY = 0x0e;
const TABLE_GROW = 0x0f;
const TABLE_FILL = 0x11;

/** Skips a LEB128 (signed or unsigned, up to 64 bits) at `at`; returns the offset after it. */
function skipLeb(bytes: Uint8Array, at: number, end: number): number {
  const last = Math.min(at + 10, end);
  while (at < last) if ((bytes[at++]! & 0x80) === 0) return at;
  throw new WasmFormatError(`bad integer ending at byte ${at}`);
}

/** The unsigned LEB128 at `at` (its length: skipLeb). */
function u32At(bytes: Uint8Array, at: number, end: number): number {
  let value = 0;
  for (let shift = 0; shift < 35 && at < end; shift += 7) {
    const b = bytes[at++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return value;
  }
  throw new WasmFormatError(`bad integer ending at byte ${at}`);
}

/** Skips a value type or heap type: one byte, 0x63/0x64 and a heap type, or a type index. */
function skipValType(bytes: Uint8Array, at: number, end: number): number {
  if (at >= end) throw new WasmFormatError(`unexpected end at byte ${at}`);
  const code = bytes[at]!;
  if (code === 0x63 || code === 0x64) return skipLeb(bytes, at + 1, end);
  return skipLeb(bytes, at, end);
}

function skipMemarg(bytes: Uint8Array, at: number, end: number): number {
  // Bit 6 of the alignment says a memory index follows (multi-memory).
  const multi = (u32At(bytes, at, end) & 0x40) !== 0;
  at = skipLeb(bytes, at, end);
  if (multi) at = skipLeb(bytes, at, end);
  return skipLeb(bytes, at, end);
}

/** A `memory.grow` found in a body: the instruction spans [start, end). */
export interface GrowSite {
  readonly start: number;
  readonly end: number;
  readonly memory: number;
}

/** Where a `loop`'s body starts (just past its block type), and how many instructions it holds. */
export interface LoopSite {
  readonly at: number;
  weight: number;
}

/** What the rewriter needs of one function body. */
export interface BodyScan {
  /** Offset of the first instruction (past the locals). */
  readonly codeStart: number;
  readonly grows: GrowSite[] | undefined;
  readonly loops: LoopSite[] | undefined;
  /** Instructions in the body, bulk memory and table operations and memory.grow counted as BULK_WEIGHT each. */
  readonly weight: number;
  /** The body waits on a shared memory (`memory.atomic.wait32/64`), which no code check can interrupt. */
  readonly waits: boolean;
  /** Tables the body changes (`table.set/grow/init/copy/fill`, by table index); undefined when none. */
  readonly tableWrites: number[] | undefined;
}

const LOOP = 0x03;
const BLOCK = 0x02;
const IF = 0x04;
const TRY = 0x06;
const END = 0x0b;
const DELEGATE = 0x18;
/** One bulk operation may touch a whole memory: it counts as this many instructions. */
export const BULK_WEIGHT = 1024;
/** memory.init, memory.copy, memory.fill, table.init, table.copy, table.grow, table.fill. */
const BULK_OPS: ReadonlySet<number> = new Set([0x08, 0x0a, 0x0b, 0x0c, 0x0e, 0x0f, 0x11]);

/**
 * Decodes one function body (`start`..`end`: its locals, then its code) instruction by instruction
 * and returns where its `memory.grow` instructions and `loop` bodies lie. Throws
 * UnknownOpcodeError for an opcode outside the table of wasmOpcodes, WasmFormatError for a
 * truncated body.
 */
export function scanFunctionBody(
  bytes: Uint8Array,
  start: number,
  end: number,
  functionIndex: number,
): BodyScan {
  let grows: GrowSite[] | undefined;
  let loops: LoopSite[] | undefined;
  // Per open block: the loop it is (its site and the weight when it opened), or undefined.
  const open: (readonly [LoopSite, number] | undefined)[] = [];
  let weight = 0;
  let waits = false;
  let tableWrites: number[] | undefined;
  let at = start;
  const groups = u32At(bytes, at, end);
  at = skipLeb(bytes, at, end);
  for (let i = 0; i < groups; i += 1) at = skipValType(bytes, skipLeb(bytes, at, end), end);
  const codeStart = at;
  while (at < end) {
    const opStart = at;
    const op = bytes[at++]!;
    weight += 1;
    let imm = OPCODES[op]!;
    let prefix: number | undefined;
    let sub = op;
    if (imm >= Imm.PREFIX_FC) {
      prefix = op;
      sub = u32At(bytes, at, end);
      at = skipLeb(bytes, at, end);
      imm = immediateOf(prefix, sub);
      if (prefix === 0xfc && BULK_OPS.has(sub)) {
        weight += BULK_WEIGHT - 1;
        if (sub === TABLE_INIT) (tableWrites ??= []).push(u32At(bytes, skipLeb(bytes, at, end), end));
        else if (sub === TABLE_COPY || sub === TABLE_GROW || sub === TABLE_FILL)
          (tableWrites ??= []).push(u32At(bytes, at, end));
      } else if (prefix === 0xfe && (sub === 0x01 || sub === 0x02)) waits = true;
    } else if (op === TABLE_SET) (tableWrites ??= []).push(u32At(bytes, at, end));
    switch (imm) {
      case Imm.NONE:
        if (prefix === undefined && op === END) {
          const closed = open.pop();
          if (closed) closed[0].weight = weight - closed[1];
        }
        break;
      case Imm.BLOCK_TYPE:
        at = skipValType(bytes, at, end);
        if (op === LOOP) {
          const site: LoopSite = { at, weight: 0 };
          (loops ??= []).push(site);
          open.push([site, weight]);
        } else if (op === BLOCK || op === IF || op === TRY) open.push(undefined);
        break;
      case Imm.HEAP_TYPE:
        at = skipValType(bytes, at, end);
        break;
      case Imm.U32:
      case Imm.SLEB:
        if (op === MEMORY_GROW && prefix === undefined) {
          const memory = u32At(bytes, at, end);
          at = skipLeb(bytes, at, end);
          (grows ??= []).push({ start: opStart, end: at, memory });
          // A call to the host, which may throw and catch: weighed like a bulk operation.
          weight += BULK_WEIGHT - 1;
        } else {
          // `delegate` ends its `try` as `end` would.
          if (op === DELEGATE && prefix === undefined) open.pop();
          at = skipLeb(bytes, at, end);
        }
        break;
      case Imm.U32_U32:
        at = skipLeb(bytes, skipLeb(bytes, at, end), end);
        break;
      case Imm.BR_TABLE: {
        const count = u32At(bytes, at, end);
        at = skipLeb(bytes, at, end);
        for (let i = 0; i <= count; i += 1) at = skipLeb(bytes, at, end);
        break;
      }
      case Imm.MEMARG:
        at = skipMemarg(bytes, at, end);
        break;
      case Imm.MEMARG_LANE:
        at = skipMemarg(bytes, at, end) + 1;
        break;
      case Imm.BYTES4:
        at += 4;
        break;
      case Imm.BYTES8:
        at += 8;
        break;
      case Imm.BYTES16:
        at += 16;
        break;
      case Imm.LANE:
      case Imm.BYTE:
        at += 1;
        break;
      case Imm.VALTYPES: {
        const count = u32At(bytes, at, end);
        at = skipLeb(bytes, at, end);
        for (let i = 0; i < count; i += 1) at = skipValType(bytes, at, end);
        break;
      }
      default:
        throw new UnknownOpcodeError(opcodeName(prefix, sub), functionIndex, opStart);
    }
  }
  if (at !== end) throw new WasmFormatError(`function ${functionIndex} runs past its body`);
  return { codeStart, grows, loops, weight, waits, tableWrites };
}
