import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { countTokens } from 'gpt-tokenizer';
import {
  LlmSummarySchema,
  formatSummary,
  summarizeTrace,
  type TraceEvent,
  type TraceRecord,
  type TraceFileEnd,
  type TraceRunContext,
} from '../../index';

const tokens = (text: string) => countTokens(text, { disallowedSpecial: new Set() });

type Call = Pick<TraceEvent, 'syscall'> & Partial<TraceEvent>;

/** The records of a run: a header, the calls (numbered), an end. */
function* records(
  calls: Iterable<Call>,
  end: TraceFileEnd | null = { status: 'exited', exitCode: 0, dropped: 0 },
  containerId = 'ctr_sum',
  run?: TraceRunContext,
): Generator<TraceRecord> {
  yield {
    kind: 'header',
    header: {
      format: 'forgeone-trace',
      version: 2,
      module: 'a'.repeat(64),
      entry: '_start',
      args: [{ type: 'string', value: 'hello' }],
      containerId,
      recordedAt: 1_800_000_000_000,
      ...(run === undefined ? {} : { run }),
    },
  };
  let seq = 0;
  for (const call of calls) {
    seq += 1;
    yield {
      kind: 'call',
      event: {
        seq,
        args: {},
        action: 'allow',
        executed: true,
        reasons: [],
        result: 0,
        durationNs: -1,
        time: 1_800_000_000_000 + seq,
        ...call,
      },
    };
  }
  if (end !== null) yield { kind: 'end', end };
}

const denied = (syscall: string, message: string): Call => ({
  syscall,
  action: 'deny',
  executed: false,
  result: 76,
  reasons: [{ policy: 'report-plugin', rule: 'no-secrets', message }],
});

describe('summarizeTrace', () => {
  it('states what ran, how it ended, what was refused and touched, each citing its calls', async () => {
    const calls: Call[] = [
      { syscall: 'wasi.path_open', args: { path: '/data/in.txt' } },
      { syscall: 'wasi.fd_read', args: { fd: 3, bytes: 100 } },
      denied('wasi.path_open', 'path /etc is outside the grant'),
      { syscall: 'wasi.fd_read', args: { fd: 3, bytes: 50 } },
      denied('wasi.path_open', 'path /etc is outside the grant'),
      { syscall: 'forge.kv_put', args: { key: 'counter' } },
      { syscall: 'forge.kv_get', args: { key: 'counter' } },
    ];
    const summary = await summarizeTrace(records(calls));
    expect(LlmSummarySchema.parse(summary)).toEqual(summary);
    expect(summary.outcome).toMatchObject({ status: 'exited', exitCode: 0, calls: 7, refused: 2 });
    expect(summary.refusals).toEqual([
      {
        syscall: 'wasi.path_open',
        action: 'deny',
        reasons: [{ policy: 'report-plugin', rule: 'no-secrets', message: 'path /etc is outside the grant' }],
        count: 2,
        seqs: [3, 5],
        range: [3, 5],
      },
    ]);
    expect(summary.resources).toEqual([
      { kind: 'file', name: '/data/in.txt', syscalls: ['wasi.path_open'], count: 1, seqs: [1] },
      { kind: 'kv', name: 'counter', syscalls: ['forge.kv_put', 'forge.kv_get'], count: 2, seqs: [6, 7] },
    ]);
    expect(summary.topCalls[0]).toEqual({ syscall: 'wasi.path_open', calls: 3, refused: 2, range: [1, 5] });
    expect(summary.topCalls[1]).toEqual({
      syscall: 'wasi.fd_read',
      calls: 2,
      refused: 0,
      bytes: 150,
      range: [2, 4],
    });
    const text = formatSummary(summary);
    expect(text).toContain('- It exited with code 0 after 7 calls, 2 refused [#1–#7].');
    expect(text).toContain(
      '- 2× wasi.path_open deny — report-plugin/no-secrets: "path /etc is outside the grant" [#3, #5]',
    );
    expect(text).toContain('- kv `counter` — forge.kv_put, forge.kv_get ×2 [#6, #7]');
    expect(summary.cut).toEqual([]);
    expect(tokens(text)).toBe(summary.tokens);
  });

  it('keeps a single refusal among 200,000 allowed calls under a small budget (rare facts first)', async () => {
    function* run(): Generator<Call> {
      for (let i = 1; i <= 200_000; i += 1)
        yield i === 123_456
          ? denied('wasi.sock_accept', 'no network')
          : { syscall: i % 2 ? 'wasi.fd_read' : 'wasi.fd_write', args: { fd: 3, bytes: 8 } };
    }
    const summary = await summarizeTrace(records(run()), { budget: 256 });
    expect(summary.tokens).toBeLessThanOrEqual(256);
    expect(summary.refusals).toEqual([
      expect.objectContaining({ syscall: 'wasi.sock_accept', seqs: [123_456] }),
    ]);
    expect(summary.anomalies).toContainEqual(
      expect.objectContaining({ kind: 'rare', syscall: 'wasi.sock_accept', seqs: [123_456] }),
    );
    expect(summary.cut.length).toBeGreaterThan(0);
    expect(formatSummary(summary)).toMatch(/## Cut for the budget\n- .*more/);
  });

  it('never exceeds its budget, as text or JSON, for any run (property)', async () => {
    const hostile = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom('<|endoftext|>', '\u001b[31mred', 'a\u202eb', '😀'.repeat(80)),
    );
    const call = fc.record({
      syscall: fc.constantFrom(
        'wasi.fd_read',
        'wasi.fd_write',
        'wasi.path_open',
        'forge.kv_get',
        'wasi.random_get',
      ),
      deny: fc.boolean(),
      path: fc.option(hostile, { nil: undefined }),
      message: hostile,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(call, { maxLength: 300 }),
        fc.integer({ min: 256, max: 2500 }),
        fc.constantFrom('text' as const, 'json' as const),
        fc.option(
          fc.record({
            subject: hostile,
            capabilities: fc.array(hostile, { maxLength: 40 }),
          }),
          { nil: undefined },
        ),
        async (calls, budget, format, context) => {
          const runContext: TraceRunContext | undefined = context && {
            identity: { subject: context.subject },
            capabilities: context.capabilities,
            decider: 'allow-list',
            mode: 'enforce',
            isolation: 'inline',
            limits: { memoryPages: 16 },
          };
          const run = calls.map((c): Call => ({
            ...(c.deny ? denied(c.syscall, c.message) : { syscall: c.syscall }),
            args: c.path === undefined ? {} : { path: c.path },
          }));
          // Any budget the bounds allow holds a summary: never an error, never a token over.
          const summary = await summarizeTrace(records(run, undefined, 'ctr_sum', runContext), {
            budget,
            format,
          });
          const printed = formatSummary(summary, format);
          expect(tokens(printed)).toBeLessThanOrEqual(budget);
          expect(summary.tokens).toBe(tokens(printed));
          // Nothing a guest wrote can drive a terminal: controls and bidi overrides are escaped.
          // eslint-disable-next-line no-control-regex
          expect(printed).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
          // Every refusal is either listed or counted as cut.
          const groups =
            summary.refusals.length + (summary.cut.find((c) => c.section === 'refusals')?.omitted ?? 0);
          const distinct = new Set(
            run.filter((c) => c.action === 'deny').map((c) => JSON.stringify([c.syscall, c.reasons])),
          ).size;
          expect(groups).toBe(distinct);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('never prints a secret, wherever the guest put it', async () => {
    const canary = 'CANARY-7f3a9c-secret';
    const calls: Call[] = [
      { syscall: 'wasi.path_open', args: { path: `/data/${canary}.txt` } },
      denied('forge.kv_get', `key ${canary} is not granted`),
      { syscall: 'forge.kv_put', args: { key: canary } },
    ];
    for (const format of ['text', 'json'] as const) {
      const summary = await summarizeTrace(records(calls, null, `ctr_${canary}`), {
        secrets: [canary],
        format,
      });
      const printed = formatSummary(summary, format);
      expect(printed).not.toContain(canary);
      expect(printed).toContain('[redacted]');
      expect(summary.outcome.status).toBe('unfinished');
    }
  });

  it('says what ran and under which grant, from the header: hostile values escaped, secrets redacted', async () => {
    const canary = 'CANARY-grant-secret';
    const run: TraceRunContext = {
      package: {
        name: 'acme/report',
        version: '1.2.0',
        signers: [{ algorithm: 'ed25519', keyId: 'b'.repeat(64) }],
      },
      identity: { subject: 'pkg:acme/report@1.2.0', tenant: `t-${canary}`, roles: ['\u001b[31mroot'] },
      capabilities: Array.from({ length: 40 }, (_, i) => `fs:read:/data/${i}`),
      decider: 'allow-list',
      mode: 'enforce',
      isolation: 'worker',
      limits: { memoryPages: 8, timeoutMs: 1000 },
    };
    const summary = await summarizeTrace(records([{ syscall: 'wasi.fd_write' }], undefined, 'ctr_g', run), {
      secrets: [canary],
    });
    expect(LlmSummarySchema.parse(summary)).toEqual(summary);
    const text = formatSummary(summary);
    expect(text).toContain('## What ran\n- Package: `acme/report@1.2.0` [header]');
    expect(text).toContain(`- Signed by: \`ed25519:${'b'.repeat(16)}\` [header]`);
    expect(text).toContain('(+24 more) [header]');
    expect(text).toContain('- Limits: `memoryPages 8`, `timeoutMs 1000` [header]');
    expect(text).not.toContain(canary);
    expect(text).toContain('\\u001b[31mroot');
    expect(summary.grant.find((g) => g.kind === 'capabilities')).toMatchObject({ more: 24 });
    // The grant is a section like the others: under a small budget it is cut, and said to be.
    const small = await summarizeTrace(records([{ syscall: 'wasi.fd_write' }], undefined, 'ctr_g', run), {
      budget: 256,
      format: 'json',
    });
    expect(tokens(formatSummary(small, 'json'))).toBeLessThanOrEqual(256);
    expect(small.grant.length + (small.cut.find((c) => c.section === 'grant')?.omitted ?? 0)).toBe(6);
  });

  it('is deterministic, and refuses a budget out of bounds with one coded line', async () => {
    const calls = Array.from({ length: 500 }, (_, i): Call => ({
      syscall: ['wasi.fd_read', 'wasi.fd_write', 'wasi.clock_time_get'][Math.floor(i / 100) % 3]!,
    }));
    const [a, b] = [await summarizeTrace(records(calls)), await summarizeTrace(records(calls))];
    expect(formatSummary(a)).toBe(formatSummary(b));
    // The mix shifts every 100 calls: the phases say so.
    expect(a.phases.map((p) => p.mix[0]!.syscall)).toEqual([
      'wasi.fd_read',
      'wasi.fd_write',
      'wasi.clock_time_get',
      'wasi.fd_read',
      'wasi.fd_write',
    ]);
    // Every budget near the least allowed: it fits, even with long export arguments (the head is
    // shortened, and says so); never exceeded.
    const refused = [denied('forge.log', 'a'), denied('forge.clock_now', 'b'), denied('forge.log', 'c')];
    const longArgs = (function* () {
      for (const record of records(refused))
        yield record.kind === 'header'
          ? {
              ...record,
              header: {
                ...record.header,
                entry: 'e'.repeat(1000),
                args: Array.from({ length: 40 }, () => ({ type: 'string' as const, value: 'x'.repeat(900) })),
              },
            }
          : record;
    })();
    const withLongArgs = [...longArgs];
    for (let budget = 256; budget <= 400; budget += 1) {
      for (const format of ['text', 'json'] as const) {
        const fitted = await summarizeTrace(records(refused), { budget, format });
        expect(tokens(formatSummary(fitted, format))).toBeLessThanOrEqual(budget);
        const long = await summarizeTrace(withLongArgs, { budget, format });
        expect(tokens(formatSummary(long, format))).toBeLessThanOrEqual(budget);
        if (long.run.args.length === 0) expect(long.cut).toContainEqual({ section: 'args', omitted: 16 });
      }
    }
    for (const budget of [0, 63, 255, 1.5, 1_000_001, Number.NaN])
      await expect(summarizeTrace(records(calls), { budget })).rejects.toMatchObject({
        code: 'FORGE_SUMMARY_BUDGET',
      });
  });
});
