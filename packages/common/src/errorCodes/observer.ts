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
  FORGE_TRACE_STORE_CORRUPT:
    'A trace kept in the store is malformed or inconsistent: the store was damaged or edited outside ForgeOne.',
  FORGE_TRACE_STORE_NOT_FOUND: 'The store keeps no trace for the container named.',
  FORGE_TRACE_STORE_INVALID: 'A durable trace option (retention, queue bound, header) is out of bounds.',
  FORGE_TRACE_QUERY_INVALID: 'A trace query is malformed: a bad range, filter, page size or cursor.',
} as const;
