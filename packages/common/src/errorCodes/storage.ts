/** Codes raised by storage implementations behind the storage port. */
export const storageErrorCodes = {
  FORGE_STORAGE_INVALID: 'A log, namespace, key or value is malformed or over its limit.',
  FORGE_STORAGE_CONFLICT: 'A record changed since it was read (expected version did not match).',
  FORGE_STORAGE_CLOSED: 'The store was used after close().',
  FORGE_STORAGE_BUSY:
    'A synchronous commit was asked for while a transaction held the store; nothing was written, retry once it ends.',
  FORGE_STORAGE_IO: 'The underlying store failed to read or write; see the cause.',
  FORGE_STORAGE_CORRUPT: 'Stored data failed an integrity check.',
  FORGE_STORAGE_DRIVER_MISSING:
    'The storage driver (for example better-sqlite3) is not installed or failed to load.',
  FORGE_STORAGE_TRANSACTION:
    'A transaction was misused: the store was called from inside its own transaction, or a transaction handle was used after it ended.',
  FORGE_STORAGE_VERSION:
    'The store was written by a newer ForgeOne (its schema version is unknown to this one); upgrade ForgeOne.',
} as const;
