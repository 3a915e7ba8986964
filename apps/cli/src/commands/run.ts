import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ForgeError, SqliteStore, enforcementModes, storageLimits, type StoragePort } from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import { loadTrustRoot, readPackageFile, readRootFile } from '@forgeone/crypto';
import { createKernel } from '@forgeone/interface';
import { AllowListPdp, AuditLog, DEFAULT_AUDIT_LOG, enforcerSpecFromPolicyFile } from '@forgeone/trust';
import type { KvNamespaceChanges, RunKvReport, RunReport } from '@forgeone/core';
import {
  allSyscallNames,
  checkKvConfig,
  forgeKvSyscallNames,
  checkKvDurability,
  runWasmerCommand,
  watToWasm,
  type EnforcerSpec,
  type HostLimits,
  type PortablePreopen,
  type TypedValue,
} from '@forgeone/execution';
import { traceToJsonl } from '@forgeone/observer';
import { CliExit, printGuestLine, printJson, usageError, type CliIo } from '../cliIo';
import { integerFlag, parseGuestPath } from '../flagValues';
import { STATE_ENV } from './verify';
import { checkRunOptions, optionGiven, type RunContext, type RunFlags } from './runOptions';

const collect = (value: string, previous: string[]) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];
const repeat = (value: string, previous: string[]) => [...previous, value];

/** Calls a `--trace` run keeps (a report keeps the runtime's default); beyond, the file says which were dropped. */
const TRACE_FILE_CAPACITY = 1 << 20;

/** Lines of the trace listing (and of the event listing) printed at most; the rest is counted. */
const MAX_TRACE_LINES = 200;
/** Characters of an event's payload printed in the text report. */
const MAX_PAYLOAD_CHARS = 200;
/** The state directory of `--kv` runs when neither --state nor $FORGEONE_STATE names one. */
const DEFAULT_STATE_DIR = '.forgeone';

/** `forgeone run <module>`: run a module with every host call going through the gate. */
export function registerRun(program: Command, io: CliIo): void {
  program
    .command('run')
    .description('run a WebAssembly module (.forgepkg, .wasm or .wat) under the syscall gate')
    .argument('<module>', 'path to a .forgepkg, .wasm or .wat file')
    .argument('[guestArgs...]', 'arguments for the guest (after --)')
    .option('--root <root.json>', 'trust root a .forgepkg must verify against before anything runs')
    .option(
      '--policy <policy.yaml>',
      'decide every call with this ZTA policy (YAML or JSON) instead of --allow',
    )
    .option(
      '--allow <syscalls>',
      'allow these syscalls (comma-separated, repeatable; default deny), e.g. forge.log,wasi.*',
      collect,
      [],
    )
    .option(
      '--dir <host:guest[:ro]>',
      'preopen a host directory at a guest path (repeatable; :ro for read-only)',
      repeat,
      [],
    )
    .option('--env <K=V>', 'set a guest environment variable (repeatable)', repeat, [])
    .addOption(
      new Option('--mode <mode>', 'enforcement mode').choices([...enforcementModes]).default('enforce'),
    )
    .option('--call <export>', 'export to call instead of _start')
    .option('--args <values...>', 'arguments of the --call export (typed by its signature)')
    .option(
      '--timeout <ms>',
      'wall-clock deadline of the call, ms (default 1000)',
      integerFlag('--timeout', 1, 3_600_000),
    )
    .option(
      '--memory-pages <n>',
      'most 64 KiB pages of linear memory (default 256)',
      integerFlag('--memory-pages', 1, 65_536),
    )
    .addOption(
      new Option('--isolation <mode>', 'where the guest runs')
        .choices(['inline', 'worker'])
        .default('worker'),
    )
    .addOption(new Option('--backend <engine>', 'execution backend').choices(['v8', 'wasmer']).default('v8'))
    .option(
      '--kv <namespace>',
      'give the guest this kv namespace (forge.kv_*; the policy still decides each call), kept in --state',
    )
    .option(
      '--kv-durability <mode>',
      'when a kv write is kept: commit (default; in the store before kv_put returns, so it survives a crash) or relaxed-<N>ms (committed within N ms; a crash may lose the last N ms of writes)',
    )
    .option(
      '--state <dir>',
      `the state: a directory (holding kernel.db) or a .sqlite/.db file (default: $${STATE_ENV}). It keeps --kv namespaces (else in ./${DEFAULT_STATE_DIR}) and the audit log of the run's decisions, and a .forgepkg is checked against the versions installed in it (\`verify --install\`): an older one is refused (FORGE_PKG_ROLLBACK)`,
    )
    .option(
      '--audit <file.db>',
      `append every decision to the hash-chained audit log (log "${DEFAULT_AUDIT_LOG}") of this SQLite store; a run with state appends to <state>/kernel.db without it`,
    )
    .option('--trace <out.jsonl>', 'write every call (replayable with `forgeone replay`) to this file')
    .option('--json', 'print the run report as JSON')
    .action(async (modulePath: string, guestArgs: string[], flags: RunFlags, command: Command) => {
      const path = resolve(io.cwd, modulePath);
      const isPackage = /\.forgepkg$/i.test(modulePath);
      const context: RunContext = {
        backend: flags.backend,
        isolation: flags.isolation,
        mode: flags.mode,
        module: isPackage ? 'package' : 'module',
        kv: flags.kv !== undefined,
      };
      // Before anything is read or run: an option this run cannot honour is refused, not ignored.
      const source = (key: keyof RunFlags) => command.getOptionValueSource(key);
      checkRunOptions(context, (row) => optionGiven(row, { flags, source, context, guestArgs }));
      const wasi = {
        args: [basename(modulePath), ...guestArgs],
        env: parseEnv(flags.env),
        preopens: flags.dir.map((spec) => parseDir(io, spec)),
      };
      if (flags.backend === 'wasmer') {
        await runOnWasmer(io, path, modulePath, wasi, flags);
        return;
      }
      if (isPackage && flags.root === undefined)
        throw usageError('a .forgepkg runs only after it verifies: give --root <root.json>');
      // A bad name is one coded line, before any state directory is created.
      if (flags.kv !== undefined) checkKvConfig(flags.kv);
      const kvDurability =
        flags.kvDurability === undefined ? undefined : checkKvDurability(flags.kvDurability);
      // Any state there is (--state or $FORGEONE_STATE) keeps the run's audit trail and the
      // installed package versions: a package older than the one installed is refused, as
      // `verify` refuses it.
      const hasState = flags.state !== undefined || Boolean(io.env(STATE_ENV));
      const store = flags.kv !== undefined || hasState ? await openState(io, flags.state) : undefined;
      // Decisions go to --audit's store, else to the state's: a run with state keeps its audit trail.
      let auditStore: StoragePort | undefined;
      let kernel: Awaited<ReturnType<typeof createKernel>>;
      try {
        auditStore = flags.audit === undefined ? store : await SqliteStore.open(resolve(io.cwd, flags.audit));
        kernel = await createKernel({
          config: { mode: flags.mode },
          ...(store ? { store } : {}),
          ...(auditStore ? { audit: runAuditLog(auditStore) } : {}),
        });
      } catch (error) {
        if (auditStore !== store) await auditStore?.close();
        await store?.close();
        throw error;
      }
      // SIGINT / SIGTERM: end the guest; the run then keeps its kv writes and the store is closed below.
      io.onInterrupt?.({
        stop: (signal) => kernel.shutdown(`interrupted by ${signal}`),
        summary: () => kvInterruptSummary(kernel.runtime.kvEnded()),
      });
      const closeAuditStore = () => (auditStore !== store ? auditStore?.close() : undefined);
      try {
        const known = kernel.runtime.syscallNames();
        if (flags.policy !== undefined && flags.allow.length > 0)
          throw usageError('give either --policy or --allow, not both');
        // Checked here so that a typo or a bad policy is one coded line, before anything is loaded.
        const policy: EnforcerSpec =
          flags.policy === undefined
            ? { mode: flags.mode, policy: { kind: 'allow-list', allow: flags.allow } }
            : await enforcerSpecFromPolicyFile(resolve(io.cwd, flags.policy), flags.mode, {
                knownSyscalls: allSyscallNames(),
              });
        if (flags.policy === undefined) new AllowListPdp(flags.allow, { knownSyscalls: known });
        const limits: Partial<HostLimits> = {
          ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }),
          ...(flags.memoryPages === undefined ? {} : { maxMemoryPages: flags.memoryPages }),
        };
        const stdout = lineWriter((line) => printGuestLine(io, 'out', line));
        const stderr = lineWriter((line) => printGuestLine(io, 'err', line));
        const common = {
          name: basename(modulePath),
          policy,
          isolation: flags.isolation,
          limits,
          wasi,
          ...(flags.call ? { entry: flags.call } : {}),
          ...(flags.args ? { argText: flags.args } : {}),
          // A trace file keeps every call of a long run, not only the report's default 65,536.
          ...(flags.trace ? { traceCapacity: TRACE_FILE_CAPACITY } : {}),
          ...(flags.kv === undefined
            ? {}
            : {
                kv: {
                  namespace: flags.kv,
                  ...(kvDurability === undefined ? {} : { durability: kvDurability }),
                },
              }),
          ...(io.json
            ? {}
            : {
                onLog: (message: string) => io.out(message),
                onStdout: stdout.write,
                onStderr: stderr.write,
              }),
        };
        const report = isPackage
          ? await kernel.runtime.runModule({
              ...common,
              package: await readPackageFile(path),
              trustRoot: await loadTrustRoot([await readRootFile(resolve(io.cwd, flags.root!))]),
              ...(store === undefined ? {} : { versionStore: store }),
            })
          : await kernel.runtime.runModule({
              ...common,
              source: await readModuleFile(path),
              ...formatOf(modulePath),
            });
        stdout.end();
        stderr.end();
        // The file, the text report and --json are the same record of the calls.
        if (flags.trace) writeTraceFile(resolve(io.cwd, flags.trace), traceToJsonl(report.recorded));
        printReport(io, report);
        if (report.outcome.status === 'trapped') {
          if (!io.json) io.err(report.outcome.error.toLine());
          throw new CliExit(1, report.outcome.error.code);
        }
        if (report.outcome.exitCode !== 0) throw new CliExit(report.outcome.exitCode);
      } finally {
        await kernel.shutdown();
        await closeAuditStore();
      }
    });
}

/** A run's audit log: big batches, so that a flood of calls costs few transactions. */
function runAuditLog(store: StoragePort): AuditLog {
  return new AuditLog(store, { log: DEFAULT_AUDIT_LOG, maxBatch: storageLimits.maxAppendBatch });
}

function parseEnv(entries: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw usageError(`--env takes K=V, got '${entry}'`);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function parseDir(io: CliIo, spec: string): PortablePreopen {
  const parts = spec.split(':');
  const readOnly = parts.length === 3 && parts[2] === 'ro';
  if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && !readOnly) || !parts[0] || !parts[1]) {
    throw usageError(`--dir takes <host>:<guest>[:ro], got '${spec}'`);
  }
  const guestPath = parseGuestPath(parts[1], '--dir');
  return { kind: 'host', hostPath: resolve(io.cwd, parts[0]), guestPath, readOnly };
}

/** Splits streamed guest output into lines for the CLI's line-based output. */
function lineWriter(emit: (line: string) => void) {
  let pending = '';
  const decoder = new TextDecoder();
  return {
    write: (bytes: Uint8Array) => {
      pending += decoder.decode(bytes, { stream: true });
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        emit(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    },
    end: () => {
      pending += decoder.decode();
      if (pending !== '') emit(pending);
      pending = '';
    },
  };
}

/**
 * Opens the state database of a `--kv` run: `<dir>/kernel.db`, or the file itself when the path
 * is a file or names a .sqlite or .db file (as `verify --state` takes it, so both can share
 * $FORGEONE_STATE).
 */
async function openState(io: CliIo, flag: string | undefined): Promise<StoragePort> {
  const given = resolve(io.cwd, flag ?? (io.env(STATE_ENV) || DEFAULT_STATE_DIR));
  // An existing file is the database (as `verify --state` takes it); an existing directory holds
  // kernel.db; a new path is a file when it ends in .sqlite/.db, else a directory.
  const existing = statSync(given, { throwIfNoEntry: false });
  const isFile = existing ? existing.isFile() : /\.(?:sqlite3?|db)$/i.test(given);
  const dir = isFile ? dirname(given) : given;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ForgeError(
      'FORGE_STORAGE_IO',
      `cannot create the state directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? 'error'}; give --state <dir>`,
    );
  }
  return SqliteStore.open(isFile ? given : join(dir, 'kernel.db'));
}

function writeTraceFile(path: string, text: string): void {
  try {
    writeFileSync(path, text, { mode: 0o600 });
  } catch (error) {
    throw new ForgeError(
      'FORGE_TRACE_INVALID',
      `cannot write the trace to ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

/** `--backend wasmer`: the whole command runs on @wasmer/sdk, with coarse policy only. */
async function runOnWasmer(
  io: CliIo,
  path: string,
  modulePath: string,
  wasi: { args: string[]; env: Record<string, string>; preopens: PortablePreopen[] },
  flags: RunFlags,
): Promise<void> {
  // What wasmer cannot honour was refused by checkRunOptions, before this.
  if (typeof runWasmerCommand !== 'function') {
    throw new ForgeError(
      'FORGE_BACKEND_UNAVAILABLE',
      'the wasmer backend is not part of this build; use --backend v8',
    );
  }
  const source = await readModuleFile(path);
  const module =
    formatOf(modulePath).format === 'wat' ? await watToWasm(source, basename(modulePath)) : source;
  const result = await runWasmerCommand({
    module,
    args: wasi.args.slice(1),
    env: wasi.env,
    mounts: wasi.preopens.map((p) => ({
      hostDir: p.kind === 'host' ? p.hostPath : '',
      guestPath: p.guestPath,
      readOnly: p.readOnly ?? false,
    })),
    ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }),
  });
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
  } else {
    const out = lineWriter((line) => printGuestLine(io, 'out', line));
    out.write(result.stdout);
    out.end();
    const err = lineWriter((line) => printGuestLine(io, 'err', line));
    err.write(result.stderr);
    err.end();
  }
  if (outcome.status === 'trapped') {
    if (!io.json) io.err(outcome.error.toLine());
    throw new CliExit(1, outcome.error.code);
  }
  if (outcome.exitCode !== 0) throw new CliExit(outcome.exitCode);
}

/** Reads a module file, refusing a missing, empty or oversized one before reading it. */
export async function readModuleFile(path: string): Promise<Uint8Array> {
  const max = defaultRuntimeConfig().limits.maxModuleBytes;
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ForgeError('FORGE_WASM_NOT_FOUND', `${path} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof ForgeError) throw error;
    throw new ForgeError(
      'FORGE_WASM_NOT_FOUND',
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  // Checked before reading, so a huge file is never loaded into memory.
  if (size > max) {
    throw new ForgeError(
      'FORGE_WASM_LIMIT',
      `${path} is ${size} bytes, over the module size limit of ${max}`,
    );
  }
  if (size === 0) throw new ForgeError('FORGE_WASM_INVALID', `${path} is empty`);
  return new Uint8Array(await readFile(path));
}

/** The extension decides when there is one: a `.wasm` that is really text is refused, not parsed. */
export function formatOf(path: string): { format?: 'wasm' | 'wat' } {
  if (/\.wasm$/i.test(path)) return { format: 'wasm' };
  if (/\.wat$/i.test(path)) return { format: 'wat' };
  return {};
}

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

function printReport(io: CliIo, report: RunReport): void {
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
function kvInterruptSummary(ended: readonly KvNamespaceChanges[]): string | undefined {
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
