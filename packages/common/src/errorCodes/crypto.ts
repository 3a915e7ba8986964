/** Codes raised by @forgeone/crypto: signatures, keys, trust roots and ForgePkg. */
export const cryptoErrorCodes = {
  FORGE_CRYPTO_UNKNOWN_ALGORITHM: 'The signature algorithm is not registered.',
} as const;
