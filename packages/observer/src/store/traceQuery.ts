import { decisionActions, ForgeError, storageLimits, type DecisionAction } from '@forgeone/common';
import type { TraceEvent } from '../traceEvent';
import type { TraceEntryMeta } from './traceLogEntry';

/** Which events of one container's stored trace to read (every bound inclusive). */
export interface TraceQuery {
  readonly containerId: string;
  /** Only calls of these syscalls (e.g. `wasi.fd_write`). */
  readonly syscall?: string | readonly string[];
  /** Only calls with these decisions. */
  readonly decision?: DecisionAction | readonly DecisionAction[];
  readonly fromSeq?: number;
  readonly toSeq?: number;
  /** Wall-clock bounds of the call's time, ms since the epoch. */
  readonly since?: number;
  readonly until?: number;
  /** Events per page. Default 1,000, at most 10,000. */
  readonly limit?: number;
  /** Where the previous page stopped (its `next`). */
  readonly cursor?: string;
}

/** A query checked: what the reader matches entries and events with. */
export interface CheckedTraceQuery {
  readonly containerId: string;
  readonly syscalls: ReadonlySet<string> | undefined;
  readonly decisions: ReadonlySet<DecisionAction> | undefined;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly since: number;
  readonly until: number;
  readonly limit: number;
  /** Resume at this log entry, at events of this seq and above. */
  readonly resume: { readonly logSeq: number; readonly seq: number } | undefined;
}

const SYSCALL = /^[a-z][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;
const CURSOR = /^([1-9][0-9]{0,15}):([1-9][0-9]{0,15})$/;
const ACTIONS: ReadonlySet<string> = new Set(decisionActions);

function invalid(message: string, option: string): ForgeError {
  return new ForgeError('FORGE_TRACE_QUERY_INVALID', `trace query: ${message}`, { details: { option } });
}

function bound(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw invalid(`${name} must be a whole number >= 0, got ${JSON.stringify(value) ?? String(value)}`, name);
  return value;
}

const list = <T>(value: T | readonly T[] | undefined): readonly T[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? (value as readonly T[]) : [value as T];

/** Checks a query: a bad range, filter, page size or cursor is FORGE_TRACE_QUERY_INVALID. */
export function checkTraceQuery(query: TraceQuery): CheckedTraceQuery {
  const syscalls = list(query.syscall);
  for (const name of syscalls ?? [])
    if (typeof name !== 'string' || name.length > 256 || !SYSCALL.test(name))
      throw invalid(
        `${JSON.stringify(name).slice(0, 80)} is not a syscall name such as wasi.fd_write`,
        'syscall',
      );
  const decisions = list(query.decision);
  for (const action of decisions ?? [])
    if (!ACTIONS.has(action))
      throw invalid(
        `decision ${JSON.stringify(action).slice(0, 40)} is not one of ${decisionActions.join(', ')}`,
        'decision',
      );
  const fromSeq = bound('fromSeq', query.fromSeq, 1);
  const toSeq = bound('toSeq', query.toSeq, Number.MAX_SAFE_INTEGER);
  if (fromSeq > toSeq) throw invalid(`fromSeq ${fromSeq} is after toSeq ${toSeq}`, 'fromSeq');
  const since = bound('since', query.since, 0);
  const until = bound('until', query.until, Number.MAX_SAFE_INTEGER);
  if (since > until) throw invalid(`since ${since} is after until ${until}`, 'since');
  const limit = bound('limit', query.limit, storageLimits.defaultPage);
  if (limit < 1 || limit > storageLimits.maxPage)
    throw invalid(`limit must be from 1 to ${storageLimits.maxPage}, got ${limit}`, 'limit');
  let resume: CheckedTraceQuery['resume'];
  if (query.cursor !== undefined) {
    const match = typeof query.cursor === 'string' ? CURSOR.exec(query.cursor) : null;
    if (match === null) throw invalid('the cursor is not one a page of this query returned', 'cursor');
    resume = { logSeq: Number(match[1]), seq: Number(match[2]) };
  }
  return {
    containerId: query.containerId,
    syscalls: syscalls && new Set(syscalls),
    decisions: decisions && new Set(decisions),
    fromSeq,
    toSeq,
    since,
    until,
    limit,
    resume,
  };
}

/** The cursor of a page that stopped before event `seq` of log entry `logSeq`. */
export function traceCursor(logSeq: number, seq: number): string {
  return `${logSeq}:${seq}`;
}

/** Whether an entry may hold a match (its metadata says; false means skip it unread). */
export function entryMayMatch(query: CheckedTraceQuery, meta: TraceEntryMeta): boolean {
  if (meta.last < query.fromSeq || meta.first > query.toSeq) return false;
  if (meta.t1 < query.since || meta.t0 > query.until) return false;
  if (query.syscalls && !meta.syscalls.some((name) => query.syscalls!.has(name))) return false;
  if (query.decisions && !meta.decisions.some((action) => query.decisions!.has(action))) return false;
  return true;
}

/** Whether an event matches. */
export function eventMatches(query: CheckedTraceQuery, event: TraceEvent): boolean {
  return (
    event.seq >= query.fromSeq &&
    event.seq <= query.toSeq &&
    event.time >= query.since &&
    event.time <= query.until &&
    (query.syscalls === undefined || query.syscalls.has(event.syscall)) &&
    (query.decisions === undefined || query.decisions.has(event.action))
  );
}
