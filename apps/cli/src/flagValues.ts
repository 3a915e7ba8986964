import { posix, resolve } from 'node:path';
import { isCanonicalGuestPath } from '@forgeone/execution';
import { usageError, type CliIo } from './cliIo';

/** Decimal digits only: `1e3`, `0x10`, `1.5`, `+5`, ` 5` and `` are not numbers on a command line. */
const DECIMAL_INTEGER = /^[0-9]+$/;

/**
 * The one parser of numeric flag values, for every command: a decimal integer in [min, max], or
 * FORGE_CLI_USAGE naming the flag, the range and what was given. `Number()` alone would take
 * `1e3`, `0x10` and ` 12 `, so a value would mean different things to different flags.
 */
export function parseIntegerFlag(text: string, flag: string, min: number, max: number): number {
  const value = DECIMAL_INTEGER.test(text) ? Number(text) : Number.NaN;
  const shown = text.length > 40 ? `${text.slice(0, 40)}...` : text;
  if (Number.isNaN(value)) {
    throw usageError(
      `${flag} must be a whole number written in decimal digits (from ${min} to ${max}), got '${shown}'`,
    );
  }
  if (value < min) throw usageError(`${flag} must be ≥ ${min}, got ${shown}`);
  if (value > max) throw usageError(`${flag} must be ≤ ${max}, got ${shown}`);
  return value;
}

/** A commander argument parser for an integer flag (see parseIntegerFlag). */
export function integerFlag(flag: string, min: number, max: number): (text: string) => number {
  return (text) => parseIntegerFlag(text, flag, min, max);
}

/**
 * A guest path from the command line, which must already be canonical (absolute, plain segments,
 * no `.`, `..`, `//` or trailing `/`): a policy rule "under /data" is matched against this text,
 * so `/data/..` must not pass for a path under /data. Refused with the canonical form to write.
 */
export function parseGuestPath(text: string, flag: string): string {
  if (isCanonicalGuestPath(text)) return text;
  const canonical = canonicalForm(text);
  const hint =
    canonical === undefined
      ? 'an absolute path such as /data, of letters, digits and . _ ~ + -'
      : `write it as '${canonical}'`;
  throw usageError(`${flag} guest path '${text}' is not canonical: ${hint}`);
}

/** What `text` means as a guest path, when that is itself canonical. */
function canonicalForm(text: string): string | undefined {
  if (!text.startsWith('/')) return undefined;
  const canonical = posix.normalize(text).replace(/(?<=.)\/$/, '');
  return isCanonicalGuestPath(canonical) ? canonical : undefined;
}

/** Commander collector for an option that may be given several times (`--key a --key b`). */
export const repeatable = (value: string, previous: string[]): string[] => [...previous, value];

/** A repeatable flag whose values may also be comma-separated (`--allow a,b --allow c`). */
export const commaList = (value: string, previous: string[]): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

/** A path from the command line, resolved against the CLI's working directory. */
export function cliPath(io: CliIo, path: string): string {
  return resolve(io.cwd, path);
}

/** The environment variable naming the state (`run --state`, `verify --state`) when no flag does. */
export const STATE_ENV = 'FORGEONE_STATE';
