import type {
  ContainerId,
  EnforcementMode,
  ExecutionDNA,
  IdentityContextInput,
  PolicyDecisionPoint,
  SyscallEnforcerPort,
} from '@forgeone/common';
import type { ContainerLimitsInput } from '@forgeone/config';
import type { PackageManifest } from '@forgeone/crypto';
import type {
  EnforcerSpec,
  GuestEvent,
  Isolation,
  KvDurability,
  KvQuota,
  KvUsage,
  ModuleFormat,
  PortablePreopen,
  ResultKind,
  RunOutcome,
  TypedValue,
} from '@forgeone/execution';
import type { QuarantineRecord } from '@forgeone/trust';
import type { RecordedTrace, TraceEvent, TraceSummaryRow } from '@forgeone/observer';
import type { DurableTraceOptions, StoredTraceReport } from './durableTrace';
import type { Allocation } from './resources/resourceAdmission';
import type { LaunchSecrets } from './guestSecrets';
import type { ContainerSource } from './container/containerConfig';

/** A run: its module (`ContainerSource`, read as a container's is), who decides, what it sees. */
export interface RunModuleOptions extends ContainerSource {
  /**
   * Who decides. `policy` (JSON) works in every isolation; a `pdp` (applied in `mode`) or a whole
   * `enforcer` object runs the guest inline, since objects cannot cross into a worker. One is required.
   */
  readonly policy?: EnforcerSpec;
  readonly pdp?: PolicyDecisionPoint;
  readonly enforcer?: SyscallEnforcerPort;
  readonly identity?: IdentityContextInput;
  /** Overrides the kernel's enforcement mode for this run (pdp). */
  readonly mode?: EnforcementMode;
  /** Export to call. Default `_start`. */
  readonly entry?: string;
  /** Typed arguments of the export. */
  readonly args?: readonly TypedValue[];
  /** Arguments as text (the command line), converted by the export's parameter types. */
  readonly argText?: readonly string[];
  readonly results?: ResultKind;
  /** What the guest sees through WASI: argv (program name first), environment, preopened directories. */
  readonly wasi?: {
    readonly args?: readonly string[];
    readonly env?: Readonly<Record<string, string>>;
    readonly preopens?: readonly PortablePreopen[];
    readonly stdin?: Uint8Array | string;
  };
  readonly isolation?: Isolation;
  /** Per-run limits over the kernel's, by config's names (`timeoutMs`, `memoryPages`, `fuel`, ...). */
  readonly limits?: ContainerLimitsInput;
  /**
   * An allocation this kernel's resource manager already granted the run (a scheduler's, passed to
   * its executor): the run holds it instead of asking for its own, and its owner releases it. It
   * must cover the run: the same identity, at least the run's memory pages, a worker if it runs in one.
   */
  readonly allocation?: Allocation;
  /** Receives each `forge.log` message as it happens. */
  readonly onLog?: (message: string) => void;
  /** Receives the guest's stdout and stderr as they are written. */
  readonly onStdout?: (bytes: Uint8Array) => void;
  readonly onStderr?: (bytes: Uint8Array) => void;
  /** Receives every trace event, in batches (e.g. to stream them to a store). */
  readonly onTraceBatch?: (events: readonly TraceEvent[]) => void;
  /**
   * The run's durable trace in the kernel's store (over the kernel's `durableTraces`): `false`
   * keeps none; an object sets its retention (refused on a kernel without a store).
   */
  readonly durableTrace?: false | DurableTraceOptions;
  /**
   * Most calls the report keeps (default 65,536): older ones are dropped, and the report's
   * `recorded.end` says how many and which sequence numbers.
   */
  readonly traceCapacity?: number;
  /**
   * The container's kv namespace (`forge.kv_*`), kept in the kernel's store (`kv/<namespace>`):
   * loaded before the guest starts and shared with every other live run of this runtime on it
   * (each sees the others' writes at once; `quota` applies to this run's writes). With
   * `durability: 'commit'` (the default) every write is committed to the store before the guest's
   * call returns (in a worker, on the main thread, one commit for the writes of every worker
   * arriving together), so each write the guest was told succeeded survives the process being
   * killed; `relaxed-<N>ms` commits within N ms and when the container ends, and a crash may lose
   * the last N ms. The policy still decides every call. Without it, allowed kv calls answer DENIED.
   */
  /**
   * Secrets the guest may read with `forge.secret_read` (when its policy allows the call; a
   * package's manifest must grant `secret:read:<name>` for each). Resolve them from a SecretStore.
   * Never recorded: the trace keeps the call and the name, not the value.
   */
  readonly secrets?: LaunchSecrets;
  readonly kv?: {
    readonly namespace: string;
    readonly quota?: Partial<KvQuota>;
    readonly durability?: KvDurability;
  };
  /** Receives each `forge.emit_event` event as it happens (they are also in the report and on the bus). */
  readonly onEvent?: (event: GuestEvent) => void;
}

/** What a run did to its kv namespace. */
export interface RunKvReport {
  readonly namespace: string;
  /**
   * Keys this container wrote and keys it deleted (each counted once, by its last change); all
   * were written to the store when it ended.
   */
  readonly written: number;
  readonly deleted: number;
  /**
   * kv calls that answered UNAVAILABLE: the store failed, or (worker isolation) the main thread
   * did not answer within the kv timeout. Such a call changed nothing. Present only when > 0.
   */
  readonly unavailable?: number;
  /** What the namespace holds now. */
  readonly usage: KvUsage;
}

/** Everything a run produced: how it ended, what it printed, every call and decision, its DNA. */
export interface RunReport {
  readonly containerId: ContainerId;
  readonly moduleSha256: string;
  readonly isolation: Isolation;
  readonly outcome: RunOutcome;
  /** Typed results of the export (for `--call`). */
  readonly values: readonly TypedValue[];
  readonly logs: readonly string[];
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  /** Every call the gate saw, up to the trace capacity (`recorded.end` counts the ones dropped). */
  readonly trace: readonly TraceEvent[];
  readonly summary: readonly TraceSummaryRow[];
  readonly dna: ExecutionDNA;
  /** Events the guest emitted (`forge.emit_event`), in order. */
  readonly events: readonly GuestEvent[];
  /** Present when the run had a kv namespace. */
  readonly kv?: RunKvReport;
  /** The manifest of a package run. */
  readonly manifest?: PackageManifest;
  /** The run as a replayable trace (header, calls, end). */
  readonly recorded: RecordedTrace;
  /** Where the run's trace is kept in the store (absent when durable traces are off). */
  readonly storedTrace?: StoredTraceReport;
  /**
   * When a policy quarantined the run: its redzone record (reason, rules that fired, DNA), kept in
   * the runtime's store under the run's container id. The guest was stopped at that call.
   */
  readonly quarantine?: QuarantineRecord;
}

/** What `Runtime.replay` takes: the trace, and its module as bytes or a file. */
export interface ReplayOptions {
  readonly trace: RecordedTrace;
  /** A `.wasm` or `.wat` file (read as `RunModuleOptions.file` reads it), or `source`. */
  readonly file?: string;
  readonly source?: Uint8Array;
  /** A name for messages. Default: the file's name, else `module`. */
  readonly name?: string;
  readonly format?: ModuleFormat;
}
