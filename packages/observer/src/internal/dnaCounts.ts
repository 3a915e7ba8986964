import { emptyExecutionDna, type ExecutionDNA } from '@forgeone/common';

/** A handle on one syscall's counters (CallRecorder keeps one per syscall it records). */
export interface DnaSlot {
  readonly syscall: string;
  /** The slot's index in its tracker. */
  readonly index: number;
}

/** Calls held elsewhere (a TraceStage's rows) that are learned here when committed. */
export interface PendingCalls {
  readonly bound: boolean;
  flush(): void;
}

/** Allowed calls noted before they are counted (see DnaCounts.observeSlot). */
const PENDING = 256;

/**
 * The counters behind a DnaTracker (internal to observer: calls are learned through CallRecorder,
 * the one way in). Keeps one container's execution DNA up to date, one call at a time. Each syscall gets a slot (a
 * small integer); calls and transitions are counted in typed arrays (a square matrix of slots), so
 * a call is a few array increments: no lookup, no allocation. It sits on the syscall hot path, so
 * an allowed call is only noted (one store) and counted with up to 255 others in one pass; every
 * read, a denied call and a new time count the noted calls first, so nothing reads stale counts.
 */
export class DnaCounts {
  readonly #slots = new Map<string, DnaSlot>();
  readonly #names: string[] = [];
  #counts = new Float64Array(8);
  #transitions = new Float64Array(64);
  #width = 8; // slots the arrays have room for
  #previous = -1;
  #total = 0;
  #denied = 0;
  // Plain numbers (not `number | null`): a double stored into a field that may hold null is boxed
  // on every store, an allocation per call on the hot path. Meaningful once #total > 0.
  #firstSeen = 0;
  #lastSeen = 0;
  #now = 0;
  // Allowed calls noted and not yet counted, in order; all at #now (stamp counts them first).
  readonly #pending = new Int32Array(PENDING);
  #pendingCount = 0;
  /** Stages whose committed calls these counters learn (TraceStage.teach): flushed before any use. */
  readonly #stages: PendingCalls[] = [];

  constructor(readonly containerId: string) {}

  /**
   * Calls staged in `stage` are learned here when it commits them: it is flushed before this
   * tracker counts, stamps or is read, so that calls are learned in the order they were made.
   */
  follow(stage: PendingCalls): void {
    if (!this.#stages.includes(stage)) this.#stages.push(stage);
  }

  #settle(): void {
    for (const stage of this.#stages) if (stage.bound) stage.flush();
  }

  /** Records one call. */
  observe(syscall: string, denied: boolean, time: number): void {
    this.stamp(time);
    this.observeSlot(this.slot(syscall), denied);
  }

  /** Sets the time the next observed calls happened at (ms since the epoch), until stamped again. */
  stamp(time: number): void {
    if (this.#stages.length > 0) this.#settle();
    if (this.#pendingCount > 0) this.#count();
    this.#now = time;
  }

  /** The counters of one syscall (created on first use), for `observeSlot`. */
  slot(syscall: string): DnaSlot {
    let slot = this.#slots.get(syscall);
    if (slot === undefined) {
      slot = Object.freeze({ syscall, index: this.#names.length });
      this.#slots.set(syscall, slot);
      this.#names.push(syscall);
      if (slot.index >= this.#width) this.#grow();
    }
    return slot;
  }

  /**
   * Records one call of the slot's syscall, at the time last given to `stamp`; the slot must come
   * from this tracker's `slot`. An allowed call is noted and counted in a batch (before any read).
   */
  observeSlot(slot: DnaSlot, denied: boolean): void {
    if (this.#stages.length > 0) this.#settle();
    if (!denied) {
      const n = this.#pendingCount;
      this.#pending[n] = slot.index;
      this.#pendingCount = n + 1;
      if (n + 1 === PENDING) this.#count();
      return;
    }
    this.#observeDenied(slot.index);
  }

  /** Records `calls` allowed calls in a row of the slot's syscall, at the time last given to `stamp`. */
  observeRun(slot: DnaSlot, calls: number): void {
    if (!(calls > 0)) return;
    if (this.#pendingCount > 0) this.#count();
    const index = slot.index;
    const counts = this.#counts;
    counts[index] = counts[index]! + calls;
    const width = this.#width;
    const transitions = this.#transitions;
    const previous = this.#previous;
    if (previous >= 0) transitions[previous * width + index] = transitions[previous * width + index]! + 1;
    if (calls > 1) transitions[index * width + index] = transitions[index * width + index]! + calls - 1;
    this.#previous = index;
    if (this.#total === 0) this.#firstSeen = this.#now;
    this.#total += calls;
    this.#lastSeen = this.#now;
  }

  #observeDenied(index: number): void {
    if (this.#pendingCount > 0) this.#count();
    this.#add(index);
    this.#denied += 1;
  }

  /**
   * Counts the noted calls: all at #now, so only the counts and transitions are per call (what
   * `#add` does per call is done once per batch), and those per run of one syscall.
   */
  #count(): void {
    const pending = this.#pending;
    const n = this.#pendingCount;
    this.#pendingCount = 0;
    if (n === 0) return;
    const counts = this.#counts;
    const transitions = this.#transitions;
    const width = this.#width;
    let previous = this.#previous;
    // By runs of one syscall (a guest's loop): a run costs two counter updates, not two per call.
    let i = 0;
    while (i < n) {
      const index = pending[i]!;
      let end = i + 1;
      while (end < n && pending[end] === index) end += 1;
      const run = end - i;
      counts[index] = counts[index]! + run;
      if (previous >= 0) transitions[previous * width + index] = transitions[previous * width + index]! + 1;
      if (run > 1) transitions[index * width + index] = transitions[index * width + index]! + run - 1;
      previous = index;
      i = end;
    }
    this.#previous = previous;
    if (this.#total === 0) this.#firstSeen = this.#now;
    this.#total += n;
    this.#lastSeen = this.#now;
  }

  #add(index: number): void {
    const counts = this.#counts;
    counts[index] = counts[index]! + 1;
    const previous = this.#previous;
    if (previous >= 0) {
      const at = previous * this.#width + index;
      this.#transitions[at] = this.#transitions[at]! + 1;
    }
    this.#previous = index;
    this.#total += 1;
    if (this.#total === 1) this.#firstSeen = this.#now;
    this.#lastSeen = this.#now;
  }

  #grow(): void {
    const width = this.#width * 2;
    const counts = new Float64Array(width);
    counts.set(this.#counts);
    const transitions = new Float64Array(width * width);
    for (let from = 0; from < this.#width; from += 1) {
      transitions.set(this.#transitions.subarray(from * this.#width, (from + 1) * this.#width), from * width);
    }
    this.#counts = counts;
    this.#transitions = transitions;
    this.#width = width;
  }

  /**
   * Takes on a profile captured earlier (a snapshot's), so that a restored container's DNA goes
   * on from where it was. Only before anything was observed: a tracker that counted throws.
   */
  load(dna: ExecutionDNA): void {
    if (this.#stages.length > 0) this.#settle();
    if (this.#total > 0 || this.#pendingCount > 0)
      throw new RangeError('the tracker has counted calls already');
    for (const [name, count] of Object.entries(dna.syscallCounts)) {
      // The slot first: taking one may grow (replace) the arrays.
      const { index } = this.slot(name);
      this.#counts[index] = count;
    }
    for (const [pair, n] of Object.entries(dna.transitions)) {
      // Names hold no '>' in practice; the split that names two known syscalls is taken.
      let from: DnaSlot | undefined;
      let to: DnaSlot | undefined;
      for (let at = pair.indexOf('>'); at >= 0 && to === undefined; at = pair.indexOf('>', at + 1)) {
        const a = this.#slots.get(pair.slice(0, at));
        const b = this.#slots.get(pair.slice(at + 1));
        if (a !== undefined && b !== undefined) [from, to] = [a, b];
      }
      if (from === undefined || to === undefined)
        throw new RangeError(`transition '${pair}' names an unknown syscall`);
      this.#transitions[from.index * this.#width + to.index] = n;
    }
    this.#total = dna.totalCalls;
    this.#denied = dna.deniedCalls;
    this.#previous = dna.lastSyscall === null ? -1 : (this.#slots.get(dna.lastSyscall)?.index ?? -1);
    this.#firstSeen = dna.firstSeen ?? 0;
    this.#lastSeen = dna.lastSeen ?? 0;
  }

  /** A JSON-safe copy of the profile as it stands. */
  snapshot(): ExecutionDNA {
    if (this.#stages.length > 0) this.#settle();
    if (this.#pendingCount > 0) this.#count();
    if (this.#total === 0) return emptyExecutionDna(this.containerId);
    const syscallCounts: Record<string, number> = {};
    const transitions: Record<string, number> = {};
    const names = this.#names;
    for (let from = 0; from < names.length; from += 1) {
      const count = this.#counts[from]!;
      if (count === 0) continue; // a slot taken but never observed
      syscallCounts[names[from]!] = count;
      for (let to = 0; to < names.length; to += 1) {
        const n = this.#transitions[from * this.#width + to]!;
        if (n > 0) transitions[`${names[from]}>${names[to]}`] = n;
      }
    }
    return {
      containerId: this.containerId,
      syscallCounts,
      transitions,
      totalCalls: this.#total,
      deniedCalls: this.#denied,
      lastSyscall: names[this.#previous] ?? null,
      firstSeen: this.#firstSeen,
      lastSeen: this.#lastSeen,
    };
  }
}
