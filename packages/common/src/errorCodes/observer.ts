/** Codes raised by @forgeone/observer: traces, replay and snapshots. */
export const observerErrorCodes = {
  FORGE_SUMMARY_BUDGET:
    'The token budget of a summary is out of bounds, or too small for what ran and how it ended.',
  FORGE_TRACE_INVALID: 'A trace file or record is malformed.',
  FORGE_TRACE_NOT_FOUND: 'The trace file named does not exist.',
  FORGE_TRACE_TAMPERED:
    'A trace record does not match the hash chain: it or a record before it was changed, dropped, added or moved.',
  FORGE_TRACE_UNCHAINED: 'The trace file predates hash chains (format 1): its integrity cannot be checked.',
  FORGE_TRACE_INCOMPLETE:
    'The trace has no end record: the file was cut short or its run never finished writing it.',
  FORGE_TRACE_UNSIGNED: 'A signature by a key was required, and the trace is not signed.',
  FORGE_TRACE_SIGNATURE: "The trace's signature is not by the given key, or does not verify.",
} as const;
