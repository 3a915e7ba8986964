import { ForgeError } from '@forgeone/common';
import { decodeUtf8, utf8 } from './internal/bytes';

/** Deepest nesting canonicalJson and parseJson accept; manifests and roots need far less. */
export const MAX_JSON_DEPTH = 64;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The RFC 8785 (JCS) form of a JSON value: object keys sorted by UTF-16 code units, no whitespace,
 * ECMAScript number and string serialization. Throws FORGE_CRYPTO_JSON for values JSON cannot
 * carry (undefined, NaN, Infinity, bigint, lone surrogates, class instances) or nesting past 64.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, 0, parts);
  return parts.join('');
}

/** canonicalJson as UTF-8 bytes: what gets hashed and signed. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return utf8(canonicalJson(value));
}

/**
 * Parses UTF-8 JSON of at most `maxBytes` bytes. Every failure is FORGE_CRYPTO_JSON (or `code`),
 * never a SyntaxError or a stack overflow.
 */
export function parseJson(bytes: Uint8Array, maxBytes: number, what = 'JSON document'): unknown {
  if (bytes.length > maxBytes) {
    throw new ForgeError('FORGE_CRYPTO_JSON', `${what} is ${bytes.length} bytes; the limit is ${maxBytes}`);
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) throw new ForgeError('FORGE_CRYPTO_JSON', `${what} is not valid UTF-8`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ForgeError('FORGE_CRYPTO_JSON', `${what} is not valid JSON: ${(error as Error).message}`);
  }
  checkDepth(value, 0, what);
  return value;
}

/** True when `bytes` are exactly the canonical form of the JSON value they encode. */
export function isCanonicalJson(bytes: Uint8Array, value: unknown): boolean {
  const canonical = canonicalJsonBytes(value);
  return canonical.length === bytes.length && Buffer.compare(canonical, bytes) === 0;
}

function checkDepth(value: unknown, depth: number, what: string): void {
  if (typeof value !== 'object' || value === null) return;
  if (depth >= MAX_JSON_DEPTH) {
    throw new ForgeError('FORGE_CRYPTO_JSON', `${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  for (const child of Array.isArray(value) ? value : Object.values(value)) checkDepth(child, depth + 1, what);
}

function write(value: unknown, depth: number, out: string[]): void {
  if (value === null) return void out.push('null');
  switch (typeof value) {
    case 'boolean':
      return void out.push(value ? 'true' : 'false');
    case 'number':
      if (!Number.isFinite(value))
        throw new ForgeError('FORGE_CRYPTO_JSON', `cannot canonicalize the number ${value}`);
      return void out.push(JSON.stringify(value));
    case 'string':
      return void out.push(quote(value));
    case 'object':
      break;
    default:
      throw new ForgeError('FORGE_CRYPTO_JSON', `cannot canonicalize a value of type ${typeof value}`);
  }
  if (depth >= MAX_JSON_DEPTH)
    throw new ForgeError('FORGE_CRYPTO_JSON', `JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item: unknown, index) => {
      if (index > 0) out.push(',');
      write(item, depth + 1, out);
    });
    return void out.push(']');
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new ForgeError('FORGE_CRYPTO_JSON', 'cannot canonicalize a class instance; pass plain objects');
  }
  const record = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, which is the order RFC 8785 prescribes.
  const keys = Object.keys(record).sort();
  out.push('{');
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (!first) out.push(',');
    first = false;
    out.push(quote(key), ':');
    write(item, depth + 1, out);
  }
  out.push('}');
}

function quote(text: string): string {
  if (LONE_SURROGATE.test(text))
    throw new ForgeError('FORGE_CRYPTO_JSON', 'cannot canonicalize a string with a lone surrogate');
  return JSON.stringify(text);
}
