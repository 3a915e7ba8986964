/**
 * What follows each WebAssembly opcode in a function body, for every instruction V8 in Node 20
 * validates without flags: MVP, sign extension, non-trapping float-to-int, bulk memory, reference
 * types, typed select, tail calls, legacy exceptions, SIMD (0xFD) and threads (0xFE). Unassigned
 * opcodes, and proposals V8 keeps behind a flag (typed function references, GC, relaxed SIMD),
 * are UNKNOWN: a decoder refuses them rather than guess their length.
 */
export const Imm = {
  UNKNOWN: 0,
  NONE: 1,
  /** A block type: 0x40, a value type, or a type index (s33). */
  BLOCK_TYPE: 2,
  /** One LEB128 index (local, global, function, label, table, tag, data, element, memory). */
  U32: 3,
  /** Two LEB128 indices (call_indirect, memory.init, memory.copy, table.init, table.copy). */
  U32_U32: 4,
  /** A vector of labels and a default label. */
  BR_TABLE: 5,
  /** Alignment (bit 6: a memory index follows), then offset. */
  MEMARG: 6,
  /** A memarg and a lane index byte. */
  MEMARG_LANE: 7,
  /** A signed LEB128 (i32.const, i64.const). */
  SLEB: 8,
  /** Four literal bytes (f32.const). */
  BYTES4: 9,
  /** Eight literal bytes (f64.const). */
  BYTES8: 10,
  /** Sixteen literal bytes (v128.const, i8x16.shuffle). */
  BYTES16: 11,
  /** One lane index byte (extract_lane, replace_lane). */
  LANE: 12,
  /** A vector of value types (typed select). */
  VALTYPES: 13,
  /** A heap type (ref.null). */
  HEAP_TYPE: 14,
  /** One reserved byte (atomic.fence). */
  BYTE: 15,
  /** The 0xFC prefix: a LEB128 sub-opcode follows. */
  PREFIX_FC: 16,
  /** The 0xFD (SIMD) prefix. */
  PREFIX_FD: 17,
  /** The 0xFE (threads) prefix. */
  PREFIX_FE: 18,
} as const;
export type Imm = (typeof Imm)[keyof typeof Imm];

function table(size: number, entries: readonly (readonly [number, number, Imm])[]): Uint8Array {
  const out = new Uint8Array(size);
  for (const [from, to, imm] of entries) out.fill(imm, from, to + 1);
  return out;
}

/** Single-byte opcodes. */
export const OPCODES: Uint8Array = table(256, [
  [0x00, 0x01, Imm.NONE], // unreachable, nop
  [0x02, 0x04, Imm.BLOCK_TYPE], // block, loop, if
  [0x05, 0x05, Imm.NONE], // else
  [0x06, 0x06, Imm.BLOCK_TYPE], // try
  [0x07, 0x09, Imm.U32], // catch, throw, rethrow
  [0x0b, 0x0b, Imm.NONE], // end
  [0x0c, 0x0d, Imm.U32], // br, br_if
  [0x0e, 0x0e, Imm.BR_TABLE],
  [0x0f, 0x0f, Imm.NONE], // return
  [0x10, 0x10, Imm.U32], // call
  [0x11, 0x11, Imm.U32_U32], // call_indirect
  [0x12, 0x12, Imm.U32], // return_call
  [0x13, 0x13, Imm.U32_U32], // return_call_indirect
  [0x18, 0x18, Imm.U32], // delegate
  [0x19, 0x19, Imm.NONE], // catch_all
  [0x1a, 0x1b, Imm.NONE], // drop, select
  [0x1c, 0x1c, Imm.VALTYPES], // select t*
  [0x20, 0x26, Imm.U32], // local.get/set/tee, global.get/set, table.get/set
  [0x28, 0x3e, Imm.MEMARG], // loads and stores
  [0x3f, 0x40, Imm.U32], // memory.size, memory.grow (memory index)
  [0x41, 0x42, Imm.SLEB], // i32.const, i64.const
  [0x43, 0x43, Imm.BYTES4], // f32.const
  [0x44, 0x44, Imm.BYTES8], // f64.const
  [0x45, 0xc4, Imm.NONE], // numeric, conversions, sign extension
  [0xd0, 0xd0, Imm.HEAP_TYPE], // ref.null
  [0xd1, 0xd1, Imm.NONE], // ref.is_null
  [0xd2, 0xd2, Imm.U32], // ref.func
  [0xfc, 0xfc, Imm.PREFIX_FC],
  [0xfd, 0xfd, Imm.PREFIX_FD],
  [0xfe, 0xfe, Imm.PREFIX_FE],
]);

/** 0xFC sub-opcodes: saturating truncation, bulk memory, tables. */
export const FC_OPCODES: Uint8Array = table(0x12, [
  [0x00, 0x07, Imm.NONE], // i32/i64.trunc_sat_f32/f64_s/u
  [0x08, 0x08, Imm.U32_U32], // memory.init data memory
  [0x09, 0x09, Imm.U32], // data.drop
  [0x0a, 0x0a, Imm.U32_U32], // memory.copy dst src
  [0x0b, 0x0b, Imm.U32], // memory.fill
  [0x0c, 0x0c, Imm.U32_U32], // table.init element table
  [0x0d, 0x0d, Imm.U32], // elem.drop
  [0x0e, 0x0e, Imm.U32_U32], // table.copy dst src
  [0x0f, 0x11, Imm.U32], // table.grow, table.size, table.fill
]);

/** SIMD sub-opcodes 0x00..0xFF (the final SIMD proposal; its gaps stay UNKNOWN). */
export const FD_OPCODES: Uint8Array = (() => {
  const out = table(0x100, [
    [0x00, 0x0b, Imm.MEMARG], // v128.load*, v128.store
    [0x0c, 0x0d, Imm.BYTES16], // v128.const, i8x16.shuffle
    [0x0e, 0x14, Imm.NONE], // i8x16.swizzle, splats
    [0x15, 0x22, Imm.LANE], // extract_lane, replace_lane
    [0x23, 0x53, Imm.NONE], // comparisons, bitwise, any_true
    [0x54, 0x5b, Imm.MEMARG_LANE], // v128.load*_lane, v128.store*_lane
    [0x5c, 0x5d, Imm.MEMARG], // v128.load32_zero, v128.load64_zero
    [0x5e, 0xff, Imm.NONE], // arithmetic and conversions
  ]);
  const unassigned = [
    0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3,
    0xd4, 0xe2, 0xee,
  ];
  for (const op of unassigned) out[op] = Imm.UNKNOWN;
  return out;
})();

/** Threads sub-opcodes: notify and waits, fence, atomic loads, stores and read-modify-writes. */
export const FE_OPCODES: Uint8Array = table(0x4f, [
  [0x00, 0x02, Imm.MEMARG], // memory.atomic.notify, wait32, wait64
  [0x03, 0x03, Imm.BYTE], // atomic.fence
  [0x10, 0x4e, Imm.MEMARG], // atomic loads, stores, rmw, cmpxchg
]);

/** A readable name for an opcode, as `0xNN` or `0xPP 0xNN`. */
export function opcodeName(prefix: number | undefined, op: number): string {
  const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
  return prefix === undefined ? hex(op) : `${hex(prefix)} ${hex(op)}`;
}

/** The immediate kind of an opcode (`prefix` for 0xFC/0xFD/0xFE sub-opcodes); UNKNOWN when V8 would not take it. */
export function immediateOf(prefix: number | undefined, op: number): Imm {
  const byPrefix =
    prefix === undefined
      ? OPCODES
      : prefix === 0xfc
        ? FC_OPCODES
        : prefix === 0xfd
          ? FD_OPCODES
          : prefix === 0xfe
            ? FE_OPCODES
            : undefined;
  return (byPrefix?.[op] ?? Imm.UNKNOWN) as Imm;
}
