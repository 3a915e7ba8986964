/** Codes raised by @forgeone/config. */
export const configErrorCodes = {
  FORGE_CONFIG_INVALID: 'A configuration value is missing or malformed; the message names the path.',
} as const;
