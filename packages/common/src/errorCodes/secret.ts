/** Codes raised by the encrypted secret store (@forgeone/config's SecretStore and `forgeone secret`). */
export const secretErrorCodes = {
  FORGE_SECRET_NAME_INVALID:
    'A secret name is not 1-64 characters of letters, digits, `.`, `_` and `-` starting with a letter.',
  FORGE_SECRET_VALUE_INVALID:
    'A secret value is empty, larger than 64 KiB, or not text (valid UTF-8 without NUL). Nothing was stored.',
  FORGE_SECRET_META_INVALID:
    "A secret's actor or reason is longer than 200 characters or holds control characters. Nothing was stored.",
  FORGE_SECRET_NOT_FOUND:
    'No secret of that name is defined in the store (a `secret:<name>` reference to it cannot resolve).',
  FORGE_SECRET_KEY_MISSING:
    'No key-encryption key was given: pass a key file, or a passphrase (environment variable or a prompt on a terminal).',
  FORGE_SECRET_KEY_WRONG:
    "The passphrase or key file is not the one the store's secrets are encrypted under. Nothing was decrypted.",
  FORGE_SECRET_KEY_ROTATED:
    'The store was rotated to another key since it was opened here; open it again with the new key. Nothing was written.',
  FORGE_SECRET_KEY_FILE_UNSAFE:
    'A key file is not a regular file (a symlink, a directory, a device) or others than its owner may read it (its mode must be 0600 or 0400).',
  FORGE_SECRET_KEY_FILE_INVALID:
    'A key file cannot be read, or does not hold exactly 32 bytes written in hex (64 digits) or base64.',
  FORGE_SECRET_KDF_REFUSED:
    'The key derivation parameters (scrypt N, r, p) are outside the bounds this version accepts (too weak, or a cost that would exhaust memory or time). Nothing was derived.',
  FORGE_SECRET_TAMPERED:
    'A stored secret failed authentication: its ciphertext, nonce, wrapped key or metadata was changed or corrupted. No value was returned.',
} as const;
