import { ForgeError } from '@forgeone/common';
import type { PrivateKey } from '@forgeone/crypto';
import { signWithKernelKey } from '../internal/kernelSignature';
import { chainLine, traceSignatureMessage } from './traceChain';
import type { RecordedTrace, TraceSignature } from './traceFileSchema';

/** The format `traceToJsonl` writes: hash-chained records. */
export const TRACE_FORMAT_VERSION = 2;

/** How a trace is written. */
export interface TraceWriteOptions {
  /** A kernel key that signs the chain's head: the file's last line says who signed it. */
  readonly sign?: PrivateKey;
}

const toJson = (_key: string, value: unknown): unknown =>
  typeof value === 'bigint' ? value.toString() : value;

/** The signature line of a trace whose head hash is `head`, by `key`. */
export function signTraceHead(head: string, key: PrivateKey): TraceSignature {
  return signWithKernelKey(traceSignatureMessage(head), key);
}

/**
 * The lines of a trace file, one JSON record each: the header, each call, the end (bigints as
 * decimal strings), every one chained to the one before (`traceChain.ts`), then the signature
 * when a key is given. Yields line by line, so a long trace is never one string.
 */
export function* traceLines(trace: RecordedTrace, options: TraceWriteOptions = {}): Generator<string> {
  let head = '';
  const emit = (record: object): string => {
    const { line, hash } = chainLine(head, JSON.stringify(record, toJson));
    head = hash;
    return line;
  };
  yield emit({ kind: 'header', ...trace.header, version: TRACE_FORMAT_VERSION });
  for (const event of trace.events) yield emit({ kind: 'call', ...event });
  if (trace.end) yield emit({ kind: 'end', ...trace.end });
  if (options.sign !== undefined) {
    if (!trace.end)
      throw new ForgeError('FORGE_TRACE_INCOMPLETE', 'only a trace with its end record can be signed');
    yield JSON.stringify({ kind: 'signature', ...signTraceHead(head, options.sign) });
  }
}

/** A whole trace file as one string (see {@link traceLines}). */
export function traceToJsonl(trace: RecordedTrace, options: TraceWriteOptions = {}): string {
  let text = '';
  for (const line of traceLines(trace, options)) text += `${line}\n`;
  return text;
}
