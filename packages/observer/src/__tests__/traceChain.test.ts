import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generateKeyPair } from '@forgeone/crypto';
import {
  parseTraceJsonl,
  readTraceFile,
  traceToJsonl,
  verifyTraceFile,
  type RecordedTrace,
  type TraceEvent,
} from '../index';

const dir = mkdtempSync(join(tmpdir(), 'forge-trace-chain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
/** Writes `text` to a fresh file and returns its path. */
function file(text: string): string {
  files += 1;
  const path = join(dir, `t${files}.jsonl`);
  writeFileSync(path, text);
  return path;
}

function call(seq: number, extra: Partial<TraceEvent> = {}): TraceEvent {
  return {
    seq,
    syscall: seq % 2 === 0 ? 'wasi.fd_write' : 'wasi.clock_time_get',
    args: { fd: 1, note: 'é€😀'.repeat(seq % 5) },
    params: [1, 16, 1, 32],
    action: 'allow',
    executed: true,
    reasons: [{ policy: 'allow-list', rule: 'wasi.*', message: 'ok' }],
    result: 0,
    durationNs: 100 + seq,
    time: 1_700_000_000_000 + seq,
    ...extra,
  };
}

function traceOf(calls: number): RecordedTrace {
  return {
    header: {
      format: 'forgeone-trace',
      version: 2,
      module: 'c'.repeat(64),
      entry: '_start',
      args: [],
      containerId: 'ctr_chain',
      recordedAt: 1_700_000_000_000,
    },
    events: Array.from({ length: calls }, (_, i) => call(i + 1)),
    end: { status: 'exited', exitCode: 0, dropped: 0 },
  };
}

const text = traceToJsonl(traceOf(6));
const lines = text.trimEnd().split('\n');

/** The code and line of the failure of verifying `candidate`, or 'ok'. */
async function verdict(candidate: string): Promise<string> {
  try {
    await verifyTraceFile(file(candidate));
    return 'ok';
  } catch (error) {
    const { code, details } = error as { code: string; details?: { line?: number } };
    return details?.line === undefined ? code : `${code}@${details.line}`;
  }
}

/** A field of the record on `line` set to another valid value, the line re-serialised as an editor would. */
function edited(line: string, change: (record: Record<string, unknown>) => void): string {
  const record = JSON.parse(line) as Record<string, unknown>;
  change(record);
  return JSON.stringify(record);
}

describe('trace hash chain', () => {
  it('writes format 2 with a hash ending every record, and reads the head back', async () => {
    expect(lines).toHaveLength(8);
    for (const line of lines) expect(line).toMatch(/,"hash":"[0-9a-f]{64}"}$/);
    const parsed = parseTraceJsonl(text);
    expect(parsed.chained).toBe(true);
    expect(parsed.header.version).toBe(2);
    expect(parsed.head).toBe((JSON.parse(lines.at(-1)!) as { hash: string }).hash);
    expect(parsed.events.map((event) => event.args)).toEqual(traceOf(6).events.map((event) => event.args));
    await expect(verifyTraceFile(file(text))).resolves.toEqual({
      records: 8,
      calls: 6,
      head: parsed.head,
    });
  });

  it('names the record an editor changed, for any field changed to another valid value (property)', async () => {
    const changes: ((record: Record<string, unknown>) => void)[] = [
      (r) => (r['result'] = 1),
      (r) => (r['time'] = (r['time'] as number) + 1),
      (r) => (r['action'] = 'deny'),
      (r) => (r['args'] = { fd: 2 }),
      (r) => (r['entry'] = 'other'),
      (r) => (r['exitCode'] = 1),
      (r) => (r['containerId'] = 'ctr_other'),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: lines.length - 1 }),
        fc.nat({ max: changes.length - 1 }),
        async (at, pick) => {
          const changed = edited(lines[at]!, changes[pick]!);
          fc.pre(changed !== lines[at]);
          const candidate = lines.map((line, i) => (i === at ? changed : line)).join('\n');
          // A change the schema refuses is INVALID; any other is TAMPERED; both at the changed line.
          expect(await verdict(candidate)).toMatch(new RegExp(`^FORGE_TRACE_(TAMPERED|INVALID)@${at + 1}$`));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses records dropped, duplicated, moved or taken from another trace, and a file cut short (property)', async () => {
    const other = traceToJsonl({ ...traceOf(6), header: { ...traceOf(6).header, containerId: 'ctr_b' } })
      .trimEnd()
      .split('\n');
    const edit = fc.oneof(
      fc.nat({ max: lines.length - 1 }).map((i) => lines.filter((_, j) => j !== i)),
      fc.nat({ max: lines.length - 1 }).map((i) => [...lines.slice(0, i + 1), ...lines.slice(i)]),
      fc
        .tuple(fc.nat({ max: lines.length - 1 }), fc.nat({ max: lines.length - 1 }))
        .filter(([a, b]) => a !== b)
        .map(([a, b]) => lines.map((line, i) => (i === a ? lines[b]! : i === b ? lines[a]! : line))),
      fc.nat({ max: lines.length - 1 }).map((i) => lines.map((line, j) => (j === i ? other[i]! : line))),
      fc.nat({ max: text.length - 2 }).map((n) => [text.slice(0, n)]),
    );
    await fc.assert(
      fc.asyncProperty(edit, async (candidate) => {
        const joined = candidate.join('\n');
        fc.pre(joined.trimEnd() !== text.trimEnd());
        expect(await verdict(joined)).toMatch(/^FORGE_TRACE_(TAMPERED|INVALID|INCOMPLETE)/);
      }),
      { numRuns: 120 },
    );
  });

  it('reads a format-1 trace (no chain) but will not vouch for it', async () => {
    const v1 = lines
      .map((line) => {
        const { hash: _hash, ...record } = JSON.parse(line) as Record<string, unknown>;
        return JSON.stringify(record.kind === 'header' ? { ...record, version: 1 } : record);
      })
      .join('\n');
    const parsed = parseTraceJsonl(v1);
    expect(parsed).toMatchObject({ chained: false, head: '', header: { version: 1 } });
    expect(parsed.events).toHaveLength(6);
    expect(await verdict(v1)).toBe('FORGE_TRACE_UNCHAINED');
    // A format-2 header with its records stripped of their hashes is not a format-1 file.
    const stripped = v1.replace('"version":1', '"version":2');
    expect(await verdict(stripped)).toBe('FORGE_TRACE_TAMPERED@1');
  });
});

describe('trace signatures', () => {
  for (const algorithm of ['ed25519', 'ml-dsa-65', 'slh-dsa-sha2-128f'] as const) {
    it(`a trace signed by a kernel key (${algorithm}) verifies against that key only`, async () => {
      const key = generateKeyPair(algorithm);
      const signed = traceToJsonl(traceOf(3), { sign: key });
      const path = file(signed);
      const result = await verifyTraceFile(path, { key: key.publicKey });
      expect(result.signature).toMatchObject({ algorithm, keyId: key.keyId, verified: true });
      expect(result.records).toBe(5);
      // Without a key the signature is reported, not vouched for.
      expect((await verifyTraceFile(path)).signature?.verified).toBe(false);
      const stranger = generateKeyPair(algorithm);
      await expect(verifyTraceFile(path, { key: stranger.publicKey })).rejects.toMatchObject({
        code: 'FORGE_TRACE_SIGNATURE',
      });
    });
  }

  it('a rewritten, re-chained trace does not keep its signature, and an unsigned one fails a key check', async () => {
    const key = generateKeyPair('ed25519');
    const signature = traceToJsonl(traceOf(3), { sign: key }).trimEnd().split('\n').at(-1)!;
    // The attacker re-writes the run (a valid chain of their own) and keeps the old signature line.
    const forged = traceToJsonl({ ...traceOf(3), end: { status: 'exited', exitCode: 1, dropped: 0 } });
    await expect(
      verifyTraceFile(file(`${forged}${signature}\n`), { key: key.publicKey }),
    ).rejects.toMatchObject({
      code: 'FORGE_TRACE_SIGNATURE',
      message: expect.stringMatching(/does not verify/),
    });
    await expect(verifyTraceFile(file(forged), { key: key.publicKey })).rejects.toMatchObject({
      code: 'FORGE_TRACE_UNSIGNED',
    });
    // A signature is the last line, after the end record, once.
    const signed = traceToJsonl(traceOf(3), { sign: key });
    expect(await verdict(`${signed}${signature}\n`)).toBe('FORGE_TRACE_INVALID@7');
    const withoutEnd = signed.trimEnd().split('\n');
    withoutEnd.splice(4, 1);
    expect(await verdict(withoutEnd.join('\n'))).toBe('FORGE_TRACE_INVALID@5');
  });
});

describe('trace files on disk', () => {
  it('streams a trace over many chunks (characters split across chunk edges) to the same trace as the text', async () => {
    const big = traceToJsonl(traceOf(12_000));
    expect(big.length).toBeGreaterThan(3 * 1024 * 1024);
    const fromFile = await readTraceFile(file(big));
    const fromText = parseTraceJsonl(big);
    expect(fromFile.events).toHaveLength(12_000);
    expect(fromFile.head).toBe(fromText.head);
    expect(fromFile.events[9_999]).toEqual(fromText.events[9_999]);
  });

  it('says in one line why a path is no trace', async () => {
    await expect(readTraceFile(join(dir, 'missing.jsonl'))).rejects.toMatchObject({
      code: 'FORGE_TRACE_NOT_FOUND',
    });
    await expect(readTraceFile(dir)).rejects.toMatchObject({
      code: 'FORGE_TRACE_INVALID',
      message: /not a file/,
    });
    await expect(readTraceFile(file(''))).rejects.toMatchObject({
      code: 'FORGE_TRACE_INVALID',
      message: /empty/,
    });
    await expect(readTraceFile(file('\n\n'))).rejects.toMatchObject({ message: /trace line 1: blank line/ });
  });
});
