import { decisionActions } from '@forgeone/common';
import type { TraceEvent } from '../traceEvent';
import { traceFileLimits } from './traceFileSchema';

/**
 * A fast check of the common call record, written out by hand: it accepts a record only when the
 * zod `EventSchema` would accept it unchanged (a property test holds the two together), and says
 * `undefined` for anything else — a record it is unsure of goes to the schema, which accepts it or
 * names what is wrong. Reading a trace spent about 60% of its time in the schema; this takes the
 * common path without it.
 */

const U32_MAX = 2 ** 32 - 1;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;
const SYSCALL = /^[a-z][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;
const DECIMAL64 = /^-?(?:0|[1-9][0-9]{0,19})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ACTIONS: ReadonlySet<unknown> = new Set(decisionActions);
const OUTCOMES: ReadonlySet<unknown> = new Set(['exit', 'fault', 'limit']);
const KEYS: ReadonlySet<string> = new Set([
  'kind',
  'seq',
  'syscall',
  'args',
  'params',
  'action',
  'executed',
  'reasons',
  'result',
  'durationNs',
  'time',
  'writes',
  'outcome',
]);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function decimal64(value: string): boolean {
  if (!DECIMAL64.test(value)) return false;
  const big = BigInt(value);
  return big >= I64_MIN && big <= U64_MAX;
}

/** A raw wasm value: an i32 (as a signed or unsigned integer), an f32/f64, or a decimal 64-bit string. */
function wasmValue(value: unknown): boolean {
  if (typeof value === 'string') return decimal64(value);
  return finite(value) && (!Number.isInteger(value) || (value >= -(2 ** 31) && value <= U32_MAX));
}

function args(value: unknown): boolean {
  if (!isObject(value)) return false;
  let count = 0;
  for (const key in value) {
    count += 1;
    if (count > 64 || key.length > 256) return false;
    const arg = value[key];
    if (typeof arg === 'string') {
      if (arg.length > 64 * 1024) return false;
    } else if (!(finite(arg) || typeof arg === 'boolean' || arg === null)) return false;
  }
  return true;
}

function reasons(value: unknown): boolean {
  if (!Array.isArray(value) || value.length > 256) return false;
  for (const reason of value) {
    // Scores are rare: a reason carrying them is left to the schema.
    if (!isObject(reason) || reason['scores'] !== undefined) return false;
    for (const key in reason) if (key !== 'policy' && key !== 'rule' && key !== 'message') return false;
    const { policy, rule, message } = reason;
    if (typeof policy !== 'string' || policy.length > 1024) return false;
    if (rule !== undefined && (typeof rule !== 'string' || rule.length > 1024)) return false;
    if (typeof message !== 'string' || message.length > 64 * 1024) return false;
  }
  return true;
}

function writes(value: unknown): boolean {
  if (!Array.isArray(value) || value.length > traceFileLimits.maxWritesPerCall) return false;
  for (const write of value) {
    if (!isObject(write)) return false;
    for (const key in write) if (key !== 'ptr' && key !== 'bytes') return false;
    const { ptr, bytes } = write;
    if (!Number.isSafeInteger(ptr) || (ptr as number) < 0 || (ptr as number) > U32_MAX) return false;
    if (typeof bytes !== 'string' || !BASE64.test(bytes)) return false;
    const padding = bytes.endsWith('==') ? 2 : bytes.endsWith('=') ? 1 : 0;
    if ((ptr as number) + (bytes.length / 4) * 3 - padding > 2 ** 32) return false;
  }
  return true;
}

/** The call record `value` (its `kind` removed) when it is plainly valid; undefined when the schema must judge. */
export function fastCallRecord(value: Record<string, unknown>): TraceEvent | undefined {
  for (const key in value) if (!KEYS.has(key)) return undefined;
  if (value['kind'] !== 'call') return undefined;
  const { seq, syscall, params, action, executed, result, durationNs, time, outcome } = value;
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) return undefined;
  if (typeof syscall !== 'string' || syscall.length > 256 || !SYSCALL.test(syscall)) return undefined;
  if (!args(value['args']) || !reasons(value['reasons'])) return undefined;
  if (params !== undefined) {
    if (!Array.isArray(params) || params.length > 64) return undefined;
    // Indexed, not `every`: a hole in an array is a value to check, not one to skip.
    for (let i = 0; i < params.length; i += 1) if (!wasmValue(params[i])) return undefined;
  }
  if (!ACTIONS.has(action) || typeof executed !== 'boolean') return undefined;
  if (result !== null && !wasmValue(result)) return undefined;
  if (!Number.isSafeInteger(durationNs) || (durationNs as number) < -1) return undefined;
  if (!finite(time) || time < 0) return undefined;
  const recorded = value['writes'];
  if (recorded !== undefined && !writes(recorded)) return undefined;
  if (outcome !== undefined && !OUTCOMES.has(outcome)) return undefined;
  // What the gate records always holds together (the schema's refinements; any doubt: the schema).
  if (!executed && Array.isArray(recorded) && recorded.length > 0) return undefined;
  if (action === 'allow' && !executed && outcome === undefined) return undefined;
  if (outcome === 'limit' && executed) return undefined;
  if (outcome === 'exit' && (typeof result !== 'number' || result < 0 || result > U32_MAX)) return undefined;
  const { kind: _k, ...event } = value;
  return event as unknown as TraceEvent;
}
