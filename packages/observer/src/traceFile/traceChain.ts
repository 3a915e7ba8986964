import { sha256Hex } from '@forgeone/crypto';

/**
 * The hash chain of a trace file (format 2). Every record line ends with the hash of the chain up to
 * and including it:
 *
 *   line_i = body_i without its closing brace + `,"hash":"` + h_i + `"}`
 *   h_0    = SHA-256(body_0)                      (the header)
 *   h_i    = SHA-256(h_{i-1} as 64 hex digits ‖ body_i)
 *
 * where body_i is the record's JSON text as written, without the hash field. The bytes are hashed
 * as they are in the file, so a reader needs no canonical form: change, drop, insert or reorder a
 * record and the chain breaks at that record (or the next one). The last hash (the head) commits to
 * the whole file; a kernel key can sign it (see `traceSignatureMessage`).
 */

const SUFFIX_START = ',"hash":"';
/** `,"hash":"` + 64 hex digits + `"}`. */
const SUFFIX_LENGTH = SUFFIX_START.length + 64 + 2;
const HEX64 = /^[0-9a-f]{64}$/;

/** The hash of a record whose body is `body`, after the record whose hash is `prev` ('' for the header). */
export function chainHash(prev: string, body: string): string {
  return sha256Hex(prev + body);
}

/** The line for `body` (one JSON object, as written) chained after `prev`, and its hash. */
export function chainLine(prev: string, body: string): { line: string; hash: string } {
  const hash = chainHash(prev, body);
  return { line: `${body.slice(0, -1)}${SUFFIX_START}${hash}"}`, hash };
}

/**
 * Splits a chained line into the body that was hashed and the hash it claims, or undefined when the
 * line does not end with a hash field (an unchained or reformatted record).
 */
export function unchainLine(line: string): { body: string; hash: string } | undefined {
  if (line.length <= SUFFIX_LENGTH + 1 || !line.endsWith('"}')) return undefined;
  const at = line.length - SUFFIX_LENGTH;
  if (line.slice(at, at + SUFFIX_START.length) !== SUFFIX_START) return undefined;
  const hash = line.slice(at + SUFFIX_START.length, line.length - 2);
  if (!HEX64.test(hash)) return undefined;
  return { body: `${line.slice(0, at)}}`, hash };
}

/** What a kernel key signs: the trace's head hash, with a domain prefix so it signs nothing else. */
export function traceSignatureMessage(head: string): Uint8Array {
  return new TextEncoder().encode(`forgeone-trace-signature:v1:${head}`);
}
