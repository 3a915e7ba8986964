import type { DnaCounts, DnaSlot } from './dnaCounts';

/**
 * The layout of one staged call in a stage's rows (and in a chunk's row area): a fixed
 * number of doubles per call, so that recording a call is a handful of stores into one array.
 */
export const STAGE_ROW = 10;
export const ROW_TEMPLATE = 0;
export const ROW_RESULT = 1;
/** Params a, b, c, d: slots 2 to 5 (as many as the template's arity). */
export const ROW_PARAMS = 2;
export const ROW_WRITE_PTR = 6;
/** The length of the call's one write, 1 to 8 bytes; 0 when the call wrote nothing. */
export const ROW_WRITE_LEN = 7;
/** The write's bytes 0–3 and 4–7, little-endian. */
export const ROW_WRITE_LO = 8;
export const ROW_WRITE_HI = 9;
/** The longest write a row holds; a longer one goes to the ring's arenas. */
export const ROW_MAX_WRITE = 8;

const NO_ROWS = new Float64Array(0);

/** What a stage needs of its trace ring (TraceRing): room for rows, and the ring's own ways in. */
export interface StageRing {
  /** Room for rows in the chunk the next event goes into. */
  stageArea(): { readonly rows: Float64Array; readonly at: number; readonly end: number };
  /** The `count` rows written into the last area given are calls, in order, at the current time. */
  commitStagedRows(count: number): void;
  /** A pending write of `len` bytes at `ptr` whose bytes are the first `len` of `bytes`. */
  captureStagedWrite(ptr: number, bytes: Uint8Array, len: number): void;
  /** A write of the call in progress that the stage does not hold. */
  captureWrite(ptr: number, len: number, memory: Uint8Array): void;
  /** A call of a template that the stage could not hold as a row. */
  recordTemplated(template: number, params: readonly (number | bigint)[], result: number): void;
}

/** Where the committed calls of one template are learned. */
interface Learner {
  readonly dna: DnaCounts;
  readonly slot: DnaSlot;
  /** The params of a call of the template recorded directly (copied by the ring, never kept). */
  readonly params: (number | bigint)[];
}

/**
 * A trace ring's staging area for the hot entry point of {@link CallRecorder} (`recordHot`):
 * untimed calls of a template with at most four number params and at most one write of up to 8
 * bytes are written as fixed-size rows straight into the row area of the ring's current chunk,
 * and committed as events in batches: a few bulk fills per batch, not a store per column per call.
 * The DNA of the committed calls is learned at the same time, by runs (`teach`).
 *
 * It is also the guest memory's write sink: the one small write of a hot call is kept by value in
 * the row being built. Anything else goes to the ring "directly": a call of the general entry point
 * (`goDirect`), a second or a longer write, and a call in progress when the ring is read (its write
 * becomes the ring's pending write, and the call is recorded there). The ring and the DNA counters
 * taught flush the stage before they record or read anything else, so the trace and the DNA keep the
 * order the calls were made in. Internal to observer: nothing else writes its rows.
 *
 * Invariant: the stage is bound to an area (`#end !== 0`) only while it may write rows there; in
 * direct mode it is not bound, so `#at === #end` alone sends a hot call to the general path.
 */
export class TraceStage {
  /** The row area of the ring's current chunk (while bound). */
  #rows: Float64Array = NO_ROWS;
  /** The slot offset of the row being built, and the end of the area: 0 and 0 when not bound. */
  #at = 0;
  #end = 0;
  /** The call in progress wrote once: its write is in the row being built. */
  #pending = false;
  /** The slot offset the area started at (rows from there to `#at` are written, not committed). */
  #start = 0;
  /** The call in progress has writes in the ring: it is recorded there. */
  #direct = false;
  #memory: Uint8Array | undefined;
  #view: DataView = new DataView(new ArrayBuffer(0));
  readonly #ring: StageRing;
  readonly #scratch = new Uint8Array(ROW_MAX_WRITE);
  /** Per template: where its committed calls are learned, and a params array for a call not staged. */
  readonly #learners: (Learner | undefined)[] = [];

  constructor(ring: StageRing) {
    this.#ring = ring;
  }

  /** Bound to an area of the ring's current chunk: flush before touching that chunk. */
  get bound(): boolean {
    return this.#end !== 0;
  }

  /** The calls of `template` (of `arity` params) this stage commits are learned by `dna` (as calls of `slot`). */
  teach(template: number, dna: DnaCounts, slot: DnaSlot, arity: number): void {
    this.#learners[template] = { dna, slot, params: new Array<number | bigint>(arity).fill(0) };
    dna.follow(this);
  }

  /** The next call's writes go to the ring, and the call is recorded there (the general path). */
  goDirect(): void {
    if (this.#end !== 0) this.flush();
    this.#direct = true;
  }

  /** A write into guest memory by the call in progress (`len` bytes at `ptr` of the live `memory`). */
  captureWrite(ptr: number, len: number, memory: Uint8Array): void {
    const r = this.#at;
    if (r === this.#end || this.#pending || (len !== 4 && len !== 8)) {
      this.#captureOther(ptr, len, memory);
      return;
    }
    if (memory !== this.#memory) this.#viewOf(memory);
    const rows = this.#rows;
    const view = this.#view;
    rows[r + ROW_WRITE_PTR] = ptr;
    rows[r + ROW_WRITE_LEN] = len;
    rows[r + ROW_WRITE_LO] = view.getUint32(ptr, true);
    rows[r + ROW_WRITE_HI] = len === 8 ? view.getUint32(ptr + 4, true) : 0;
    this.#pending = true;
  }

  /** `captureWrite(ptr, 4, memory)` of the u32 `value` just written there. */
  captureU32(ptr: number, value: number, memory: Uint8Array): void {
    const r = this.#at;
    if (r === this.#end || this.#pending) {
      this.#captureOther(ptr, 4, memory);
      return;
    }
    const rows = this.#rows;
    rows[r + ROW_WRITE_PTR] = ptr;
    rows[r + ROW_WRITE_LEN] = 4;
    rows[r + ROW_WRITE_LO] = value;
    rows[r + ROW_WRITE_HI] = 0;
    this.#pending = true;
  }

  #viewOf(memory: Uint8Array): void {
    this.#memory = memory;
    this.#view = new DataView(memory.buffer, memory.byteOffset, memory.byteLength);
  }

  /** A write `captureWrite` does not keep inline: another length, a second write, not bound. */
  #captureOther(ptr: number, len: number, memory: Uint8Array): void {
    // Small, so that it inlines: the gate's general path (direct) comes through here on every write.
    if (this.#direct) this.#ring.captureWrite(ptr, len, memory);
    else this.#captureRow(ptr, len, memory);
  }

  /** Keeps the write in the row being built if it can (binding first), else goes direct. */
  #captureRow(ptr: number, len: number, memory: Uint8Array): void {
    if (!this.#pending && len > 0 && len <= ROW_MAX_WRITE) {
      if (this.#at === this.#end) this.#bind();
      if (this.#at !== this.#end) {
        const r = this.#at;
        const rows = this.#rows;
        let lo = 0;
        let hi = 0;
        for (let k = 0; k < len; k += 1) {
          if (k < 4) lo |= memory[ptr + k]! << (8 * k);
          else hi |= memory[ptr + k]! << (8 * (k - 4));
        }
        rows[r + ROW_WRITE_PTR] = ptr;
        rows[r + ROW_WRITE_LEN] = len;
        rows[r + ROW_WRITE_LO] = lo >>> 0;
        rows[r + ROW_WRITE_HI] = hi >>> 0;
        this.#pending = true;
        return;
      }
    }
    // The call's writes (this one, and one kept in its row) go to the ring, in order.
    if (this.#end !== 0) this.flush();
    this.#direct = true;
    this.#ring.captureWrite(ptr, len, memory);
  }

  #bind(): void {
    const area = this.#ring.stageArea();
    this.#rows = area.rows;
    this.#at = area.at;
    this.#start = area.at;
    this.#end = area.end;
  }

  /**
   * Records the call in progress: a call of `template` that returned `result`, with the first
   * `arity` (0–4, the template's) of `a`, `b`, `c`, `d` as its params (0 for the rest). Staged as a
   * row when it fits (its DNA is learned when the row is committed); otherwise recorded by the ring
   * and learned now. Returns whether it was staged.
   */
  add(
    template: number,
    result: number,
    arity: number,
    a: number | bigint,
    b: number | bigint,
    c: number | bigint,
    d: number | bigint,
  ): boolean {
    if (this.#at === this.#end && !this.#direct && !this.#pending) this.#bind();
    const r = this.#at;
    if (
      r === this.#end ||
      typeof a !== 'number' ||
      typeof b !== 'number' ||
      typeof c !== 'number' ||
      typeof d !== 'number'
    ) {
      this.#addDirect(template, result, a, b, c, d);
      return false;
    }
    const rows = this.#rows;
    rows[r + ROW_TEMPLATE] = template;
    rows[r + ROW_RESULT] = result;
    if (arity > 0) rows[r + ROW_PARAMS] = a;
    if (arity > 1) rows[r + ROW_PARAMS + 1] = b;
    if (arity > 2) rows[r + ROW_PARAMS + 2] = c;
    if (arity > 3) rows[r + ROW_PARAMS + 3] = d;
    if (this.#pending) this.#pending = false;
    else rows[r + ROW_WRITE_LEN] = 0;
    this.#at = r + STAGE_ROW;
    if (r + STAGE_ROW === this.#end) this.flush();
    return true;
  }

  /** A call `add` cannot stage (not bound, a bigint param): recorded by the ring, learned now. */
  #addDirect(
    template: number,
    result: number,
    a: number | bigint,
    b: number | bigint,
    c: number | bigint,
    d: number | bigint,
  ): void {
    if (this.#end !== 0) this.flush();
    const learner = this.#learners[template];
    if (learner === undefined) throw new RangeError(`template ${template} was not taught to the stage`);
    const params = learner.params;
    const n = params.length;
    if (n > 0) params[0] = a;
    if (n > 1) params[1] = b;
    if (n > 2) params[2] = c;
    if (n > 3) params[3] = d;
    this.#ring.recordTemplated(template, params, result);
    learner.dna.observeSlot(learner.slot, false);
  }

  /**
   * Commits the rows written (and learns them), and unbinds. A write of the call in progress
   * becomes the ring's pending write, and that call is recorded there.
   */
  flush(): void {
    const rows = this.#rows;
    const start = this.#start;
    const r = this.#at;
    const pending = this.#pending;
    this.#at = 0;
    this.#end = 0;
    this.#start = 0;
    this.#pending = false;
    let ptr = 0;
    let len = 0;
    if (pending) {
      this.#direct = true;
      unpackWrite(rows, r, this.#scratch);
      ptr = rows[r + ROW_WRITE_PTR]!;
      len = rows[r + ROW_WRITE_LEN]!;
    }
    if (r > start) {
      this.#learn(rows, start, r);
      this.#ring.commitStagedRows((r - start) / STAGE_ROW);
    }
    if (pending) this.#ring.captureStagedWrite(ptr, this.#scratch, len);
  }

  /** Learns the committed rows from `from` to `to` (slot offsets), by runs of one template. */
  #learn(rows: Float64Array, from: number, to: number): void {
    let r = from;
    while (r < to) {
      const template = rows[r + ROW_TEMPLATE]!;
      let end = r + STAGE_ROW;
      while (end < to && rows[end + ROW_TEMPLATE] === template) end += STAGE_ROW;
      const learner = this.#learners[template];
      if (learner !== undefined) learner.dna.observeRun(learner.slot, (end - r) / STAGE_ROW);
      r = end;
    }
  }

  /** The ring recorded an event: a call in progress that was recorded there is done. */
  recorded(): void {
    this.#direct = false;
  }
}

/** The bytes of the write in the row at `r` (its length at ROW_WRITE_LEN) into `out`. */
export function unpackWrite(rows: Float64Array, r: number, out: Uint8Array): void {
  const len = rows[r + ROW_WRITE_LEN]!;
  const lo = rows[r + ROW_WRITE_LO]!;
  const hi = rows[r + ROW_WRITE_HI]!;
  for (let k = 0; k < len; k += 1) out[k] = (k < 4 ? lo >>> (8 * k) : hi >>> (8 * (k - 4))) & 0xff;
}
