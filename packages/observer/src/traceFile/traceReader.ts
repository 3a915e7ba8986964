import type { z } from 'zod';
import { ForgeError, type ForgeErrorCode } from '@forgeone/common';
import type { TraceEvent } from '../traceEvent';
import { chainHash, unchainLine } from './traceChain';
import { fastCallRecord } from './fastCallRecord';
import {
  EndSchema,
  EventSchema,
  HeaderSchema,
  SignatureSchema,
  traceFileLimits,
  type TraceFileEnd,
  type TraceFileHeader,
  type TraceSignature,
} from './traceFileSchema';

/** One record of a trace file, checked. */
export type TraceRecord =
  | { readonly kind: 'header'; readonly header: TraceFileHeader }
  | { readonly kind: 'call'; readonly event: TraceEvent }
  | { readonly kind: 'end'; readonly end: TraceFileEnd }
  | { readonly kind: 'signature'; readonly signature: TraceSignature };

/** One line, whatever the message held: it is printed as `CODE: message`. */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').slice(0, 300);

function fail(code: ForgeErrorCode, line: number, message: string, field?: string): never {
  throw new ForgeError(
    code,
    `trace line ${line}: ${field === undefined ? '' : `${field}: `}${oneLine(message)}`,
    {
      details: { line, ...(field === undefined ? {} : { field }) },
    },
  );
}

const invalid = (line: number, message: string, field?: string): never =>
  fail('FORGE_TRACE_INVALID', line, message, field);

/** The first issue of a failed parse, as the field it names and what is wrong with it. */
function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  return { field: issue?.path.map(String).join('.') || '(record)', message: issue?.message ?? 'invalid' };
}

function parsed<T>(schema: z.ZodType<T>, value: unknown, line: number, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const { field, message } = firstIssue(result.error);
  return invalid(line, `bad ${what} (${message})`, field);
}

function jsonObject(text: string, line: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    invalid(line, 'not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    invalid(line, 'a record is a JSON object');
  return value as Record<string, unknown>;
}

/**
 * Reads a trace file one line at a time, every field checked with its bounds
 * ({@link traceFileLimits}) and, in a format-2 file, every record against the hash chain
 * (`traceChain.ts`). The order is fixed: the header, calls numbered 1, 2, 3..., at most one end
 * record, then at most one signature. A malformed record is FORGE_TRACE_INVALID; a well-formed
 * record that breaks the chain (changed, dropped, inserted, reordered) is FORGE_TRACE_TAMPERED;
 * both name the first bad line. Holds nothing but the chain's head, so a file of any length is
 * read in constant memory.
 */
export class TraceReader {
  #line = 0;
  #version: 1 | 2 | undefined;
  /** Hash of the last chained record ('' before the header). */
  #head = '';
  #calls = 0;
  #ended = false;
  #signed = false;

  /** Lines read so far. */
  get lines(): number {
    return this.#line;
  }

  /** Calls read so far. */
  get calls(): number {
    return this.#calls;
  }

  /** Whether the file is hash-chained (format 2); undefined before the header. */
  get chained(): boolean | undefined {
    return this.#version === undefined ? undefined : this.#version === 2;
  }

  /** The hash of the last chained record read: what a signature covers ('' for an unchained file). */
  get head(): string {
    return this.#head;
  }

  /** Whether the end record was read. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Checks the next line (without its newline) and returns its record. */
  next(raw: string): TraceRecord {
    this.#line += 1;
    const number = this.#line;
    if (number > traceFileLimits.maxEvents + 3)
      invalid(number, `a trace holds at most ${traceFileLimits.maxEvents} calls`);
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length > traceFileLimits.maxLineChars)
      invalid(number, `the line is over ${traceFileLimits.maxLineChars} characters`);
    if (line.trim() === '') invalid(number, 'blank line');
    if (this.#signed) invalid(number, 'records after the signature');
    if (this.#version === undefined) return this.#header(line, number);
    const value = jsonObject(line, number);
    const kind = value['kind'];
    if (kind === 'signature') return this.#signature(value, number);
    if (this.#ended) invalid(number, 'records after the end record');
    // The hash is checked after the fields: a malformed record is named for its bad field.
    const claimed = this.#version === 2 ? takeHash(value) : undefined;
    let record: TraceRecord;
    if (kind === 'end') {
      const { kind: _kind, code, droppedSeqs, ...rest } = parsed(EndSchema, value, number, 'end record');
      record = {
        kind: 'end',
        end: {
          ...rest,
          ...(code === undefined ? {} : { code }),
          ...(droppedSeqs === undefined ? {} : { droppedSeqs }),
        },
      };
    } else {
      if (kind !== 'call') invalid(number, 'expected a call or end record', 'kind');
      const fast = fastCallRecord(value);
      if (fast !== undefined) record = { kind: 'call', event: fast };
      else {
        const { kind: _kind, ...event } = parsed(EventSchema, value, number, 'call record');
        record = { kind: 'call', event: event as TraceEvent };
      }
    }
    if (this.#version === 2) this.#follow(line, claimed, number);
    if (record.kind === 'end') this.#ended = true;
    else {
      if (record.event.seq !== this.#calls + 1)
        invalid(number, `expected seq ${this.#calls + 1}, found ${record.event.seq}`, 'seq');
      this.#calls += 1;
    }
    return record;
  }

  #header(line: string, number: number): TraceRecord {
    const value = jsonObject(line, number);
    if (value['kind'] !== 'header') invalid(number, 'the first line is not a forgeone trace header', 'kind');
    const claimed = value['version'] === 2 ? takeHash(value) : undefined;
    const { kind: _kind, ...header } = parsed(HeaderSchema, value, number, 'trace header');
    if (header.version === 2) this.#follow(line, claimed, number);
    this.#version = header.version;
    // Parsed JSON holds no `undefined`: an optional field is there with a value, or absent.
    return { kind: 'header', header: header as TraceFileHeader };
  }

  #signature(value: Record<string, unknown>, number: number): TraceRecord {
    if (this.#version !== 2) invalid(number, 'a trace of format 1 has no hash chain to sign');
    if (!this.#ended) invalid(number, 'a signature comes after the end record');
    const { kind: _kind, ...signature } = parsed(SignatureSchema, value, number, 'signature');
    this.#signed = true;
    return { kind: 'signature', signature };
  }

  /** Checks a chained record's line against the chain and moves the head to it. */
  #follow(line: string, claimed: unknown, number: number): void {
    const chained = unchainLine(line);
    if (chained === undefined || chained.hash !== claimed)
      fail('FORGE_TRACE_TAMPERED', number, 'the record does not end with its hash: the chain is broken here');
    if (chainHash(this.#head, chained.body) !== chained.hash)
      fail(
        'FORGE_TRACE_TAMPERED',
        number,
        'the record does not match its hash: it was changed, or a record before it was removed, added or moved',
      );
    this.#head = chained.hash;
  }
}

/** Removes a chained record's `hash` field (its fields are checked without it) and returns it. */
function takeHash(value: Record<string, unknown>): unknown {
  const hash = value['hash'];
  delete value['hash'];
  return hash;
}
