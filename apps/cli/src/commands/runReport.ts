import { writeFileSync } from 'node:fs';
import { ForgeError } from '@forgeone/common';
import type { PrivateKey } from '@forgeone/crypto';
import type { KvNamespaceChanges, RunKvReport, RunReport } from '@forgeone/core';
import { forgeKvSyscallNames, type TypedValue, type WasmerRunResult } from '@forgeone/execution';
import { traceToJsonl } from '@forgeone/observer';
import { CliExit, printGuestLine, printJson, type CliIo } from '../cliIo';
import { lineWriter } from '../guestLines';

/** Lines of the trace listing (and of the event listing) printed at most; the rest is counted. */
export const MAX_TRACE_LINES = 200;
/** Characters of an event's payload printed in the text report. */
const MAX_PAYLOAD_CHARS = 200;

const valueText = (v: TypedValue) =>
  v.type === 'bytes' ? `bytes ${Buffer.from(v.value).toString('hex')}` : `${v.type} ${String(v.value)}`;

/** The `{ ok, code, message }` head of a run's JSON report, from how the guest ended. */
function outcomeFields(outcome: RunReport['outcome']) {
  const trapped = outcome.status === 'trapped';
  return {
    ok: !trapped && outcome.exitCode === 0,
    code: trapped ? outcome.error.code : 'OK',
    message: trapped ? outcome.error.message : `${outcome.status} with code ${outcome.exitCode}`,
  };
}

/** The exit code of a run a policy quarantined (a trap is 1, a usage error 2, an exit its own code). */
export const EXIT_QUARANTINED = 3;

/**
 * Ends the command as the guest ended: its error's code and line when it trapped, else its exit
 * code. A run a policy quarantined names its record and where it is kept, and exits 3.
 */
export function exitAsGuest(
  io: CliIo,
  outcome: RunReport['outcome'],
  quarantine?: { record: string; where: string },
): void {
  if (
    outcome.status === 'trapped' &&
    quarantine !== undefined &&
    outcome.error.code === 'FORGE_CONTAINER_QUARANTINED'
  ) {
    if (!io.json)
      io.err(
        `${outcome.error.toLine()}; quarantine record ${quarantine.record} kept in ${quarantine.where} (forgeone quarantine show ${quarantine.record})`,
      );
    throw new CliExit(EXIT_QUARANTINED, outcome.error.code);
  }
  if (outcome.status === 'trapped') {
    if (!io.json) io.err(outcome.error.toLine());
    throw new CliExit(1, outcome.error.code);
  }
  if (outcome.exitCode !== 0) throw new CliExit(outcome.exitCode);
}

/** The report of a run (text, or JSON with --json): the same record of the calls as `--trace`. */
export function printRunReport(io: CliIo, report: RunReport): void {
  const { outcome } = report;
  if (io.json) {
    printJson(io, {
      ...outcomeFields(outcome),
      containerId: report.containerId,
      module: report.moduleSha256,
      isolation: report.isolation,
      status: outcome.status,
      exitCode: outcome.exitCode,
      ...(outcome.status === 'trapped' ? { details: outcome.error.details } : {}),
      results: report.values.map((v) => ({
        type: v.type,
        value: v.type === 'bytes' ? Buffer.from(v.value).toString('base64') : v.value,
      })),
      logs: report.logs,
      stdout: Buffer.from(report.stdout).toString('utf8'),
      stderr: Buffer.from(report.stderr).toString('utf8'),
      dropped: report.recorded.end?.dropped ?? 0,
      ...(report.recorded.end?.droppedSeqs ? { droppedSeqs: report.recorded.end.droppedSeqs } : {}),
      calls: report.trace.map((e) => ({
        seq: e.seq,
        syscall: e.syscall,
        action: e.action,
        executed: e.executed,
        result: e.result,
        reasons: e.reasons,
      })),
      dna: report.dna,
      events: report.events.map((e) => ({
        name: e.name,
        payload: Buffer.from(e.payload).toString('base64'),
      })),
      ...(report.kv ? { kv: report.kv } : {}),
      ...(report.quarantine ? { quarantine: quarantineJson(report.quarantine) } : {}),
    });
    return;
  }
  const denied = report.trace.filter((e) => e.action !== 'allow').length;
  io.out(`--- trace: ${report.trace.length} call(s), ${denied} denied${droppedText(report)} ---`);
  const shown = report.trace.slice(0, MAX_TRACE_LINES);
  const width = Math.max(8, ...shown.map((e) => e.syscall.length));
  for (const event of shown) {
    const why = event.reasons[0]?.message ?? '';
    io.out(
      `#${String(event.seq).padEnd(3)} ${event.syscall.padEnd(width)}  ${event.action.padEnd(5)}  -> ${event.result ?? '-'}  ${why}`,
    );
  }
  if (report.trace.length > shown.length) io.out(`... ${report.trace.length - shown.length} more call(s)`);
  printEvents(io, report);
  for (const value of report.values) io.out(`=> ${valueText(value)}`);
  const ended =
    outcome.status === 'trapped'
      ? `trapped (${outcome.error.code})`
      : `${outcome.status}, exit code ${outcome.exitCode}`;
  io.out(`--- ${ended} ---`);
  const q = report.quarantine;
  if (q !== undefined) {
    const rules = q.firedRules.length > 0 ? q.firedRules.join(', ') : 'none named';
    io.out(
      `--- quarantined: ${q.reason} (record ${q.containerId}, rules ${rules}; held until ${new Date(q.deadline).toISOString()}) ---`,
    );
  }
}

/** A quarantine record in a run's JSON report: what it says, not the DNA it keeps (`quarantine show`). */
function quarantineJson(record: NonNullable<RunReport['quarantine']>) {
  return {
    record: record.containerId,
    state: record.state,
    reason: record.reason,
    firedRules: record.firedRules,
    quarantinedAt: record.quarantinedAt,
    deadline: record.deadline,
  };
}

/** The report of a `--backend wasmer` run: its output (or JSON), without calls, which it does not gate. */
export function printWasmerResult(io: CliIo, result: WasmerRunResult): void {
  const { outcome } = result;
  if (io.json) {
    printJson(io, {
      ...outcomeFields(outcome),
      backend: 'wasmer',
      module: result.moduleSha256,
      status: outcome.status,
      exitCode: outcome.exitCode,
      stdout: Buffer.from(result.stdout).toString('utf8'),
      stderr: Buffer.from(result.stderr).toString('utf8'),
    });
    return;
  }
  const out = lineWriter((line) => printGuestLine(io, 'out', line));
  out.write(result.stdout);
  out.end();
  const err = lineWriter((line) => printGuestLine(io, 'err', line));
  err.write(result.stderr);
  err.end();
}

/** `, N dropped (seq a-b, c)`: calls the gate saw that the report no longer holds. */
function droppedText(report: RunReport): string {
  const end = report.recorded.end;
  if (end === undefined || end.dropped === 0) return '';
  const ranges = end.droppedSeqs ?? [];
  const shown = ranges.slice(0, 8).map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`));
  const more = ranges.length > shown.length ? `, ... ${ranges.length - shown.length} more range(s)` : '';
  return `, ${end.dropped} dropped (seq ${shown.join(', ')}${more})`;
}

/** The events the guest emitted, what its kv namespace holds, and why kv calls failed without one. */
function printEvents(io: CliIo, report: RunReport): void {
  if (report.events.length > 0) {
    io.out(`--- events: ${report.events.length} ---`);
    const shown = report.events.slice(0, MAX_TRACE_LINES);
    const width = Math.max(...shown.map((e) => e.name.length));
    for (const event of shown) io.out(`${event.name.padEnd(width)}  ${payloadText(event.payload)}`);
    if (report.events.length > shown.length)
      io.out(`... ${report.events.length - shown.length} more event(s)`);
  }
  if (report.kv !== undefined) io.out(kvSummaryLine(report.kv));
  const kvNames: readonly string[] = forgeKvSyscallNames;
  const unbound = report.trace.some(
    (e) => e.executed && kvNames.includes(e.syscall) && e.args.namespace === null,
  );
  if (unbound)
    io.err('note: forge.kv_* calls answered DENIED: the run has no kv namespace (give --kv <name>)');
}

/** What an interrupted run kept, for the FORGE_INTERRUPTED line. */
export function kvInterruptSummary(ended: readonly KvNamespaceChanges[]): string | undefined {
  if (ended.length === 0) return undefined;
  return ended
    .map((kv) =>
      kv.kept
        ? `kv namespace ${kv.namespace} closed with every acknowledged write kept (${kv.written} written, ${kv.deleted} deleted)`
        : `kv namespace ${kv.namespace}: its last commit failed, relaxed writes of the last window may be lost`,
    )
    .join('; ');
}

/** The `--- kv ...` line: what the run changed in its namespace, calls that failed, what it holds. */
export function kvSummaryLine(kv: RunKvReport): string {
  const unavailable = kv.unavailable === undefined ? '' : `, ${kv.unavailable} call(s) unavailable`;
  return `--- kv ${kv.namespace}: ${kv.written} written, ${kv.deleted} deleted${unavailable}; holds ${kv.usage.keys} key(s), ${kv.usage.bytes} byte(s) ---`;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A payload as text when it is printable UTF-8, else as base64; shortened to one line. */
function payloadText(payload: Uint8Array): string {
  let text: string;
  try {
    text = strictUtf8.decode(payload);
    if (/\p{Cc}/u.test(text)) throw new Error('control characters');
  } catch {
    text = `base64:${Buffer.from(payload).toString('base64')}`;
  }
  return text.length > MAX_PAYLOAD_CHARS ? `${text.slice(0, MAX_PAYLOAD_CHARS)}...` : text;
}

/** Writes `--trace`: the report's recorded trace (every call, however it was streamed), as JSON lines. */
export function writeTraceFile(path: string, report: RunReport, key?: PrivateKey): void {
  // Signing needs the end record, which every finished run has: a failure here is not the disk's.
  const text = traceToJsonl(report.recorded, key === undefined ? {} : { sign: key });
  try {
    writeFileSync(path, text, { mode: 0o600 });
  } catch (error) {
    throw new ForgeError(
      'FORGE_TRACE_INVALID',
      `cannot write the trace to ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}
