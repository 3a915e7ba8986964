import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseTraceJsonl, traceToJsonl, type RecordedTrace } from '../index';

const trace: RecordedTrace = {
  header: {
    format: 'forgeone-trace',
    version: 1,
    module: 'a'.repeat(64),
    entry: '_start',
    args: [{ type: 'i64', value: '5' }],
    containerId: 'ctr_x',
    recordedAt: 1,
  },
  events: [
    {
      seq: 1,
      syscall: 'wasi.fd_read',
      args: { fd: 3 },
      params: [3, 32, 1, 40n],
      action: 'allow',
      executed: true,
      reasons: [{ policy: 'allow-list', rule: 'wasi.*', message: 'ok' }],
      result: 0,
      durationNs: -1,
      time: 2,
      writes: [{ ptr: 40, bytes: 'AQAAAA==' }],
    },
  ],
  end: { status: 'exited', exitCode: 0, dropped: 0 },
};

describe('trace files (JSONL)', () => {
  it('round-trips a trace, bigints as decimal strings', () => {
    const text = traceToJsonl(trace);
    expect(text.split('\n')).toHaveLength(4);
    const back = parseTraceJsonl(text);
    expect(back.events[0]?.params).toEqual([3, 32, 1, '40']);
    expect(back.header).toEqual(trace.header);
    expect(back.end).toEqual(trace.end);
  });

  it('names the first bad line', () => {
    const lines = traceToJsonl(trace).trim().split('\n');
    expect(() => parseTraceJsonl([lines[0], '{"kind":"call","seq":2}'].join('\n'))).toThrow(/trace line 2/);
    expect(() => parseTraceJsonl('{}')).toThrow(expect.objectContaining({ code: 'FORGE_TRACE_INVALID' }));
    expect(() => parseTraceJsonl([lines[0], lines[2], lines[1]].join('\n'))).toThrow(
      /trace line 3: records after the end/,
    );
  });

  it('turns any text into a trace or FORGE_TRACE_INVALID, never anything else (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseTraceJsonl(text);
        } catch (error) {
          expect(error).toMatchObject({ code: 'FORGE_TRACE_INVALID' });
        }
      }),
    );
  });
});
