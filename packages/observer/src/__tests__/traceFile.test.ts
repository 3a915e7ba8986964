import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseTraceJsonl, traceToJsonl, type RecordedTrace } from '../index';

const trace: RecordedTrace = {
  header: {
    format: 'forgeone-trace',
    version: 2,
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
    // Reordered records break the hash chain at the first one out of place.
    expect(() => parseTraceJsonl([lines[0], lines[2], lines[1]].join('\n'))).toThrow(
      expect.objectContaining({
        code: 'FORGE_TRACE_TAMPERED',
        message: expect.stringMatching(/^trace line 2: /),
      }),
    );
    expect(() => parseTraceJsonl([lines[0], lines[1], lines[2], lines[1]].join('\n'))).toThrow(
      /trace line 4: records after the end/,
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

  it('refuses every field out of its bounds, naming the line and the field', () => {
    const [header, call, end] = traceToJsonl(trace).trim().split('\n') as [string, string, string];
    const edit = (line: string, change: (record: Record<string, unknown>) => void) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      change(record);
      return JSON.stringify(record);
    };
    const cases: [string, string, RegExp][] = [
      // A pointer past 2^32 once wrapped (ptr >>> 0) and replayed "successfully".
      [edit(call, (r) => (r.writes = [{ ptr: 2 ** 32 + 256, bytes: 'AQAAAA==' }])), 'writes.0.ptr', /2/],
      [
        edit(call, (r) => (r.writes = [{ ptr: 2 ** 32 - 2, bytes: 'AQAAAA==' }])),
        'writes.0.bytes',
        /past the end/,
      ],
      [edit(call, (r) => (r.writes = [{ ptr: 1.5, bytes: 'AQAAAA==' }])), 'writes.0.ptr', /expected int/],
      [edit(call, (r) => (r.writes = [{ ptr: 0, bytes: 'AQ=' }])), 'writes.0.bytes', /base64/],
      [edit(call, (r) => (r.seq = '1')), 'seq', /number/],
      [edit(call, (r) => (r.result = '12abc')), 'result', /./],
      [edit(call, (r) => (r.result = 2 ** 40)), 'result', /./],
      [edit(call, (r) => (r.params = [3, 32, 1, 2 ** 53 + 2])), 'params.3', /./],
      [edit(call, (r) => (r.params = [3, 32, 1, '0x28'])), 'params.3', /./],
      [edit(call, (r) => (r.durationNs = -2)), 'durationNs', /./],
      [edit(call, (r) => ((r.action = 'deny'), (r.executed = false))), 'writes', /did not execute/],
      [edit(call, (r) => (r.executed = false)), 'writes', /did not execute/],
      [edit(call, (r) => ((r.writes = []), (r.executed = false))), 'executed', /allowed call executes/],
      [edit(call, (r) => (r.syscall = 'rm -rf /')), 'syscall', /syscall name/],
      [edit(call, (r) => ((r.outcome = 'exit'), (r.result = '3'))), 'result', /exit code/],
    ];
    for (const [line, field, message] of cases) {
      expect(() => parseTraceJsonl([header, line, end].join('\n'))).toThrow(
        expect.objectContaining({
          code: 'FORGE_TRACE_INVALID',
          message: expect.stringMatching(new RegExp(`^trace line 2: ${field.replace('.', '\\.')}: .*`)),
        }),
      );
      try {
        parseTraceJsonl([header, line, end].join('\n'));
      } catch (error) {
        expect((error as Error).message).toMatch(message);
      }
    }
    expect(() =>
      parseTraceJsonl([edit(header, (r) => (r.args = [{ type: 'i64', value: 5 }])), call].join('\n')),
    ).toThrow(/^trace line 1: args\.0\.value: /);
    expect(() => parseTraceJsonl([header, edit(end, (r) => (r.code = 'rm'))].join('\n'))).toThrow(
      /^trace line 2: code: /,
    );
    // Blank lines move every line number a reader would be told: refused, except the last newline.
    expect(() => parseTraceJsonl([header, '', call].join('\n'))).toThrow(/^trace line 2: blank line/);
    expect(parseTraceJsonl(`${[header, call, end].join('\n')}\n`).events).toHaveLength(1);
  });
});
