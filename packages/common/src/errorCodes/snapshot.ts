/** Codes raised by snapshots (@forgeone/observer's file format, @forgeone/execution's capture and restore). */
export const snapshotErrorCodes = {
  FORGE_SNAPSHOT_UNSUPPORTED:
    'The container holds state a snapshot cannot capture (an open file, a table the guest changes, a reference global...); the message names it. Nothing was saved.',
  FORGE_SNAPSHOT_STATE:
    'The instance cannot be captured or restored now: it is not between calls, or its module was not compiled for snapshots.',
  FORGE_SNAPSHOT_INVALID:
    'A snapshot file is malformed, truncated or edited (its content digests do not match). Nothing was restored.',
  FORGE_SNAPSHOT_MISMATCH:
    'A snapshot was taken of another module, another version, or with other host state (preopens, kv namespace) than the instance it is restored into. Nothing was restored.',
  FORGE_SNAPSHOT_LIMIT:
    'A snapshot holds a memory larger than the limits allow the instance it is restored into. Nothing was restored.',
  FORGE_SNAPSHOT_UNSIGNED: 'A signature by a key was required, and the snapshot is not signed.',
  FORGE_SNAPSHOT_SIGNATURE: "The snapshot's signature is not by the given key, or does not verify.",
} as const;
