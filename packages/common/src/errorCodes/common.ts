/** Codes raised by @forgeone/common itself (ids, events, telemetry, input parsing). */
export const commonErrorCodes = {
  FORGE_INTERNAL: 'An unexpected internal failure; report it with the message.',
  FORGE_INVALID_INPUT: 'Input from outside failed validation; the message names the field.',
  FORGE_NOT_FOUND: 'The named thing does not exist.',
  FORGE_UNSUPPORTED: 'The operation is not supported by this implementation.',
} as const;
