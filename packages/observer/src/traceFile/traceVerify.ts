import { ForgeError } from '@forgeone/common';
import { defaultAlgorithms, type AlgorithmRegistry, type PublicKey } from '@forgeone/crypto';
import { verifyKernelSignature } from '../internal/kernelSignature';
import { traceSignatureMessage } from './traceChain';
import { traceFileRecords } from './traceFileStream';
import { TraceReader } from './traceReader';
import type { TraceSignature } from './traceFileSchema';

/** What `verifyTraceFile` found: an intact, complete chain, and who signed it. */
export interface TraceVerification {
  /** Records in the chain (header, calls, end). */
  readonly records: number;
  readonly calls: number;
  /** Hash of the end record: it commits to every record of the file. */
  readonly head: string;
  /** The signature line, if any; `verified` says whether it was checked against a given key. */
  readonly signature?: TraceSignature & { readonly verified: boolean };
}

/** How a trace is verified. */
export interface VerifyTraceOptions {
  /** The kernel key the trace must be signed by: without a valid signature by it, the file fails. */
  readonly key?: PublicKey;
  readonly registry?: AlgorithmRegistry;
}

/** Whether `signature` is a valid signature by `key` over a trace whose head hash is `head`. */
export function verifyTraceSignature(
  head: string,
  signature: TraceSignature,
  key: PublicKey,
  registry: AlgorithmRegistry = defaultAlgorithms,
): boolean {
  return verifyKernelSignature(traceSignatureMessage(head), signature, key, registry);
}

/**
 * Checks a trace file end to end, streaming it: every record against the hash chain (the first bad
 * one is named), that the run's end record is there (a file cut short has none), and, given a key,
 * the signature over the head. Throws the first failure as a ForgeError: FORGE_TRACE_INVALID,
 * FORGE_TRACE_TAMPERED, FORGE_TRACE_UNCHAINED (format 1 has no chain to check),
 * FORGE_TRACE_INCOMPLETE, FORGE_TRACE_UNSIGNED or FORGE_TRACE_SIGNATURE.
 */
export async function verifyTraceFile(
  path: string,
  options: VerifyTraceOptions = {},
): Promise<TraceVerification> {
  const reader = new TraceReader();
  let signature: TraceSignature | undefined;
  for await (const record of traceFileRecords(path, reader)) {
    if (record.kind === 'header' && !reader.chained)
      throw new ForgeError(
        'FORGE_TRACE_UNCHAINED',
        `${path} is a trace of format 1, written before traces were hash-chained: there is nothing to verify`,
        { details: { path } },
      );
    if (record.kind === 'signature') signature = record.signature;
  }
  if (!reader.ended)
    throw new ForgeError(
      'FORGE_TRACE_INCOMPLETE',
      `${path} has no end record after line ${reader.lines}: the file was cut short (or its run never finished writing it)`,
      { details: { path, line: reader.lines } },
    );
  const records = reader.lines - (signature === undefined ? 0 : 1);
  const key = options.key;
  if (key !== undefined) {
    if (signature === undefined)
      throw new ForgeError(
        'FORGE_TRACE_UNSIGNED',
        `${path} is not signed, so it cannot be checked against a key`,
        {
          details: { path },
        },
      );
    if (signature.keyId !== key.keyId)
      throw new ForgeError(
        'FORGE_TRACE_SIGNATURE',
        `${path} is signed by key ${signature.keyId.slice(0, 16)}…, not by the given key ${key.keyId.slice(0, 16)}…`,
        { details: { path, keyId: signature.keyId } },
      );
    if (!verifyTraceSignature(reader.head, signature, key, options.registry))
      throw new ForgeError(
        'FORGE_TRACE_SIGNATURE',
        `${path}: the signature does not verify: the file was changed after it was signed, or the signature was forged`,
        { details: { path, keyId: signature.keyId } },
      );
  }
  return {
    records,
    calls: reader.calls,
    head: reader.head,
    ...(signature === undefined ? {} : { signature: { ...signature, verified: key !== undefined } }),
  };
}
