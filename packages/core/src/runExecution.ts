import { ForgeError, newId, toForgeError, type IdentityContext } from '@forgeone/common';
import {
  parseTypedArgs,
  recordedTraceOf,
  typedValuesToJson,
  type EnforcerSpec,
  type GuestEvent,
  type Isolation,
  type LoadedModule,
  type WasmHost,
} from '@forgeone/execution';
import { traceCallCounts } from '@forgeone/observer';
import type { Redzone } from '@forgeone/trust';
import type { DebugTraces } from './boot/debugTraces';
import { traceCapacityFor } from './boot/bootMode';
import { durableTraceSettings, openDurableTrace, storedTraceReport, traceEndOf } from './durableTrace';
import { guestEnforcement } from './guestEnforcement';
import { approverOf } from './approverOf';
import type { KvLease } from './kvNamespaces';
import { guestSecretsOf, launchSecretNames } from './guestSecrets';
import { quarantineInputOf, quarantineReasonOf } from './quarantine/quarantineInput';
import { cpuBudgetOption } from './resources/cpuAccount';
import type { Allocation } from './resources/resourceAdmission';
import { RunAudit, lazyBatchTaker } from './runAudit';
import { runContextOf } from './runContext';
import type { RuntimeDeps } from './runtimeDeps';
import type { RunKvReport, RunModuleOptions, RunReport } from './runTypes';

/** What a run's execution reads of its runtime (the Runtime's, passed in: no global state). */
export interface RunExecution {
  deps(): RuntimeDeps;
  /** True once the runtime is closing: a guest about to start is refused then. */
  closing(): boolean;
  /** A debug kernel's store of every run, kept for replay. */
  debugTraces(): DebugTraces | undefined;
  /** Where a quarantined run's record is kept. */
  redzone(): Redzone;
}

/** Runs a loaded module; `kv` is closed (flushed, given back) on success, by the caller on failure. */
export async function executeRun(
  ctx: RunExecution,
  host: WasmHost,
  module: LoadedModule,
  options: RunModuleOptions,
  {
    identity,
    isolation,
    objects,
    allocation,
  }: { identity: IdentityContext; isolation: Isolation; objects: boolean; allocation: Allocation },
  kv: KvLease | undefined,
): Promise<RunReport> {
  const { manifest, policy, enforcerInstance } = guestEnforcement(
    module,
    options,
    {
      kvNamespace: options.kv?.namespace,
      preopens: options.wasi?.preopens,
      secrets: launchSecretNames(options.secrets),
    },
    ctx.deps().mode,
  );
  const secrets = guestSecretsOf(options.secrets);
  const startedAt = ctx.deps().clock.now();
  const entry = options.entry ?? '_start';
  const args =
    options.args ??
    (options.argText
      ? parseTypedArgs(options.argText, module.info?.exports.find((e) => e.name === entry)?.signature)
      : []);
  const logs: string[] = [];
  const events: GuestEvent[] = [];
  const containerId = newId('container', startedAt);
  // What ran and under which grant: the trace header says it, in the store and in the file.
  const runContext = runContextOf(module, {
    identity,
    spec: objects ? undefined : (policy as EnforcerSpec),
    mode: options.mode ?? ctx.deps().mode,
    isolation,
    limits: host.limits,
  });
  const traceSettings = durableTraceSettings(
    ctx.deps().store,
    ctx.deps().durableTraces,
    options.durableTrace,
    'runModule',
  );
  // Opened before the guest starts: every batch the recorder hands over goes to the store, in the
  // background (the guest never waits for it), and the index says the run is there even if it dies.
  const sink =
    traceSettings &&
    (await openDurableTrace(
      ctx.deps().store!,
      {
        module: module.sha256,
        entry,
        args: typedValuesToJson(args),
        containerId,
        recordedAt: startedAt,
        run: runContext,
      },
      traceSettings,
    ));
  ctx.deps().events.emit('container.launched', { containerId, subject: identity.subject });
  const auditLog = ctx.deps().audit;
  const audit =
    auditLog &&
    new RunAudit(auditLog, {
      containerId,
      identity,
      mode: objects ? (options.mode ?? ctx.deps().mode) : (policy as EnforcerSpec).mode,
    });
  const onTraceBatch = options.onTraceBatch;
  // The audit log and the durable trace take batches unbuilt: built off the guest's call path.
  const onTraceLazyBatch = lazyBatchTaker(audit, sink);
  const traceCapacity = traceCapacityFor(ctx.deps().boot?.mode ?? 'normal', options.traceCapacity);
  let run: Awaited<ReturnType<WasmHost['run']>>;
  try {
    if (ctx.closing()) {
      throw new ForgeError('FORGE_KERNEL_STATE', 'the runtime was closing when the guest was to start');
    }
    run = await host.run(module, {
      containerId,
      isolation,
      identity,
      ...(objects ? { enforcerInstance: enforcerInstance! } : { enforcer: policy as EnforcerSpec }),
      ...(options.wasi ? { wasi: options.wasi } : {}),
      ...approverOf(ctx.deps(), isolation),
      entry,
      args,
      // What is left of the container's CPU budget bounds its calls together.
      ...cpuBudgetOption(allocation),
      ...(options.results ? { results: options.results } : {}),
      onLog: (message) => {
        logs.push(message);
        options.onLog?.(message);
      },
      ...(options.onStdout ? { onStdout: options.onStdout } : {}),
      ...(options.onStderr ? { onStderr: options.onStderr } : {}),
      ...(onTraceBatch ? { onTraceBatch } : {}),
      ...(onTraceLazyBatch ? { onTraceLazyBatch } : {}),
      ...(traceCapacity === undefined ? {} : { traceCapacity }),
      ...(kv ? { kv, onKvUnanswered: () => kv.noteUnanswered() } : {}),
      ...(secrets ? { secrets } : {}),
      onEvent: (event) => {
        events.push(event);
        options.onEvent?.(event);
      },
    });
  } catch (error) {
    ctx.deps().events.emit('container.exited', {
      containerId,
      exitCode: null,
      reason: toForgeError(error).code,
    });
    // The calls handed over before the host failed were decided: they are audited all the same.
    await audit?.finish().catch(() => undefined);
    // And kept: the stored trace ends with the failure's code.
    await sink
      ?.close({ status: 'trapped', exitCode: null, code: toForgeError(error).code })
      .catch(() => undefined);
    throw error;
  }
  const { instance, outcome } = run;
  ctx.deps().events.emit('container.exited', {
    containerId,
    exitCode: outcome.exitCode,
    reason: outcome.status === 'trapped' ? outcome.error.code : outcome.status,
  });
  // Whatever the ending (a trap, a deadline, an exit), writes the guest was told succeeded are
  // kept. A store that fails here fails the run: its report would claim writes that are not there.
  if (kv) await kv.close();
  // One record of the calls: the report's list, its summary and the replayable trace are the same.
  const recorded = recordedTraceOf(run, module, {
    entry,
    args,
    recordedAt: startedAt,
    run: runContext,
  });
  const trace = recorded.events;
  // Likewise every decision of the run, before the run is reported.
  await audit?.finish(trace);
  // And its durable trace: the report's calls beyond the last batch, and how it ended. A store
  // that cannot take it fails the run, as a kv store does: the report would claim a stored trace.
  await sink?.close(traceEndOf(outcome), trace);
  // A debug kernel keeps every run for replay, before it is reported.
  await ctx.debugTraces()?.keep(instance.containerId, recorded);
  // A run a policy quarantined has ended; the record of why stays, to inspect and resolve.
  const quarantine =
    outcome.status === 'trapped' && outcome.error.code === 'FORGE_CONTAINER_QUARANTINED'
      ? await ctx.redzone().quarantine(
          quarantineInputOf(instance.containerId, quarantineReasonOf(outcome.error), {
            trace,
            dna: instance.dna(),
          }),
        )
      : undefined;
  if (quarantine) {
    ctx.deps().events.emit('quarantine.recorded', {
      containerId: instance.containerId,
      reason: quarantine.reason,
      firedRules: quarantine.firedRules,
      deadline: quarantine.deadline,
    });
  }
  return {
    containerId: instance.containerId,
    moduleSha256: module.sha256,
    isolation,
    outcome,
    values: run.values,
    logs: instance.logs().length > 0 ? instance.logs() : logs,
    stdout: instance.stdout(),
    stderr: instance.stderr(),
    trace,
    summary: traceCallCounts(trace),
    dna: instance.dna(),
    events,
    ...(kv ? { kv: kvReport(kv) } : {}),
    ...(manifest ? { manifest } : {}),
    recorded,
    ...(sink ? { storedTrace: storedTraceReport(sink) } : {}),
    ...(quarantine ? { quarantine } : {}),
  };
}

function kvReport(kv: KvLease): RunKvReport {
  const { written, deleted, unavailable } = kv.changes();
  return {
    namespace: kv.namespace,
    written,
    deleted,
    ...(unavailable > 0 ? { unavailable } : {}),
    usage: kv.usage(),
  };
}
