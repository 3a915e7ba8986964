/** Thrown when a module's bytes end early or hold an encoding this reader refuses. */
export class WasmFormatError extends Error {
  override readonly name = 'WasmFormatError';
}

/**
 * A cursor over a WebAssembly binary: LEB128 integers, bytes and names, each bounds-checked.
 * Only what the loader needs (section headers, types, imports, limits, exports); it never decodes
 * code.
 */
export class WasmReader {
  offset: number;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.byteLength,
  ) {
    this.offset = start;
  }

  get done(): boolean {
    return this.offset >= this.end;
  }

  byte(): number {
    if (this.offset >= this.end) throw new WasmFormatError(`unexpected end at byte ${this.offset}`);
    return this.bytes[this.offset++]!;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffff_ffff) throw new WasmFormatError(`integer too large at byte ${this.offset}`);
        return result;
      }
    }
    throw new WasmFormatError(`integer too long at byte ${this.offset}`);
  }

  /** An unsigned LEB128 of at most 64 bits (memory64 limits), as a bigint. */
  u64(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new WasmFormatError(`integer too long at byte ${this.offset}`);
  }

  /** Skips a signed LEB128 of at most 33 bits (heap types). */
  skipS33(): void {
    for (let i = 0; i < 5; i += 1) if ((this.byte() & 0x80) === 0) return;
    throw new WasmFormatError(`integer too long at byte ${this.offset}`);
  }

  take(length: number): Uint8Array {
    if (length > this.end - this.offset) throw new WasmFormatError(`unexpected end at byte ${this.offset}`);
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  name(): string {
    return new TextDecoder('utf-8', { fatal: false }).decode(this.take(this.u32()));
  }
}

/** Encodes an unsigned LEB128. */
export function encodeU32(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

/** One section of a module: its id and where its contents lie. */
export interface WasmSection {
  readonly id: number;
  /** Offset of the section id byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the section. */
  readonly end: number;
}

/** The sections of a module in order; throws WasmFormatError on a bad header or a truncated section. */
export function readSections(bytes: Uint8Array): WasmSection[] {
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (bytes.byteLength < 8 || magic.some((b, i) => bytes[i] !== b)) {
    throw new WasmFormatError('not a WebAssembly 1.0 binary (bad magic or version)');
  }
  const reader = new WasmReader(bytes, 8);
  const sections: WasmSection[] = [];
  while (!reader.done) {
    const start = reader.offset;
    const id = reader.byte();
    const size = reader.u32();
    const contentStart = reader.offset;
    reader.take(size);
    sections.push({ id, start, contentStart, end: reader.offset });
  }
  return sections;
}
