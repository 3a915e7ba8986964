import { ForgeError, type StoragePort } from '@forgeone/common';
import type { RunOutcome } from '@forgeone/execution';
import {
  checkTraceRetention,
  TraceSink,
  type StoredTraceHeader,
  type TraceRetention,
  type TraceSinkEnd,
} from '@forgeone/observer';

/**
 * How a run's or a container's trace is kept in the kernel's store (`trace/<containerId>`, read
 * back with observer's TraceStore). On by default when the kernel has a store; `false` turns it off.
 */
export interface DurableTraceOptions {
  /** How much of each trace is kept (default: observer's `traceStoreLimits`, 1,000,000 events, 256 MiB). */
  readonly retention?: TraceRetention;
  /** Events waiting for the store before newer ones are counted as lost (default 262,144). */
  readonly maxPending?: number;
}

/** What a run's report says about its durable trace. */
export interface StoredTraceReport {
  readonly containerId: string;
  readonly log: string;
  /** Every event up to this seq is in the store (or trimmed by retention, or counted as lost). */
  readonly acknowledgedSeq: number;
  readonly trimmed: number;
  readonly lost: number;
}

/**
 * The settings of one run's durable trace: the run's option over the kernel's, undefined when off.
 * Asking for one (an options object) on a kernel without a store is refused, not ignored.
 */
export function durableTraceSettings(
  store: StoragePort | undefined,
  kernel: false | DurableTraceOptions | undefined,
  run: false | DurableTraceOptions | undefined,
  where: string,
): DurableTraceOptions | undefined {
  if (run === false || (run === undefined && kernel === false)) return undefined;
  if (store === undefined) {
    if (run !== undefined) {
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        `${where} option durableTrace needs a kernel with a store: createKernel({ store }), e.g. a SqliteStore`,
        { details: { field: 'durableTrace' } },
      );
    }
    return undefined;
  }
  const settings = { ...(kernel === false ? {} : kernel), ...run };
  checkTraceRetention(settings.retention);
  return settings;
}

/** Opens the durable trace of a run or container. */
export function openDurableTrace(
  store: StoragePort,
  header: StoredTraceHeader,
  settings: DurableTraceOptions,
): Promise<TraceSink> {
  return TraceSink.open(store, {
    header,
    ...(settings.retention ? { retention: settings.retention } : {}),
    ...(settings.maxPending === undefined ? {} : { maxPending: settings.maxPending }),
  });
}

/** How a guest's run ended, as a trace's end record says it. */
export function traceEndOf(outcome: RunOutcome): TraceSinkEnd {
  return {
    status: outcome.status,
    exitCode: outcome.exitCode,
    ...(outcome.status === 'trapped' ? { code: outcome.error.code } : {}),
  };
}

/** A run's durable trace, as its report says it. */
export function storedTraceReport(sink: TraceSink): StoredTraceReport {
  const index = sink.index;
  return {
    containerId: index.containerId,
    log: index.log,
    acknowledgedSeq: index.acknowledgedSeq,
    trimmed: index.trimmed?.events ?? 0,
    lost: index.lost?.events ?? 0,
  };
}
