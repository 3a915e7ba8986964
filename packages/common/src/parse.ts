import type { z } from 'zod';
import { ForgeError } from './forgeError';
import type { ForgeErrorCode } from './errorCodes/index';

/**
 * Parses outside input once, at the edge, into a typed value. A failure becomes one ForgeError
 * that names the first offending path, e.g. `limits.memoryPages: expected number, received string`.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  code: ForgeErrorCode = 'FORGE_INVALID_INPUT',
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  const extra = result.error.issues.length > 1 ? ` (+${result.error.issues.length - 1} more)` : '';
  throw new ForgeError(code, `invalid ${what} at ${path}: ${issue?.message ?? 'invalid value'}${extra}`, {
    cause: result.error,
    details: { path },
  });
}
