import { ForgeError, type ForgeErrorDetails } from '../forgeError';
import { storageLimits } from '../storagePort';

// Every store runs its arguments through these checks before touching data, so a value accepted by
// one implementation is accepted by all of them and reads back identically.

const DIGEST_PATTERN = /^[0-9a-f]{64}$/;
// With the `u` flag a surrogate pair is one code point, so this matches only unpaired halves, which
// UTF-8 (and so SQLite) cannot represent: they would silently turn into U+FFFD.
const LONE_SURROGATE = /\p{Cs}/u;

function invalid(message: string, details: ForgeErrorDetails = {}): ForgeError {
  return new ForgeError('FORGE_STORAGE_INVALID', message, { details });
}

/** A short, printable rendering of a rejected value for error messages. */
function show(value: unknown): string {
  if (typeof value === 'string') {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** Checks a log or namespace name against `storageLimits.namePattern`. */
export function checkName(what: 'log' | 'namespace', name: unknown): string {
  if (typeof name !== 'string' || !storageLimits.namePattern.test(name)) {
    throw invalid(
      `invalid ${what} name ${show(name)}: use 1-128 characters, a letter or digit first, ` +
        'then letters, digits or . _ : / -',
      { what },
    );
  }
  return name;
}

function checkText(what: string, text: unknown, allowEmpty: boolean): string {
  if (typeof text !== 'string') throw invalid(`${what} must be a string, got ${show(text)}`);
  if (!allowEmpty && text.length === 0) throw invalid(`${what} must not be empty`);
  if (text.includes('\0'))
    throw invalid(`${what} ${show(text)} contains a NUL character, which is not allowed`);
  if (LONE_SURROGATE.test(text)) {
    throw invalid(`${what} ${show(text)} contains an unpaired UTF-16 surrogate; use well-formed Unicode`);
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > storageLimits.maxKeyBytes) {
    throw invalid(`${what} is ${bytes} UTF-8 bytes; the limit is ${storageLimits.maxKeyBytes}`, { bytes });
  }
  return text;
}

/** Checks a record key: 1..maxKeyBytes UTF-8 bytes, no NUL, well-formed Unicode. */
export function checkKey(key: unknown): string {
  return checkText('record key', key, false);
}

/** Checks a listRecords `prefix` (may be empty) or `after` bound (a key). */
export function checkKeyBound(option: 'prefix' | 'after', value: unknown): string {
  return checkText(`listRecords option ${option}`, value, option === 'prefix');
}

/** Where in a value a problem is, from the problem up to the root (built only on failure). */
interface Problem {
  readonly problem: string;
  readonly segments: (string | number)[];
}

function formatPath(segments: readonly (string | number)[]): string {
  let path = '$';
  for (let i = segments.length - 1; i >= 0; i -= 1) {
    const key = segments[i]!;
    if (typeof key === 'number') path += `[${key}]`;
    else path += /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  }
  return path;
}

function problemOf(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'object':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `is ${value}; only finite numbers are JSON`;
    case 'undefined':
      return 'is undefined; use null or leave the property out';
    case 'bigint':
      return `is a bigint (${value}n); store it as a string or a number`;
    case 'function':
      return 'is a function';
    default:
      return 'is a symbol';
  }
}

/** Finds the first part of `value` that would not survive a JSON round trip unchanged. */
function findNonJson(value: unknown, ancestors: Set<object>): Problem | undefined {
  const scalar = problemOf(value);
  if (scalar !== undefined) return { problem: scalar, segments: [] };
  if (value === null || typeof value !== 'object') return undefined;
  if (ancestors.has(value)) return { problem: 'refers back to itself (a cycle)', segments: [] };
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i += 1) {
        if (!(i in value)) return { problem: 'is a hole in a sparse array', segments: [i] };
        const found = findNonJson(value[i], ancestors);
        if (found) {
          found.segments.push(i);
          return found;
        }
      }
      return undefined;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value.constructor as { name?: unknown } | undefined)?.name;
      const what = typeof name === 'string' && name ? name : 'class instance';
      return { problem: `is a ${what}; only plain objects and arrays are JSON`, segments: [] };
    }
    if (Object.getOwnPropertySymbols(value).length > 0) return { problem: 'has symbol keys', segments: [] };
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const found = findNonJson(record[key], ancestors);
      if (found) {
        found.segments.push(key);
        return found;
      }
    }
    return undefined;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * Serializes a value for storage. Rejects anything JSON would drop or change (NaN, Infinity,
 * undefined, functions, bigint, class instances, cycles, sparse arrays) and anything over
 * `storageLimits.maxValueBytes`; `describe()` names the value in the error. `-0` is stored as `0`,
 * as JSON has no negative zero.
 */
export function serializeValue(value: unknown, describe: () => string): string {
  const found = findNonJson(value, new Set());
  if (found) {
    const path = formatPath(found.segments);
    throw invalid(`${describe()} is not JSON: ${path} ${found.problem}`, { path });
  }
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    // Only reachable for pathological nesting depth (the engine's stack runs out).
    throw new ForgeError(
      'FORGE_STORAGE_INVALID',
      `${describe()} cannot be serialized: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes, so a short string cannot be over the limit: skip counting.
  if (json.length * 3 > storageLimits.maxValueBytes) {
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > storageLimits.maxValueBytes) {
      throw invalid(
        `${describe()} is ${bytes} bytes as JSON; the limit is ${storageLimits.maxValueBytes}. Store large data as a blob and keep its digest`,
        { bytes },
      );
    }
  }
  return json;
}

/** Checks the entries of one append call: a non-empty array of at most maxAppendBatch values. */
export function checkAppendBatch(data: unknown): readonly unknown[] {
  if (!Array.isArray(data)) throw invalid(`append takes an array of entries, got ${show(data)}`);
  if (data.length === 0) throw invalid('append needs at least one entry');
  if (data.length > storageLimits.maxAppendBatch) {
    throw invalid(
      `append got ${data.length} entries; the limit per call is ${storageLimits.maxAppendBatch}, so split the batch`,
    );
  }
  return data;
}

/** Checks a SHA-256 digest: 64 lower-case hex characters. */
export function checkDigest(digest: unknown): string {
  if (typeof digest !== 'string' || !DIGEST_PATTERN.test(digest)) {
    throw invalid(`invalid blob digest ${show(digest)}: expected 64 lower-case hex characters (SHA-256)`);
  }
  return digest;
}

/** Checks blob bytes: a Uint8Array of at most maxBlobBytes. */
export function checkBlob(bytes: unknown): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw invalid(`putBlob takes a Uint8Array, got ${show(bytes)}`);
  if (bytes.byteLength > storageLimits.maxBlobBytes) {
    throw invalid(`blob is ${bytes.byteLength} bytes; the limit is ${storageLimits.maxBlobBytes}`, {
      bytes: bytes.byteLength,
    });
  }
  return bytes;
}

function checkInteger(what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw invalid(`${what} must be an integer ${range}, got ${show(value)}`);
  }
  return value;
}

/** Checks a page size, applying the default when it is absent. */
export function checkPageLimit(limit: unknown): number {
  if (limit === undefined) return storageLimits.defaultPage;
  return checkInteger('limit', limit, 1, storageLimits.maxPage);
}

/** Checks readLog's `fromSeq`, defaulting to 1. */
export function checkFromSeq(fromSeq: unknown): number {
  if (fromSeq === undefined) return 1;
  return checkInteger('fromSeq', fromSeq, 1, Number.MAX_SAFE_INTEGER);
}

/** Checks trimLog's `beforeSeq`. */
export function checkBeforeSeq(beforeSeq: unknown): number {
  return checkInteger('beforeSeq', beforeSeq, 1, Number.MAX_SAFE_INTEGER);
}

/** Checks putRecord's `expectedVersion` (0 = must not exist). */
export function checkExpectedVersion(version: unknown): number | undefined {
  if (version === undefined) return undefined;
  return checkInteger('expectedVersion', version, 0, Number.MAX_SAFE_INTEGER);
}

/** Checks that an options argument is absent or an object, and returns it as a partial record. */
export function checkOptions<T extends object>(what: string, options: unknown): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid(`${what} options must be an object, got ${show(options)}`);
  }
  return options as Partial<T>;
}
