import type { DecisionAction } from '@forgeone/common';
import type { StoredTraceHeader, TraceEvent } from '../../index';

export const T0 = 1_700_000_000_000;

/** A call as the gate records it: syscall and decision vary with the seq. */
export function call(seq: number, extra: Partial<TraceEvent> = {}): TraceEvent {
  const denied = seq % 7 === 0;
  const action: DecisionAction = denied ? 'deny' : 'allow';
  return {
    seq,
    syscall: seq % 3 === 0 ? 'wasi.fd_write' : seq % 3 === 1 ? 'wasi.clock_time_get' : 'forge.log',
    args: { fd: 1, note: 'é€😀'.repeat(seq % 3) },
    params: [1, 16, 1, seq],
    action,
    executed: !denied,
    reasons: denied
      ? [{ policy: 'allow-list', rule: 'deny-7', message: 'every seventh call is refused' }]
      : [{ policy: 'allow-list', rule: 'wasi.*', message: 'ok' }],
    result: denied ? 76 : 0,
    durationNs: seq % 2 === 0 ? -1 : 100 + seq,
    time: T0 + seq * 10,
    ...(seq % 5 === 0 && !denied ? { writes: [{ ptr: 64, bytes: 'AAECAw==' }] } : {}),
    ...extra,
  };
}

export const calls = (from: number, to: number): TraceEvent[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => call(from + i));

export function header(containerId = 'ctr_test'): StoredTraceHeader {
  return { module: 'c'.repeat(64), entry: '_start', args: [], containerId, recordedAt: T0 };
}
