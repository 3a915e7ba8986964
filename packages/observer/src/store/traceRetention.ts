import { ForgeError } from '@forgeone/common';

/** How much of one container's trace the store keeps; past either bound the oldest events go (and are counted). */
export interface TraceRetention {
  /** Most events kept. Default 1,000,000. */
  readonly maxEvents?: number;
  /** Most bytes (of stored JSON) kept. Default 256 MiB. */
  readonly maxBytes?: number;
}

/** Defaults and bounds of a durable trace (one owner: core and the CLI read them from here). */
export const traceStoreLimits = {
  defaultMaxEvents: 1_000_000,
  defaultMaxBytes: 256 * 1024 * 1024,
  /** The smallest bounds accepted: one entry's worth. */
  minMaxEvents: 1,
  minMaxBytes: 64 * 1024,
  maxMaxEvents: 1_000_000_000,
  maxMaxBytes: 64 * 1024 * 1024 * 1024,
  /** Events waiting for the store, by default; past it newer events are counted as lost, not kept. */
  defaultMaxPending: 262_144,
  maxMaxPending: 16_777_216,
  /** Events per log entry, at most (an entry also stays under the store's value limit). */
  entryEvents: 1024,
} as const;

function bounded(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ForgeError(
      'FORGE_TRACE_STORE_INVALID',
      `durable trace option ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value) ?? String(value)}`,
      { details: { option: name } },
    );
  }
  return value;
}

/** A retention with its defaults applied, checked. */
export function checkTraceRetention(retention: TraceRetention = {}): Required<TraceRetention> {
  const l = traceStoreLimits;
  return {
    maxEvents: bounded(
      'maxEvents',
      retention.maxEvents ?? l.defaultMaxEvents,
      l.minMaxEvents,
      l.maxMaxEvents,
    ),
    maxBytes: bounded('maxBytes', retention.maxBytes ?? l.defaultMaxBytes, l.minMaxBytes, l.maxMaxBytes),
  };
}

/** Checks the bound of events waiting for the store. */
export function checkMaxPending(value: unknown): number {
  return bounded(
    'maxPending',
    value ?? traceStoreLimits.defaultMaxPending,
    1,
    traceStoreLimits.maxMaxPending,
  );
}
