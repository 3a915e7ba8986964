import { ForgeError } from '@forgeone/common';

/**
 * A secret's name: a letter, then up to 63 letters, digits, `.`, `_` or `-`. Closed and short so a
 * name is safe in a storage key, a `secret:<name>` reference, a capability and a terminal line.
 */
export const SECRET_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

/** True when `text` is a valid secret name. */
export function isSecretName(text: unknown): text is string {
  return typeof text === 'string' && SECRET_NAME_PATTERN.test(text);
}

/** `text` as a secret name, or FORGE_SECRET_NAME_INVALID. */
export function parseSecretName(text: unknown): string {
  if (isSecretName(text)) return text;
  // The text is not echoed: a user who typed the value where the name goes must not see it printed.
  const shape = typeof text === 'string' ? `${text.length} character(s)` : typeof text;
  throw new ForgeError(
    'FORGE_SECRET_NAME_INVALID',
    `a secret name is 1-64 characters of letters, digits, '.', '_' and '-', starting with a letter (got ${shape})`,
  );
}
