import { basename, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { SqliteStore, enforcementModes, openStateStore, type StoragePort } from '@forgeone/common';
import type { LaunchSecrets } from '@forgeone/core';
import {
  defaultContainerLimits,
  limitBounds,
  limitsProblem,
  parseSecretName,
  type ContainerLimits,
  type ContainerLimitsInput,
} from '@forgeone/config';
import { loadTrustRoot, readPrivateKeyFile, readRootFile } from '@forgeone/crypto';
import { createKernel } from '@forgeone/interface';
import {
  DEFAULT_AUDIT_LOG,
  Redzone,
  enforcerSpecFromPolicyFile,
  type QuarantineRecord,
} from '@forgeone/trust';
import {
  allSyscallNames,
  checkKvConfig,
  checkKvDurability,
  moduleFileKind,
  runWasmerFile,
  type EnforcerSpec,
  type PortablePreopen,
} from '@forgeone/execution';
import { printGuestLine, usageError, type CliIo } from '../cliIo';
import { STATE_ENV, commaList, integerFlag, parseGuestPath } from '../flagValues';
import { lineWriter } from '../guestLines';
import { passphraseSource } from '../passphrase';
import { launchSecrets } from './runSecrets';
import { SECRET_PASSPHRASE_ENV } from './secret';
import { checkRunOptions, checkSnapshotRun, optionGiven, type RunContext, type RunFlags } from './runOptions';
import { runWithSnapshot } from './snapshot';
import { storedTraceLine } from './traceState';
import {
  exitAsGuest,
  kvInterruptSummary,
  printRunReport,
  printWasmerResult,
  writeTraceFile,
} from './runReport';

const collect = commaList;
const repeat = (value: string, previous: string[]) => [...previous, value];

/** Calls a `--trace` run keeps (a report keeps the runtime's default); beyond, the file says which were dropped. */
const TRACE_FILE_CAPACITY = 1 << 20;

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
      `wall-clock deadline of the call, ms (default ${defaultContainerLimits.timeoutMs})`,
      integerFlag('--timeout', limitBounds.timeoutMs.min, limitBounds.timeoutMs.max),
    )
    .option(
      '--memory-pages <n>',
      `most 64 KiB pages of linear memory (default ${defaultContainerLimits.memoryPages})`,
      integerFlag('--memory-pages', limitBounds.memoryPages.min, limitBounds.memoryPages.max),
    )
    .option(
      '--syscall-rate <n>',
      `syscalls per second before the guest is stopped, FORGE_LIMIT_SYSCALL_RATE (0: off; default ${defaultContainerLimits.syscallsPerSecond})`,
      limitFlag('--syscall-rate', 'syscallsPerSecond'),
    )
    .option(
      '--syscall-burst <n>',
      'calls one rate window allows: stopped past <n> calls within <n>/rate seconds (default: the rate, a one-second window)',
      limitFlag('--syscall-burst', 'syscallBurst'),
    )
    .option(
      '--max-open-fds <n>',
      `open WASI descriptors, stdio and preopens included (default ${defaultContainerLimits.maxOpenFds})`,
      limitFlag('--max-open-fds', 'maxOpenFds'),
    )
    .option(
      '--fuel <n>',
      'fuel per call: the guest is stopped after about <n> instructions, FORGE_LIMIT_FUEL (0: off, the default)',
      limitFlag('--fuel', 'fuel'),
    )
    .option(
      '--max-module-bytes <n>',
      `largest module accepted, bytes (default ${defaultContainerLimits.maxModuleBytes})`,
      limitFlag('--max-module-bytes', 'maxModuleBytes'),
    )
    .option(
      '--max-imports <n>',
      `most imports the module may declare (default ${defaultContainerLimits.maxImports})`,
      limitFlag('--max-imports', 'maxImports'),
    )
    .option(
      '--max-table-elements <n>',
      `largest table, in elements (default ${defaultContainerLimits.maxTableElements})`,
      limitFlag('--max-table-elements', 'maxTableElements'),
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
      '--secret <name>',
      'give the guest secret <name> from --state (forge.secret_read; the policy still decides each call, a .forgepkg needs secret:read:<name>); repeatable',
      repeat,
      [],
    )
    .option(
      '--secret-key-file <file>',
      `the key of the --secret values (default: a passphrase from $${SECRET_PASSPHRASE_ENV}, else a prompt)`,
    )
    .option(
      '--state <dir>',
      `the state: a directory (holding kernel.db) or a .sqlite/.db file (default: $${STATE_ENV}). It keeps --kv namespaces and the records of quarantined runs (else in ./${DEFAULT_STATE_DIR}) and the audit log of the run's decisions, and a .forgepkg is checked against the versions installed in it (\`verify --install\`): an older one is refused (FORGE_PKG_ROLLBACK)`,
    )
    .option(
      '--audit <file.db>',
      `append every decision to the hash-chained audit log (log "${DEFAULT_AUDIT_LOG}") of this SQLite store; a run with state appends to <state>/kernel.db without it`,
    )
    .option('--trace <out.jsonl>', 'write every call (replayable with `forgeone replay`) to this file')
    .option(
      '--trace-key <file.key>',
      'sign the --trace file with this kernel key (check it with `forgeone trace verify --key`)',
    )
    .option('--json', 'print the run report as JSON')
    .option(
      '--snapshot-out <s.fsnap>',
      'after the call, capture the container (memory, globals, WASI descriptors, DNA, trace position) into this snapshot file (inline isolation)',
    )
    .option(
      '--from-snapshot <s.fsnap>',
      'start the container from this snapshot (checked: same module, intact, within the limits), then make the --call',
    )
    .option('--snapshot-key <file.pub>', 'the kernel public key the --from-snapshot file must be signed by')
    .option('--snapshot-sign <file.key>', 'sign the --snapshot-out file with this kernel private key')
    .action(async (modulePath: string, guestArgs: string[], flags: RunFlags, command: Command) => {
      const file = resolve(io.cwd, modulePath);
      const context: RunContext = {
        backend: flags.backend,
        isolation: flags.isolation,
        mode: flags.mode,
        module: moduleFileKind(modulePath),
        kv: flags.kv !== undefined,
        secrets: flags.secret.length > 0,
      };
      // Before anything is read or run: an option this run cannot honour is refused, not ignored.
      const source = (key: keyof RunFlags) => command.getOptionValueSource(key);
      checkRunOptions(context, (row) => optionGiven(row, { flags, source, context, guestArgs }));
      checkSnapshotRun(flags, source);
      const wasi = {
        args: [basename(modulePath), ...guestArgs],
        env: parseEnv(flags.env),
        preopens: flags.dir.map((spec) => parseDir(io, spec)),
      };
      if (flags.backend === 'wasmer') {
        // What wasmer cannot honour was refused by checkRunOptions, before this.
        const result = await runWasmerFile({
          file,
          args: guestArgs,
          env: wasi.env,
          preopens: wasi.preopens,
          ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }),
        });
        printWasmerResult(io, result);
        exitAsGuest(io, result.outcome);
        return;
      }
      if (context.module === 'package' && flags.root === undefined)
        throw usageError('a .forgepkg runs only after it verifies: give --root <root.json>');
      if (flags.traceKey !== undefined && flags.trace === undefined)
        throw usageError('--trace-key signs the --trace file: give --trace <out.jsonl> too');
      // A key that cannot be read or unlocked stops the run before the guest starts.
      const traceKey =
        flags.traceKey === undefined
          ? undefined
          : await readPrivateKeyFile(resolve(io.cwd, flags.traceKey), { passphrase: passphraseSource(io) });
      // A bad name is one coded line, before any state directory is created.
      if (flags.kv !== undefined) checkKvConfig(flags.kv);
      for (const name of flags.secret) parseSecretName(name);
      const kvDurability =
        flags.kvDurability === undefined ? undefined : checkKvDurability(flags.kvDurability);
      // Any state there is (--state or $FORGEONE_STATE) keeps the run's audit trail and the
      // installed package versions: a package older than the one installed is refused, as
      // `verify` refuses it.
      const hasState = flags.state !== undefined || Boolean(io.env(STATE_ENV));
      const stateDir = resolve(io.cwd, flags.state ?? (io.env(STATE_ENV) || DEFAULT_STATE_DIR));
      const store =
        flags.kv !== undefined || flags.secret.length > 0 || hasState
          ? await openStateStore(stateDir)
          : undefined;
      // Decisions go to --audit's store, else to the state's: a run with state keeps its audit trail.
      let auditStore: StoragePort | undefined;
      let secrets: LaunchSecrets | undefined;
      let kernel: Awaited<ReturnType<typeof createKernel>>;
      try {
        // Resolved before the kernel starts: a wrong key or a missing secret runs nothing.
        secrets = store && flags.secret.length > 0 ? await launchSecrets(io, store, flags) : undefined;
        auditStore = flags.audit === undefined ? store : await SqliteStore.open(resolve(io.cwd, flags.audit));
        kernel = await createKernel({
          config: { mode: flags.mode },
          ...(store ? { store } : {}),
          ...(auditStore ? { auditStore } : {}),
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
      try {
        if (flags.policy !== undefined && flags.allow.length > 0)
          throw usageError('give either --policy or --allow, not both');
        // Checked here so that a bad policy is one coded line, before anything is loaded (the
        // runtime checks an allow-list the same way, before it reads the module).
        const policy: EnforcerSpec =
          flags.policy === undefined
            ? { mode: flags.mode, policy: { kind: 'allow-list', allow: flags.allow } }
            : await enforcerSpecFromPolicyFile(resolve(io.cwd, flags.policy), flags.mode, {
                knownSyscalls: allSyscallNames(),
              });
        if (flags.snapshotOut !== undefined || flags.fromSnapshot !== undefined) {
          await runWithSnapshot(io, {
            file,
            name: basename(modulePath),
            policy,
            limits: runLimits(flags),
            wasi,
            ...(flags.call !== undefined && { call: flags.call }),
            ...(flags.args !== undefined && { args: flags.args }),
            ...(flags.snapshotOut !== undefined && { snapshotOut: flags.snapshotOut }),
            ...(flags.fromSnapshot !== undefined && { fromSnapshot: flags.fromSnapshot }),
            ...(flags.snapshotKey !== undefined && { snapshotKey: flags.snapshotKey }),
            ...(flags.snapshotSign !== undefined && { snapshotSign: flags.snapshotSign }),
          });
          return;
        }
        const stdout = lineWriter((line) => printGuestLine(io, 'out', line));
        const stderr = lineWriter((line) => printGuestLine(io, 'err', line));
        const report = await kernel.runtime.runModule({
          file,
          name: basename(modulePath),
          policy,
          isolation: flags.isolation,
          limits: runLimits(flags),
          wasi,
          ...(flags.call ? { entry: flags.call } : {}),
          ...(flags.args ? { argText: flags.args } : {}),
          ...(secrets ? { secrets } : {}),
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
          ...(flags.root === undefined
            ? {}
            : { trustRoot: await loadTrustRoot([await readRootFile(resolve(io.cwd, flags.root))]) }),
          ...(store === undefined ? {} : { versionStore: store }),
        });
        stdout.end();
        stderr.end();
        // The file, the text report and --json are the same record of the calls: the report's.
        if (flags.trace) writeTraceFile(resolve(io.cwd, flags.trace), report, traceKey);
        // A quarantine's record is kept in the state, the default one when the run had none.
        if (report.quarantine && store === undefined) await keepQuarantineRecord(stateDir, report.quarantine);
        printRunReport(io, report);
        // Where the run's trace is kept: its container id is what `trace query|export` take.
        if (report.storedTrace && !io.json) io.out(storedTraceLine(report.storedTrace, stateDir));
        exitAsGuest(
          io,
          report.outcome,
          report.quarantine && { record: report.quarantine.containerId, where: stateDir },
        );
      } finally {
        await kernel.shutdown();
      }
    });
}

/** Keeps a run's quarantine record (made in the kernel's memory) in the state at `dir`. */
async function keepQuarantineRecord(dir: string, record: QuarantineRecord): Promise<void> {
  const store = await openStateStore(dir);
  try {
    await new Redzone(store).keep(record);
  } finally {
    await store.close();
  }
}

/** A container limit's flag: a decimal integer within config's bounds for that limit. */
function limitFlag(flag: string, limit: keyof ContainerLimits): (text: string) => number {
  return integerFlag(flag, limitBounds[limit].min, limitBounds[limit].max);
}

/** The limits the run's flags set, by config's names (a burst without a rate is refused by the host). */
function runLimits(flags: RunFlags): ContainerLimitsInput {
  const given: Partial<Record<keyof ContainerLimits, number | undefined>> = {
    timeoutMs: flags.timeout,
    memoryPages: flags.memoryPages,
    syscallsPerSecond: flags.syscallRate,
    syscallBurst: flags.syscallBurst,
    maxOpenFds: flags.maxOpenFds,
    fuel: flags.fuel,
    maxModuleBytes: flags.maxModuleBytes,
    maxImports: flags.maxImports,
    maxTableElements: flags.maxTableElements,
  };
  const limits = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
  const problem = limitsProblem(limits);
  if (problem !== undefined) throw usageError(`${LIMIT_FLAGS[problem.limit]}: ${problem.problem}`);
  return limits;
}

/** The flag of each container limit, for messages. */
const LIMIT_FLAGS: Record<keyof ContainerLimits, string> = {
  timeoutMs: '--timeout',
  memoryPages: '--memory-pages',
  syscallsPerSecond: '--syscall-rate',
  syscallBurst: '--syscall-burst (with --syscall-rate 0)',
  maxOpenFds: '--max-open-fds',
  fuel: '--fuel',
  maxModuleBytes: '--max-module-bytes',
  maxImports: '--max-imports',
  maxTableElements: '--max-table-elements',
};

function parseEnv(entries: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw usageError(`--env takes K=V, got '${entry}'`);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

export function parseDir(io: CliIo, spec: string): PortablePreopen {
  const parts = spec.split(':');
  const readOnly = parts.length === 3 && parts[2] === 'ro';
  if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && !readOnly) || !parts[0] || !parts[1]) {
    throw usageError(`--dir takes <host>:<guest>[:ro], got '${spec}'`);
  }
  const guestPath = parseGuestPath(parts[1], '--dir');
  return { kind: 'host', hostPath: resolve(io.cwd, parts[0]), guestPath, readOnly };
}
