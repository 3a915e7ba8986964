/**
 * Status codes every `forge.*` call returns to the guest (an i32). 0 is success; anything else is
 * an error the guest handles. Host exceptions never reach the guest.
 */
export const ForgeErrno = {
  OK: 0,
  /** The gate refused the call (policy). */
  DENIED: 1,
  /** A pointer or length lies outside the guest's memory. */
  FAULT: 2,
  /** An argument is malformed (bad UTF-8, out-of-range value). */
  INVALID: 3,
  /** A size is over the call's limit. */
  TOO_LARGE: 4,
  /** No such key, plugin or export. */
  NOT_FOUND: 5,
  /** The call would go over a quota (kv bytes or keys, events per run). */
  QUOTA: 6,
  /** The output buffer is too small; the length needed was written where the call says. */
  TOO_SMALL: 7,
  /** The called plugin trapped or failed before it could answer. */
  CALL_FAILED: 8,
  /** The called plugin is already running on this call stack, or the call depth is used up. */
  BUSY: 9,
  /** The host service behind the call failed (storage, event sink); try again later. */
  UNAVAILABLE: 10,
} as const;
export type ForgeErrno = (typeof ForgeErrno)[keyof typeof ForgeErrno];
