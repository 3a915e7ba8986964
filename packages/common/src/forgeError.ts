import { forgeErrorCodes, type ForgeErrorCode } from './errorCodes/index';

/** Structured, JSON-safe facts attached to an error (a path, a limit, an import name...). */
export type ForgeErrorDetails = Readonly<Record<string, string | number | boolean | null>>;

export interface ForgeErrorOptions {
  readonly cause?: unknown;
  readonly details?: ForgeErrorDetails;
}

/**
 * The one error type ForgeOne throws across package boundaries. `code` comes from a closed union,
 * so callers branch on it instead of parsing messages; `message` says what was wrong and what to do.
 */
export class ForgeError extends Error {
  override readonly name = 'ForgeError';
  readonly code: ForgeErrorCode;
  readonly details: ForgeErrorDetails;

  constructor(code: ForgeErrorCode, message: string, options: ForgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  /** The one-line form users see: `CODE: message`. */
  toLine(): string {
    return `${this.code}: ${oneLine(this.message)}`;
  }

  toJSON(): { code: ForgeErrorCode; message: string; details: ForgeErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `value` is a ForgeError, also across duplicated copies of this package. */
export function isForgeError(value: unknown): value is ForgeError {
  if (value instanceof ForgeError) return true;
  if (!(value instanceof Error) || value.name !== 'ForgeError') return false;
  const code: unknown = (value as Error & { code?: unknown }).code;
  return typeof code === 'string' && Object.hasOwn(forgeErrorCodes, code);
}

/**
 * Turns anything thrown into a ForgeError, keeping ForgeErrors as they are. Use at the edges
 * (CLI, HTTP, worker boundaries) so nothing unexpected escapes as a stack trace.
 */
export function toForgeError(value: unknown, fallback: ForgeErrorCode = 'FORGE_INTERNAL'): ForgeError {
  if (isForgeError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new ForgeError(fallback, message, { cause: value });
}

/** What a code means, for help texts and docs. */
export function describeErrorCode(code: ForgeErrorCode): string {
  return forgeErrorCodes[code];
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
