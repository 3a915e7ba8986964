import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ForgeError, isForgeError, openStateStore, toForgeError, type StoragePort } from '@forgeone/common';
import {
  DEFAULT_MAX_QUEUE_DEPTH,
  Scheduler,
  policyNames,
  readWorkloadFile,
  type Allocation,
  type PolicyName,
  type RunReport,
  type WorkloadFile,
  type WorkloadSpec,
} from '@forgeone/core';
import { defaultContainerLimits } from '@forgeone/config';
import { loadTrustRoot, readRootFile, type TrustRoot } from '@forgeone/crypto';
import type { PortablePreopen } from '@forgeone/execution';
import { createKernel } from '@forgeone/interface';
import { printGuestLine, usageError, type CliIo } from '../cliIo';
import { STATE_ENV, integerFlag } from '../flagValues';
import { lineWriter } from '../guestLines';
import { parseDir } from './run';
import { checkRunOptions, type RunContext, type RunFlags, type RunOptionSupport } from './runOptions';
import { printSchedule } from './scheduleReport';

interface ScheduleFlags {
  policy: PolicyName;
  concurrency?: number;
  queueDepth?: number;
  root?: string;
  state?: string;
  json?: boolean;
}

/** One workload ready to run: its spec and the run options made from it. */
interface Job {
  readonly spec: WorkloadSpec;
  readonly preopens: readonly PortablePreopen[];
}

/** `forgeone schedule <workloads.yaml>`: run a file of workloads through the scheduler. */
export function registerSchedule(program: Command, io: CliIo): void {
  program
    .command('schedule')
    .description('run the workloads of a file through the scheduler: priorities, tenants, dependencies')
    .argument(
      '<workloads.yaml>',
      'the workloads (YAML or JSON): name, module or package, priority, tenant, dependsOn, allow, dir, timeout, memoryPages, args',
    )
    .addOption(
      new Option('--policy <policy>', 'the order workloads start in')
        .choices([...policyNames])
        .default('priority'),
    )
    .option(
      '--concurrency <n>',
      `most workloads running at once (default ${availableParallelism()}, this machine's parallelism)`,
      integerFlag('--concurrency', 1, 1024),
    )
    .option(
      '--queue-depth <n>',
      `most workloads waiting at once; a file with more is refused (default ${DEFAULT_MAX_QUEUE_DEPTH})`,
      integerFlag('--queue-depth', 1, 1_000_000),
    )
    .option('--root <root.json>', 'trust root the package workloads verify against before anything runs')
    .option(
      '--state <dir>',
      `the state (a directory holding kernel.db, or a .sqlite/.db file; default $${STATE_ENV}): keeps the audit log of every workload's decisions, and packages are checked against the versions installed in it`,
    )
    .option('--json', 'print { ok, workloads: [{ name, state, startOrder, exitCode, waitedMs, reason? }] }')
    .action(async (filePath: string, flags: ScheduleFlags) => {
      const file = await readWorkloadFile(resolve(io.cwd, filePath));
      // Everything is checked before anything runs: a bad workload refuses the whole file.
      const jobs = file.workloads.map((spec, index) => prepare(io, file, index, flags));
      const trustRoot =
        flags.root === undefined
          ? undefined
          : await loadTrustRoot([await readRootFile(resolve(io.cwd, flags.root))]);
      const stateDir = flags.state ?? (io.env(STATE_ENV) || undefined);
      const store = stateDir === undefined ? undefined : await openStateStore(resolve(io.cwd, stateDir));
      const kernel = await createKernel({
        config: { mode: 'enforce' },
        ...(store ? { store, auditStore: store } : {}),
      }).catch(async (error: unknown) => {
        await store?.close();
        throw error;
      });
      const scheduler = new Scheduler<Job, RunReport>({
        policy: flags.policy,
        concurrency: flags.concurrency ?? availableParallelism(),
        maxQueueDepth: flags.queueDepth ?? DEFAULT_MAX_QUEUE_DEPTH,
        // The kernel's budgets (workers, memory pages, containers per tenant) admit each workload
        // before it starts; the run holds the scheduler's allocation, so it is counted once.
        resources: kernel.runtime.resources,
        executor: async ({ payload }, _signal, allocation) =>
          runJob(io, kernel.runtime, payload, { trustRoot, store, allocation }),
      });
      io.onInterrupt?.({
        stop: async (signal) => {
          await scheduler.close(`interrupted by ${signal}`);
          await kernel.shutdown(`interrupted by ${signal}`);
        },
        summary: () => {
          const { finished } = scheduler.context();
          return `${finished.succeeded} workload(s) succeeded, ${finished.failed} failed, ${finished.cancelled} cancelled`;
        },
      });
      try {
        const handles = submitAll(scheduler, file, jobs, flags);
        const results = await Promise.all(handles.map((handle) => handle.done));
        printSchedule(io, { policy: flags.policy, concurrency: scheduler.context().concurrency }, results);
      } finally {
        await kernel.shutdown();
      }
    });
}

/**
 * Checks one workload's run options the way `forgeone run` checks its flags (the same support
 * table and `--dir` parser), locating any refusal in the file.
 */
function prepare(io: CliIo, file: WorkloadFile, index: number, flags: ScheduleFlags): Job {
  const spec = file.workloads[index]!;
  const located = (field: string | undefined, error: unknown): never => {
    const forgeError = toForgeError(error);
    throw new ForgeError(
      forgeError.code,
      `${file.where(index, field)}: workload '${spec.name}': ${forgeError.message}`,
      { cause: error, details: { ...forgeError.details, file: file.file, workload: spec.name } },
    );
  };
  const context: RunContext = {
    backend: 'v8',
    isolation: 'worker',
    mode: 'enforce',
    module: spec.kind,
    kv: false,
    secrets: false,
  };
  const given = (row: RunOptionSupport): boolean => {
    const key: keyof RunFlags | undefined = row.key;
    if (key === undefined)
      return row.option === '[guestArgs...]' ? spec.args.length > 0 : spec.kind === 'package';
    if (key === 'dir') return spec.dir.some((d) => d.endsWith(':ro') === row.option.endsWith(':ro>'));
    if (key === 'allow') return spec.allow.length > 0;
    if (key === 'timeout') return spec.timeout !== undefined;
    if (key === 'memoryPages') return spec.memoryPages !== undefined;
    if (key === 'root') return flags.root !== undefined && spec.kind === 'package';
    if (key === 'state') return flags.state !== undefined;
    return false;
  };
  try {
    checkRunOptions(context, given);
  } catch (error) {
    located(undefined, error);
  }
  if (spec.kind === 'package' && flags.root === undefined)
    located('package', usageError('a .forgepkg runs only after it verifies: give --root <root.json>'));
  const preopens = spec.dir.map((dir, i) => {
    let preopen: PortablePreopen;
    try {
      preopen = parseDir({ ...io, cwd: file.baseDir }, dir);
    } catch (error) {
      return located('dir', error);
    }
    if (preopen.kind === 'host' && !isDirectory(preopen.hostPath)) {
      located(
        'dir',
        new ForgeError('FORGE_VFS_HOST_DIR_INVALID', `dir[${i}]: ${preopen.hostPath} is not a directory`),
      );
    }
    return preopen;
  });
  return { spec, preopens };
}

/** Runs one workload through `Runtime.runModule`; its guest output is printed as `[name] line`. */
async function runJob(
  io: CliIo,
  runtime: Awaited<ReturnType<typeof createKernel>>['runtime'],
  { spec, preopens }: Job,
  {
    trustRoot,
    store,
    allocation,
  }: {
    trustRoot: TrustRoot | undefined;
    store: StoragePort | undefined;
    allocation: Allocation | undefined;
  },
) {
  const prefix = (line: string) => `[${spec.name}] ${line}`;
  const stdout = lineWriter((line) => printGuestLine(io, 'out', prefix(line)));
  const stderr = lineWriter((line) => printGuestLine(io, 'err', prefix(line)));
  try {
    const report = await runtime.runModule({
      file: spec.file,
      name: spec.name,
      policy: { mode: 'enforce', policy: { kind: 'allow-list', allow: [...spec.allow] } },
      isolation: 'worker',
      identity: { subject: `tenant:${spec.tenant}` },
      limits: {
        ...(spec.timeout === undefined ? {} : { timeoutMs: spec.timeout }),
        ...(spec.memoryPages === undefined ? {} : { memoryPages: spec.memoryPages }),
      },
      wasi: { args: [basename(spec.file), ...spec.args], preopens: [...preopens] },
      ...(io.json
        ? {}
        : {
            onLog: (message: string) => io.out(prefix(message)),
            onStdout: stdout.write,
            onStderr: stderr.write,
          }),
      ...(trustRoot ? { trustRoot } : {}),
      ...(store ? { versionStore: store } : {}),
      ...(allocation ? { allocation } : {}),
    });
    const { outcome } = report;
    return outcome.status === 'trapped'
      ? { exitCode: null, reason: outcome.error.toLine(), value: report }
      : outcome.exitCode === 0
        ? { exitCode: 0, value: report }
        : { exitCode: outcome.exitCode, reason: `exited with code ${outcome.exitCode}`, value: report };
  } catch (error) {
    // Refused before or while loading (a package that does not verify, a module that does not compile).
    return { exitCode: null, reason: isForgeError(error) ? error.toLine() : toForgeError(error).toLine() };
  } finally {
    stdout.end();
    stderr.end();
  }
}

/** Submits the file's workloads, all or none; a file larger than the queue is refused, naming it. */
function submitAll(
  scheduler: Scheduler<Job, RunReport>,
  file: WorkloadFile,
  jobs: readonly Job[],
  flags: ScheduleFlags,
) {
  try {
    return scheduler.submitAll(
      jobs.map((job) => ({
        id: job.spec.name,
        priority: job.spec.priority,
        tenant: job.spec.tenant,
        dependsOn: job.spec.dependsOn,
        // What it will hold while it runs, for a scheduler given the kernel's resource manager.
        resources: {
          identity: `tenant:${job.spec.tenant}`,
          memoryPages: job.spec.memoryPages ?? defaultContainerLimits.memoryPages,
          worker: true,
        },
        payload: job,
      })),
    );
  } catch (error) {
    if (!isForgeError(error) || error.code !== 'FORGE_SCHEDULER_QUEUE_FULL') throw error;
    const depth = flags.queueDepth ?? DEFAULT_MAX_QUEUE_DEPTH;
    throw new ForgeError(
      error.code,
      `${file.file}: ${jobs.length} workloads are more than the queue holds (--queue-depth ${depth}); nothing was run. Raise --queue-depth or split the file`,
      { cause: error, details: { ...error.details, file: file.file } },
    );
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
