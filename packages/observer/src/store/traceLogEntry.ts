import { decisionActions, ForgeError, type DecisionAction, type JsonValue } from '@forgeone/common';
import type { TraceEvent } from '../traceEvent';
import { fastCallRecord } from '../traceFile/fastCallRecord';
import { EventSchema } from '../traceFile/traceFileSchema';

/**
 * One entry of a container's trace log: a batch of consecutive events in compact columns, with
 * what a query needs to skip it unread (seq and time range, the syscalls and decisions present).
 *
 *   { v: 1, first, last, n, t0, t1, sys: [names], dec: [actions], R: [reason lists],
 *     c: JSON text of { s: seq - first, y: sys index, a: dec index, x: executed 0/1, r: result,
 *          d: durationNs, t: time - t0, g: args, p: params | 0, e: R index, w: writes | 0, o: outcome | 0 } }
 *
 * Syscall names, decisions and reason lists are written once per entry; every column has `n` values.
 * The columns are one JSON text inside the entry: the store then checks and writes one string, not
 * thousands of small values (a third of the cost of a write), and a query that skips the entry on
 * its metadata never parses them.
 */
export interface TraceEntryMeta {
  readonly first: number;
  readonly last: number;
  readonly count: number;
  readonly t0: number;
  readonly t1: number;
  readonly syscalls: readonly string[];
  readonly decisions: readonly DecisionAction[];
}

export const TRACE_ENTRY_VERSION = 1;

const toJsonValue = (value: unknown): JsonValue =>
  typeof value === 'bigint' ? value.toString() : (value as JsonValue);

/** The JSON form of an event's arguments (bigints as decimal strings, as a trace file writes them). */
function argsJson(args: TraceEvent['args']): JsonValue {
  let big = false;
  for (const key in args) if (typeof args[key] === 'bigint') big = true;
  if (!big) return args as JsonValue;
  const out: Record<string, JsonValue> = {};
  for (const key in args) out[key] = toJsonValue(args[key]);
  return out;
}

function paramsJson(params: NonNullable<TraceEvent['params']>): JsonValue {
  for (const value of params) if (typeof value === 'bigint') return params.map(toJsonValue);
  return params as JsonValue;
}

/**
 * Whether two reason lists say the same (compared field by field; scores by identity, the gate
 * shares them): events built one by one carry equal lists that are not the same array, and
 * comparing with the previous event's is far cheaper than a JSON key per event.
 */
function sameReasons(a: TraceEvent['reasons'], b: TraceEvent['reasons']): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.policy !== y.policy || x.rule !== y.rule || x.message !== y.message || x.scores !== y.scores)
      return false;
    // Anything else a reason carries: compared the slow way.
    if (Object.keys(x).length !== Object.keys(y).length) return false;
  }
  return true;
}

/** Encodes consecutive events (seq ascending, at least one) as one log entry, and says its size in bytes. */
export function encodeTraceEntry(events: readonly TraceEvent[]): { data: JsonValue; bytes: number } {
  const sys: string[] = [];
  const sysIds = new Map<string, number>();
  const dec: DecisionAction[] = [];
  const reasonLists: JsonValue[] = [];
  const reasonIds = new Map<string, number>();
  // The gate hands the same reasons array for every call of a reused decision: known by identity first.
  const reasonsSeen = new Map<TraceEvent['reasons'], number>();
  let lastReasons: TraceEvent['reasons'] = [];
  let lastReasonId: number | undefined;
  const first = events[0]!.seq;
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const event of events) {
    if (event.time < t0) t0 = event.time;
    if (event.time > t1) t1 = event.time;
  }
  const s: number[] = [];
  const y: number[] = [];
  const a: number[] = [];
  const x: number[] = [];
  const r: JsonValue[] = [];
  const d: number[] = [];
  const t: number[] = [];
  const g: JsonValue[] = [];
  const p: JsonValue[] = [];
  const e: number[] = [];
  const w: JsonValue[] = [];
  const o: JsonValue[] = [];
  for (const event of events) {
    let id = sysIds.get(event.syscall);
    if (id === undefined) {
      id = sys.push(event.syscall) - 1;
      sysIds.set(event.syscall, id);
    }
    let action = dec.indexOf(event.action);
    if (action < 0) action = dec.push(event.action) - 1;
    let reasonId = event.reasons === lastReasons ? lastReasonId : reasonsSeen.get(event.reasons);
    if (reasonId === undefined && lastReasonId !== undefined && sameReasons(event.reasons, lastReasons)) {
      reasonId = lastReasonId;
      reasonsSeen.set(event.reasons, reasonId);
    }
    if (reasonId === undefined) {
      const reasons = event.reasons as unknown as JsonValue;
      const reasonKey = event.reasons.length === 0 ? '' : JSON.stringify(reasons);
      reasonId = reasonIds.get(reasonKey);
      if (reasonId === undefined) {
        reasonId = reasonLists.push(reasons) - 1;
        reasonIds.set(reasonKey, reasonId);
      }
      reasonsSeen.set(event.reasons, reasonId);
    }
    lastReasons = event.reasons;
    lastReasonId = reasonId;
    s.push(event.seq - first);
    y.push(id);
    a.push(action);
    x.push(event.executed ? 1 : 0);
    r.push(event.result);
    d.push(event.durationNs);
    t.push(event.time - t0);
    g.push(argsJson(event.args));
    p.push(event.params === undefined ? 0 : paramsJson(event.params));
    e.push(reasonId);
    w.push(event.writes === undefined ? 0 : (event.writes as unknown as JsonValue));
    o.push(event.outcome ?? 0);
  }
  const columns = JSON.stringify({ s, y, a, x, r, d, t, g, p, e, w, o });
  const data = {
    v: TRACE_ENTRY_VERSION,
    first,
    last: events[events.length - 1]!.seq,
    n: events.length,
    t0,
    t1,
    sys,
    dec,
    R: reasonLists,
    c: columns,
  };
  // The entry as the store writes it: the columns escaped inside, the rest small.
  const rest = JSON.stringify({ ...data, c: '' }).length;
  // Escaping inside a string adds one byte per quote and per backslash.
  let escaped = 0;
  for (let i = columns.indexOf('"'); i >= 0; i = columns.indexOf('"', i + 1)) escaped += 1;
  for (let i = columns.indexOf('\\'); i >= 0; i = columns.indexOf('\\', i + 1)) escaped += 1;
  return { data, bytes: rest + Buffer.byteLength(columns, 'utf8') + escaped };
}

/** FORGE_TRACE_STORE_CORRUPT for entry `logSeq` of `log`. */
export function corruptEntry(log: string, logSeq: number, message: string): ForgeError {
  return new ForgeError(
    'FORGE_TRACE_STORE_CORRUPT',
    `trace log ${log}, entry ${logSeq}: ${message.replace(/\s+/g, ' ').slice(0, 300)}; the store was damaged or edited outside ForgeOne`,
    { details: { log, entry: logSeq } },
  );
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isTime = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;
const ACTIONS: ReadonlySet<unknown> = new Set(decisionActions);
const COLUMNS = ['s', 'y', 'a', 'x', 'r', 'd', 't', 'g', 'p', 'e', 'w', 'o'] as const;

/** Checks an entry's envelope (not its events) and returns its metadata: what a query skips on. */
export function traceEntryMeta(data: unknown, log: string, logSeq: number): TraceEntryMeta {
  const bad = (message: string): never => {
    throw corruptEntry(log, logSeq, message);
  };
  if (!isObject(data)) bad('not a trace entry (an object)');
  const entry = data as Record<string, unknown>;
  if (entry['v'] !== TRACE_ENTRY_VERSION) bad(`unknown entry version ${JSON.stringify(entry['v'])}`);
  const { first, last, n, t0, t1, sys, dec, R, c } = entry;
  if (!isCount(first) || first < 1 || !isCount(last) || last < first) bad('bad seq range');
  if (!isCount(n) || n < 1 || n > (last as number) - (first as number) + 1) bad('bad event count');
  if (!isTime(t0) || !isTime(t1) || t1 < t0) bad('bad time range');
  if (!Array.isArray(sys) || sys.length < 1 || sys.length > (n as number)) bad('bad syscall list');
  if ((sys as unknown[]).some((name) => typeof name !== 'string')) bad('bad syscall list');
  if (!Array.isArray(dec) || dec.length < 1 || dec.some((action) => !ACTIONS.has(action)))
    bad('bad decision list');
  if (!Array.isArray(R) || R.length < 1) bad('bad reason lists');
  if (typeof c !== 'string') bad('no columns');
  return {
    first: first as number,
    last: last as number,
    count: n as number,
    t0: t0 as number,
    t1: t1 as number,
    syscalls: sys as string[],
    decisions: dec as DecisionAction[],
  };
}

/**
 * The events of an entry, each checked as a trace file checks a call record (the same schema), and
 * against the entry's metadata: seqs strictly ascending inside its range, times inside its range,
 * every syscall and decision listed. Anything else is FORGE_TRACE_STORE_CORRUPT.
 */
export function decodeTraceEntry(
  data: unknown,
  log: string,
  logSeq: number,
): { meta: TraceEntryMeta; events: TraceEvent[] } {
  const meta = traceEntryMeta(data, log, logSeq);
  const entry = data as Record<string, unknown>;
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry['c'] as string);
  } catch {
    throw corruptEntry(log, logSeq, 'its columns are not JSON');
  }
  if (!isObject(parsed)) throw corruptEntry(log, logSeq, 'no columns');
  for (const column of COLUMNS) {
    const values = parsed[column];
    if (!Array.isArray(values) || values.length !== meta.count)
      throw corruptEntry(log, logSeq, `column ${column} does not hold ${meta.count} values`);
  }
  const c = parsed as Record<(typeof COLUMNS)[number], unknown[]>;
  const reasonLists = entry['R'] as unknown[];
  const events: TraceEvent[] = [];
  let previous = meta.first - 1;
  for (let i = 0; i < meta.count; i += 1) {
    const bad = (message: string): never => {
      throw corruptEntry(log, logSeq, `event ${i}: ${message}`);
    };
    const offset = c.s[i];
    const syscall = meta.syscalls[c.y[i] as number];
    const action = meta.decisions[c.a[i] as number];
    const reasons = reasonLists[c.e[i] as number];
    const dt = c.t[i];
    if (!isCount(offset)) bad('bad seq');
    const seq = meta.first + (offset as number);
    if (seq <= previous || seq > meta.last) bad(`seq ${seq} is out of order or outside the entry's range`);
    previous = seq;
    if (syscall === undefined || action === undefined || reasons === undefined) bad('bad dictionary index');
    if (!isTime(dt) || meta.t0 + (dt as number) > meta.t1) bad('time outside the entry range');
    const executed = c.x[i];
    if (executed !== 0 && executed !== 1) bad('bad executed flag');
    const record: Record<string, unknown> = {
      kind: 'call',
      seq,
      syscall,
      args: c.g[i],
      action,
      executed: executed === 1,
      reasons,
      result: c.r[i],
      durationNs: c.d[i],
      time: meta.t0 + (dt as number),
    };
    if (c.p[i] !== 0) record['params'] = c.p[i];
    if (c.w[i] !== 0) record['writes'] = c.w[i];
    if (c.o[i] !== 0) record['outcome'] = c.o[i];
    let event = fastCallRecord(record);
    if (event === undefined) {
      const checked = EventSchema.safeParse(record);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        bad(`${issue?.path.map(String).join('.') || 'record'}: ${issue?.message ?? 'invalid'}`);
        continue;
      }
      const { kind: _kind, ...rest } = checked.data;
      event = rest as TraceEvent;
    }
    events.push(event);
  }
  if (previous !== meta.last) throw corruptEntry(log, logSeq, `its last event is not seq ${meta.last}`);
  return { meta, events };
}
