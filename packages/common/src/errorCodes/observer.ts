/** Codes raised by @forgeone/observer: traces, replay and snapshots. */
export const observerErrorCodes = {
  FORGE_TRACE_INVALID: 'A trace file or record is malformed.',
} as const;
