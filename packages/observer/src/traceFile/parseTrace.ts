import { ForgeError } from '@forgeone/common';
import type { TraceEvent } from '../traceEvent';
import { traceFileRecords } from './traceFileStream';
import { TraceReader, type TraceRecord } from './traceReader';
import {
  traceFileLimits,
  type RecordedTrace,
  type TraceFileEnd,
  type TraceFileHeader,
  type TraceSignature,
} from './traceFileSchema';

/** A trace read from its file: the run, and what the file says about its integrity. */
export interface ParsedTrace extends RecordedTrace {
  /** Whether every record was checked against the hash chain (format 2). */
  readonly chained: boolean;
  /** Hash of the last record ('' for an unchained file). */
  readonly head: string;
  /** The signature line, not checked against any key (see `verifyTraceSignature`). */
  readonly signature?: TraceSignature;
}

/** Gathers checked records into a trace held in memory. */
class TraceCollector {
  header: TraceFileHeader | undefined;
  end: TraceFileEnd | undefined;
  signature: TraceSignature | undefined;
  readonly events: TraceEvent[] = [];

  add(record: TraceRecord): void {
    if (record.kind === 'header') this.header = record.header;
    else if (record.kind === 'call') this.events.push(record.event);
    else if (record.kind === 'end') this.end = record.end;
    else this.signature = record.signature;
  }

  trace(reader: TraceReader): ParsedTrace {
    return {
      header: this.header!,
      events: this.events,
      end: this.end,
      chained: reader.chained === true,
      head: reader.head,
      ...(this.signature === undefined ? {} : { signature: this.signature }),
    };
  }
}

/**
 * Parses a whole JSONL trace held in memory, with every check of {@link TraceReader} (bounds,
 * order, hash chain). Blank lines are refused except for the final newline.
 */
export function parseTraceJsonl(text: string): ParsedTrace {
  const fail = (message: string): never => {
    throw new ForgeError('FORGE_TRACE_INVALID', `trace line 1: ${message}`, { details: { line: 1 } });
  };
  if (text.length > traceFileLimits.maxFileBytes)
    fail(`the trace is over ${traceFileLimits.maxFileBytes} bytes`);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) fail('the trace is empty');
  const reader = new TraceReader();
  const collector = new TraceCollector();
  for (const line of lines) collector.add(reader.next(line));
  return collector.trace(reader);
}

/** Reads a trace file into memory, streamed and checked as {@link parseTraceJsonl} checks text. */
export async function readTraceFile(path: string): Promise<ParsedTrace> {
  const reader = new TraceReader();
  const collector = new TraceCollector();
  for await (const record of traceFileRecords(path, reader)) collector.add(record);
  return collector.trace(reader);
}
