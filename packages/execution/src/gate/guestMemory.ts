/**
 * Thrown when a guest passes a pointer or length outside its memory. The gate turns it into an
 * errno (EFAULT for WASI, FORGE_EFAULT for forge.*); it never reaches the guest as a host exception.
 */
export class GuestFault extends Error {
  override readonly name = 'GuestFault';
}

/**
 * Receives every byte range the host writes into guest memory (what replay needs to re-apply):
 * `len` bytes at `ptr` of `memory` (the whole of guest memory, live: copy what you keep at once).
 * An object rather than a callback, and no view per write: this sits on the syscall hot path.
 * The trace's stage (observer's TraceStage) is one.
 */
export interface MemoryWriteSink {
  captureWrite(ptr: number, len: number, memory: Uint8Array): void;
  /**
   * `captureWrite(ptr, 4, memory)` of a u32 just written, given by value as well: a sink that keeps
   * small writes by value (the trace's stage) saves reading them back.
   */
  captureU32(ptr: number, value: number, memory: Uint8Array): void;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * A bounds-checked view of one instance's linear memory. Every host write into the guest goes
 * through here so that it can be recorded for replay; views are refreshed after `memory.grow`.
 */
export class GuestMemory {
  #memory: WebAssembly.Memory | undefined;
  #buffer: ArrayBuffer = new ArrayBuffer(0);
  #bytes = new Uint8Array(0);
  #view = new DataView(this.#buffer);
  #shared = false;
  /** Set by the gate while a call records its writes. */
  writeSink: MemoryWriteSink | undefined;

  /** Binds the instance's exported memory (after instantiation). */
  bind(memory: WebAssembly.Memory | undefined): void {
    this.#memory = memory;
    this.#bytes = new Uint8Array(0);
    this.#refresh();
  }

  get bound(): boolean {
    return this.#memory !== undefined;
  }

  /** Current size in bytes. */
  get size(): number {
    this.#refresh();
    return this.#bytes.length;
  }

  #refresh(): void {
    // Growing a memory detaches its old ArrayBuffer (length 0), so a non-empty, unshared view is
    // current: no need to ask the memory for its buffer (a slow accessor) on every access. (`length`
    // rather than `byteLength`: V8 inlines the former and not the latter, which costs ~20 ns.)
    if (this.#bytes.length !== 0 && !this.#shared) return;
    const buffer = this.#memory?.buffer;
    if (buffer === undefined) {
      this.#bytes = new Uint8Array(0);
      return;
    }
    if (buffer !== this.#buffer || buffer.byteLength !== this.#bytes.length) {
      this.#buffer = buffer as ArrayBuffer;
      this.#shared = typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;
      this.#bytes = new Uint8Array(buffer);
      this.#view = new DataView(buffer);
    }
  }

  /** `ptr` must be a u32 already (callers pass `ptr >>> 0`); `len` is checked to be one. */
  #check(ptr: number, len: number): void {
    // `len >>> 0 === len` refuses NaN, negatives, fractions and anything past 2^32 in one compare.
    // A range inside the view we hold needs no refresh: a grow detaches an unshared buffer (its
    // view's length drops to 0) and only lengthens a shared one.
    if (len >>> 0 === len && ptr + len <= this.#bytes.length) return;
    this.#checkFresh(ptr, len);
  }

  /** `#check`'s cold half, kept out of it so that the hot half stays small enough to inline. */
  #checkFresh(ptr: number, len: number): void {
    this.#refresh();
    if (len >>> 0 !== len || ptr + len > this.#bytes.length) {
      throw new GuestFault(`guest range [${ptr}, +${len}) is outside memory of ${this.#bytes.length} bytes`);
    }
  }

  /** A read-only copy of `len` bytes at `ptr`. */
  read(ptr: number, len: number): Uint8Array {
    this.#check(ptr >>> 0, len);
    return this.#bytes.slice(ptr >>> 0, (ptr >>> 0) + len);
  }

  /** Throws GuestFault unless `len` bytes at `ptr` are inside memory (nothing is allocated). */
  check(ptr: number, len: number): void {
    this.#check(ptr >>> 0, len);
  }

  /** A live view (no copy) of `len` bytes at `ptr`; valid until the guest runs again. */
  view(ptr: number, len: number): Uint8Array {
    this.#check(ptr >>> 0, len);
    return this.#bytes.subarray(ptr >>> 0, (ptr >>> 0) + len);
  }

  /** Decodes `len` bytes at `ptr` as strict UTF-8; throws GuestFault on invalid UTF-8. */
  readString(ptr: number, len: number): string {
    try {
      return utf8Decoder.decode(this.view(ptr, len));
    } catch (error) {
      if (error instanceof GuestFault) throw error;
      throw new GuestFault(`guest string at ${ptr >>> 0} is not valid UTF-8`);
    }
  }

  readU8(ptr: number): number {
    this.#check(ptr >>> 0, 1);
    return this.#bytes[ptr >>> 0]!;
  }

  readU32(ptr: number): number {
    this.#check(ptr >>> 0, 4);
    return this.#view.getUint32(ptr >>> 0, true);
  }

  readU64(ptr: number): bigint {
    this.#check(ptr >>> 0, 8);
    return this.#view.getBigUint64(ptr >>> 0, true);
  }

  /** Copies `bytes` into guest memory at `ptr` (recorded). */
  write(ptr: number, bytes: Uint8Array): void {
    this.#check(ptr >>> 0, bytes.byteLength);
    this.#bytes.set(bytes, ptr >>> 0);
    this.#written(ptr >>> 0, bytes.byteLength);
  }

  /**
   * Copies `bytes` into guest memory at `ptr` without telling the write sink: for values a trace
   * must never hold (secrets). A replay of the call does not restore them.
   */
  writeUnrecorded(ptr: number, bytes: Uint8Array): void {
    this.#check(ptr >>> 0, bytes.byteLength);
    this.#bytes.set(bytes, ptr >>> 0);
  }

  #written(ptr: number, len: number): void {
    if (this.writeSink !== undefined) this.writeSink.captureWrite(ptr, len, this.#bytes);
  }

  /** Encodes `text` as UTF-8 and writes it at `ptr` (recorded); returns the byte length. */
  writeString(ptr: number, text: string): number {
    const bytes = utf8Encoder.encode(text);
    this.write(ptr, bytes);
    return bytes.byteLength;
  }

  // Integers are written in place through the cached view: no temporary buffer on the hot path.
  writeU8(ptr: number, value: number): void {
    this.#check(ptr >>> 0, 1);
    this.#bytes[ptr >>> 0] = value & 0xff;
    this.#written(ptr >>> 0, 1);
  }

  writeU16(ptr: number, value: number): void {
    this.#check(ptr >>> 0, 2);
    this.#view.setUint16(ptr >>> 0, value, true);
    this.#written(ptr >>> 0, 2);
  }

  writeU32(ptr: number, value: number): void {
    this.#check(ptr >>> 0, 4);
    this.#view.setUint32(ptr >>> 0, value >>> 0, true);
    if (this.writeSink !== undefined) this.writeSink.captureU32(ptr >>> 0, value >>> 0, this.#bytes);
  }

  writeU64(ptr: number, value: bigint): void {
    this.#check(ptr >>> 0, 8);
    this.#view.setBigUint64(ptr >>> 0, BigInt.asUintN(64, value), true);
    this.#written(ptr >>> 0, 8);
  }
}
