import { ForgeError } from '@forgeone/common';

/** An API request id as a container keeps it: printable ASCII, 1..200 characters. */
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** Checks a request id given to a launch or an invoke (FORGE_INVALID_INPUT otherwise). */
export function checkRequestId(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && REQUEST_ID.test(value)) return value;
  throw new ForgeError('FORGE_INVALID_INPUT', `${field} must be 1 to 200 printable ASCII characters`, {
    details: { field },
  });
}

/**
 * Which request made which of a container's calls: a container takes its calls one at a time, so
 * the calls of one invoke are a range of trace sequence numbers, from the first call after the
 * previous invoke ended. Marks are set when a call begins (between two calls) and read in order
 * when the calls are audited; what was audited is forgotten, so a service invoked a million times
 * keeps only the marks still to be read.
 */
export class RequestMarks {
  /** Ranges' first sequence numbers, ascending, and who made the calls from there on. */
  #from: number[] = [];
  #ids: (string | undefined)[] = [];

  constructor(launchRequestId?: string) {
    if (launchRequestId !== undefined) this.begin(1, launchRequestId);
  }

  /** Whether a call made for `requestId` starts a new range (false: the current one goes on). */
  changes(requestId: string | undefined): boolean {
    const last = this.#ids.length - 1;
    return last < 0 ? requestId !== undefined : this.#ids[last] !== requestId;
  }

  /** The request of the calls from `fromSeq` on (undefined: no request, a library call). */
  begin(fromSeq: number, requestId: string | undefined): void {
    const last = this.#ids.length - 1;
    if (!this.changes(requestId)) return;
    if (last >= 0 && this.#from[last]! >= fromSeq) {
      // The previous call made no syscall: its range is empty, and this one replaces it.
      this.#from[last] = fromSeq;
      this.#ids[last] = requestId;
      return;
    }
    this.#from.push(fromSeq);
    this.#ids.push(requestId);
  }

  /** The request that made call `seq`. */
  at(seq: number): string | undefined {
    let i = this.#from.length - 1;
    while (i >= 0 && this.#from[i]! > seq) i -= 1;
    return i < 0 ? undefined : this.#ids[i];
  }

  /** Forgets the marks that only calls up to `seq` (audited already) can need. */
  forgetThrough(seq: number): void {
    let drop = 0;
    while (drop + 1 < this.#from.length && this.#from[drop + 1]! <= seq + 1) drop += 1;
    if (drop > 0) {
      this.#from.splice(0, drop);
      this.#ids.splice(0, drop);
    }
  }

  /** Marks held (for tests: bounded by what is not audited yet). */
  get size(): number {
    return this.#from.length;
  }
}

/** The trace sequence numbers of the syscalls one invoke made (`toSeq < fromSeq`: none). */
export interface CallRange {
  readonly fromSeq: number;
  readonly toSeq: number;
}

/** A result with the range of calls that made it: given to callers that named a request. */
export function withCalls<R extends object>(
  result: R,
  fromSeq: number,
  toSeq: number,
): R & { calls: CallRange } {
  return { ...result, calls: { fromSeq, toSeq } };
}
