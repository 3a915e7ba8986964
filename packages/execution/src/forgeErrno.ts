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
} as const;
export type ForgeErrno = (typeof ForgeErrno)[keyof typeof ForgeErrno];
