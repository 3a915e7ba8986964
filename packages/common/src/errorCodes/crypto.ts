/** Codes raised by @forgeone/crypto: signatures, keys, trust roots and ForgePkg. */
export const cryptoErrorCodes = {
  FORGE_CRYPTO_UNKNOWN_ALGORITHM: 'The signature algorithm is not registered.',
  FORGE_CRYPTO_BAD_KEY: 'Key bytes have the wrong length or encoding for their algorithm.',
  FORGE_CRYPTO_BAD_INPUT: 'A signing input (message, context or options) is malformed or over its limit.',
  FORGE_CRYPTO_JSON:
    'A JSON document is not valid JSON, is too deep or large, or cannot be canonicalized (RFC 8785).',

  FORGE_KEY_FORMAT: 'A key file, PEM, SPKI, PKCS#8 or JWK document is malformed or names another algorithm.',
  FORGE_KEY_PASSPHRASE:
    'The passphrase does not decrypt the key file (wrong passphrase, or the file was altered).',
  FORGE_KEY_PASSPHRASE_REQUIRED:
    'The key file is encrypted and no passphrase was given (set FORGEONE_PASSPHRASE).',
  FORGE_KEY_EXISTS: 'A key file already exists at the output path; refusing to overwrite it.',
  FORGE_KEY_IO: 'A key file could not be read or written.',

  FORGE_ROOT_INVALID:
    'A trust root is malformed: bad layout, unknown key id in a role, or an unusable threshold.',
  FORGE_ROOT_EXPIRED: 'The trust root has expired; obtain a newer root.',
  FORGE_ROOT_ROLLBACK: 'A trust root has a version lower than (or equal to) one already trusted.',
  FORGE_ROOT_CHAIN: 'A root in the rotation chain is not the next version of the one before it.',
  FORGE_ROOT_THRESHOLD:
    'A trust root lacks the signatures its own or its predecessor\u2019s root role requires.',
  FORGE_ROOT_BAD_SIGNATURE:
    'A trust root carries a signature that does not verify, or one from a key it does not know.',
  FORGE_ROOT_IO: 'A trust root file could not be read or written.',

  FORGE_REVOCATION_INVALID: 'A revocation list is malformed or not signed by a threshold of the root role.',
  FORGE_REVOCATION_ROLLBACK: 'A revocation list has a version lower than one already seen.',

  FORGE_PKG_OVERSIZED: 'The package file is larger than the total size limit.',
  FORGE_PKG_TRUNCATED: 'The package file ends before the structure its header declares.',
  FORGE_PKG_TRAILING_DATA:
    'The package file has bytes after its last section (it is longer than its structure).',
  FORGE_PKG_MAGIC: 'The file is not a ForgePkg (bad magic bytes).',
  FORGE_PKG_FORMAT_VERSION: 'The ForgePkg format version is not supported by this ForgeOne.',
  FORGE_PKG_MALFORMED: 'A ForgePkg section is malformed (reserved bits set, bad UTF-8, empty name...).',
  FORGE_PKG_LIMIT:
    'A ForgePkg declares more than a hard limit allows (entry count, manifest size, entry size, signatures).',
  FORGE_PKG_DUPLICATE_ENTRY: 'Two content entries of the package have the same name.',
  FORGE_PKG_ENTRY_NAME:
    'An entry name is absolute, contains `..` or `.`, a backslash, NUL or an empty segment.',
  FORGE_PKG_MANIFEST_INVALID:
    'The package manifest fails its schema (name, semver version, dates, entry...).',
  FORGE_PKG_NON_CANONICAL: 'The package manifest is not in canonical JSON form (RFC 8785).',
  FORGE_PKG_HASH_MISMATCH: 'A content entry does not match the SHA-256 or size in the manifest.',
  FORGE_PKG_MISSING_CONTENT: 'The manifest lists content the package does not contain.',
  FORGE_PKG_EXTRA_CONTENT: 'The package contains content the manifest does not list.',
  FORGE_PKG_UNSIGNED: 'The package carries no signature.',
  FORGE_PKG_UNKNOWN_SIGNER:
    'A package signature comes from a key the trust root does not list for the packages role.',
  FORGE_PKG_KEY_REVOKED: 'A package signature comes from a revoked key.',
  FORGE_PKG_BAD_SIGNATURE: 'A package signature does not verify (the package or the signature was altered).',
  FORGE_PKG_DUPLICATE_SIGNATURE: 'The same key signed the package more than once.',
  FORGE_PKG_THRESHOLD: 'The package lacks the signatures the packages role requires for some algorithm.',
  FORGE_PKG_EXPIRED: 'The package has expired (its expires_at is in the past).',
  FORGE_PKG_NOT_YET_VALID: 'The package is not valid yet (its created_at is in the future).',
  FORGE_PKG_ROLLBACK: 'The package version is lower than the version already installed.',
  FORGE_PKG_DEPENDENCY: 'A dependency of the package is not installed at a version its range accepts.',
  FORGE_PKG_SOURCE:
    'A package source directory is unusable (missing forgepkg.json, unreadable file, symlink...).',
  FORGE_PKG_IO: 'A package file could not be read or written.',
} as const;
