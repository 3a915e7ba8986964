import { ForgeError, type EnforcementMode } from '@forgeone/common';

/** The flags of `forgeone run`, as commander parses them. */
export interface RunFlags {
  root?: string;
  policy?: string;
  allow: string[];
  dir: string[];
  env: string[];
  mode: EnforcementMode;
  call?: string;
  args?: string[];
  timeout?: number;
  memoryPages?: number;
  syscallRate?: number;
  syscallBurst?: number;
  maxOpenFds?: number;
  fuel?: number;
  maxModuleBytes?: number;
  maxImports?: number;
  maxTableElements?: number;
  isolation: 'inline' | 'worker';
  backend: 'v8' | 'wasmer';
  trace?: string;
  traceKey?: string;
  json?: boolean;
  kv?: string;
  kvDurability?: string;
  secret: string[];
  secretKeyFile?: string;
  state?: string;
  audit?: string;
  snapshotOut?: string;
  fromSnapshot?: string;
  snapshotKey?: string;
  snapshotSign?: string;
}

/** What a run's options are honoured or refused against. */
export interface RunContext {
  readonly backend: RunFlags['backend'];
  readonly isolation: RunFlags['isolation'];
  readonly mode: EnforcementMode;
  /** A signed `.forgepkg`, or a raw `.wasm`/`.wat` module (the development path). */
  readonly module: 'package' | 'module';
  /** Whether the run has a kv namespace (`--kv`). */
  readonly kv: boolean;
  /** Whether the run gives the guest secrets (`--secret`). */
  readonly secrets: boolean;
}

/** A set of contexts: each named dimension takes one of the listed values (unnamed: any). */
export type RunCondition = { readonly [K in keyof RunContext]?: readonly RunContext[K][] };

/** One row of the support table: an option, and every context that cannot honour it. */
export interface RunOptionSupport {
  /** The option as the user writes it. */
  readonly option: string;
  /** The option's attribute in RunFlags; undefined for what is not a flag (the module, guest args). */
  readonly key?: keyof RunFlags;
  /** A command-line use of it, for the tests (`{dir}` stands for an existing directory). */
  readonly example: readonly string[];
  /** Where it is refused, and why (the reason completes "cannot be honoured here: ..."). */
  readonly refused: ReadonlyArray<{ readonly when: RunCondition; readonly why: string }>;
}

const WASMER = { backend: ['wasmer'] } as const;
const NO_GATE = 'the wasmer backend runs the guest without the syscall gate (use --backend v8)';

/**
 * Every option of `forgeone run` against every backend, isolation, mode and module kind: the one
 * place that says which combinations are honoured. `checkRunOptions` refuses the rest before
 * anything is read or run, and the CLI's tests walk this table (a new option without a row fails
 * them). An option absent from `refused` is honoured everywhere.
 */
export const RUN_OPTION_SUPPORT: readonly RunOptionSupport[] = [
  {
    option: '<module>.forgepkg',
    example: [],
    refused: [{ when: WASMER, why: `a package's manifest cannot be enforced: ${NO_GATE}` }],
  },
  {
    option: '--root',
    key: 'root',
    example: ['--root', 'root.json'],
    refused: [
      { when: WASMER, why: `it verifies a .forgepkg, which ${NO_GATE}` },
      {
        when: { module: ['module'] },
        why: 'a .wasm or .wat module is not signed; --root verifies a .forgepkg',
      },
    ],
  },
  {
    option: '--policy',
    key: 'policy',
    example: ['--policy', 'policy.yaml'],
    refused: [{ when: WASMER, why: `nothing would decide the guest's calls: ${NO_GATE}` }],
  },
  {
    option: '--allow',
    key: 'allow',
    example: ['--allow', 'forge.log'],
    refused: [{ when: WASMER, why: `nothing would decide the guest's calls: ${NO_GATE}` }],
  },
  {
    option: '--mode',
    key: 'mode',
    example: ['--mode', 'audit'],
    // A package's manifest bounds every mode (audit and permissive trial the policy inside it, and
    // a call outside the manifest never runs), so --mode is honoured for packages too.
    refused: [{ when: WASMER, why: `no enforcement mode applies: ${NO_GATE}` }],
  },
  { option: '--env', key: 'env', example: ['--env', 'K=V'], refused: [] },
  // wasmer keeps writable mounts only under /workspace; its backend refuses others with a code.
  { option: '--dir <host:guest>', key: 'dir', example: ['--dir', '{dir}:/workspace/data'], refused: [] },
  { option: '--dir <host:guest:ro>', key: 'dir', example: ['--dir', '{dir}:/data:ro'], refused: [] },
  {
    option: '--call',
    key: 'call',
    example: ['--call', 'answer'],
    refused: [{ when: WASMER, why: 'it runs a WASI command from _start only' }],
  },
  {
    option: '--args',
    key: 'args',
    example: ['--call', 'id', '--args', '7'],
    refused: [{ when: WASMER, why: 'it runs a WASI command from _start only (guest arguments go after --)' }],
  },
  { option: '--timeout', key: 'timeout', example: ['--timeout', '5000'], refused: [] },
  {
    option: '--memory-pages',
    key: 'memoryPages',
    example: ['--memory-pages', '64'],
    refused: [{ when: WASMER, why: 'the wasmer SDK does not limit linear memory per run' }],
  },
  ...(
    [
      ['--syscall-rate', 'syscallRate', '500000', 'the syscall rate is counted by the gate'],
      ['--syscall-burst', 'syscallBurst', '1000', 'the syscall rate is counted by the gate'],
      ['--max-open-fds', 'maxOpenFds', '64', "its WASI is the SDK's own, whose descriptors are not counted"],
      ['--fuel', 'fuel', '1000000', 'fuel is metered by instrumenting the module for V8'],
      ['--max-module-bytes', 'maxModuleBytes', '1048576', 'the wasmer SDK reads the module itself'],
      ['--max-imports', 'maxImports', '64', 'the wasmer SDK resolves imports itself'],
      ['--max-table-elements', 'maxTableElements', '1024', 'the wasmer SDK does not limit tables per run'],
    ] as const
  ).map(([option, key, value, why]): RunOptionSupport => ({
    option,
    key,
    example: [option, value],
    refused: [
      { when: WASMER, why: key === 'syscallRate' || key === 'syscallBurst' ? `${why}: ${NO_GATE}` : why },
    ],
  })),
  {
    option: '--isolation',
    key: 'isolation',
    example: ['--isolation', 'inline'],
    refused: [{ when: WASMER, why: 'the wasmer SDK runs the guest in threads of its own' }],
  },
  { option: '--backend', key: 'backend', example: [], refused: [] },
  {
    option: '--kv',
    key: 'kv',
    example: ['--kv', 'app'],
    refused: [{ when: WASMER, why: `forge.kv_* calls need the gate: ${NO_GATE}` }],
  },
  {
    option: '--kv-durability',
    key: 'kvDurability',
    example: ['--kv-durability', 'relaxed-50ms'],
    refused: [
      { when: WASMER, why: `forge.kv_* calls need the gate: ${NO_GATE}` },
      { when: { kv: [false] }, why: 'it says how --kv writes are kept, and this run has no --kv namespace' },
    ],
  },
  {
    option: '--secret',
    key: 'secret',
    example: ['--secret', 'db-password'],
    refused: [{ when: WASMER, why: `forge.secret_read calls need the gate: ${NO_GATE}` }],
  },
  {
    option: '--secret-key-file',
    key: 'secretKeyFile',
    example: ['--secret', 'db-password', '--secret-key-file', '{dir}/secrets.key'],
    refused: [
      { when: WASMER, why: `forge.secret_read calls need the gate: ${NO_GATE}` },
      { when: { secrets: [false] }, why: 'it unlocks the --secret values, and this run has no --secret' },
    ],
  },
  {
    option: '--state',
    key: 'state',
    example: ['--state', '{dir}/state'],
    refused: [
      {
        when: WASMER,
        why: `it keeps kv namespaces, the audit log of decisions and installed package versions: ${NO_GATE}`,
      },
    ],
  },
  {
    option: '--audit',
    key: 'audit',
    example: ['--audit', '{dir}/audit.db'],
    refused: [{ when: WASMER, why: `no call is decided, so there is nothing to audit: ${NO_GATE}` }],
  },
  {
    option: '--trace',
    key: 'trace',
    example: ['--trace', '{dir}/trace.jsonl'],
    refused: [{ when: WASMER, why: `no call is recorded: ${NO_GATE}` }],
  },
  {
    option: '--trace-key',
    key: 'traceKey',
    example: ['--trace', '{dir}/trace.jsonl', '--trace-key', '{dir}/kernel.key'],
    refused: [{ when: WASMER, why: `no call is recorded, so there is no trace to sign: ${NO_GATE}` }],
  },
  { option: '--json', key: 'json', example: ['--json'], refused: [] },
  ...(
    [
      ['--snapshot-out', 'snapshotOut', ['--call', 'answer', '--snapshot-out', '{dir}/s.fsnap']],
      ['--from-snapshot', 'fromSnapshot', ['--call', 'answer', '--from-snapshot', '{dir}/s.fsnap']],
      [
        '--snapshot-key',
        'snapshotKey',
        ['--from-snapshot', '{dir}/s.fsnap', '--call', 'answer', '--snapshot-key', '{dir}/k.pub'],
      ],
      [
        '--snapshot-sign',
        'snapshotSign',
        ['--snapshot-out', '{dir}/s.fsnap', '--snapshot-sign', '{dir}/k.key'],
      ],
    ] as const
  ).map(([option, key, example]): RunOptionSupport => ({
    option,
    key,
    example,
    refused: [
      { when: WASMER, why: 'it runs the guest in an engine whose memory and globals the host cannot read' },
      {
        when: { isolation: ['worker'] },
        why: 'snapshots are captured and restored in inline isolation only (add --isolation inline)',
      },
      { when: { module: ['package'] }, why: 'snapshots of a .forgepkg are not supported yet: run its .wasm' },
      {
        when: { kv: [true] },
        why: 'a kv namespace lives in the state, not in the snapshot: run without --kv',
      },
    ],
  })),
  { option: '[guestArgs...]', example: ['--', 'guest-arg'], refused: [] },
];

/** Options a run with --snapshot-out or --from-snapshot does not honour, and why (the run keeps no state). */
const SNAPSHOT_RUN_REFUSALS: ReadonlyArray<readonly [keyof RunFlags, string, string]> = [
  ['state', '--state', 'a snapshot run keeps no state directory'],
  ['audit', '--audit', 'a snapshot run keeps no audit log'],
  ['trace', '--trace', 'a snapshot run writes no trace file yet'],
  ['kvDurability', '--kv-durability', 'a snapshot run has no --kv namespace'],
  ['secret', '--secret', "a snapshot's memory would hold the secrets the guest read"],
];

/**
 * Refuses (FORGE_CLI_UNSUPPORTED_OPTION) options a snapshot run cannot honour, and the snapshot
 * options that need another one (--snapshot-key without --from-snapshot, --snapshot-sign without
 * --snapshot-out).
 */
export function checkSnapshotRun(flags: RunFlags, source: (key: keyof RunFlags) => string | undefined): void {
  const refuse = (option: string, with_: string, why: string) =>
    new ForgeError('FORGE_CLI_UNSUPPORTED_OPTION', `${option} cannot be honoured with ${with_}: ${why}`, {
      details: { option },
    });
  if (flags.snapshotKey !== undefined && flags.fromSnapshot === undefined)
    throw refuse('--snapshot-key', 'no --from-snapshot', 'it is the key the snapshot read must be signed by');
  if (flags.snapshotSign !== undefined && flags.snapshotOut === undefined)
    throw refuse('--snapshot-sign', 'no --snapshot-out', 'it signs the snapshot written');
  if (flags.snapshotOut === undefined && flags.fromSnapshot === undefined) return;
  const given = flags.snapshotOut !== undefined ? '--snapshot-out' : '--from-snapshot';
  for (const [key, option, why] of SNAPSHOT_RUN_REFUSALS)
    if (source(key) === 'cli') throw refuse(option, given, why);
}

/** What the command line of one run gave, for deciding which rows apply to it. */
export interface GivenRun {
  readonly flags: RunFlags;
  /** Where commander took a flag's value from: `cli` when the user wrote it. */
  readonly source: (key: keyof RunFlags) => string | undefined;
  readonly context: RunContext;
  readonly guestArgs: readonly string[];
}

/** True when the run's command line uses the row's option (a default value is not a use). */
export function optionGiven(row: RunOptionSupport, run: GivenRun): boolean {
  if (row.key === undefined)
    return row.option === '[guestArgs...]' ? run.guestArgs.length > 0 : run.context.module === 'package';
  if (row.key === 'dir') {
    const readOnly = row.option.endsWith(':ro>');
    return run.flags.dir.some((spec) => spec.endsWith(':ro') === readOnly);
  }
  return run.source(row.key) === 'cli';
}

/** True when `context` is one of the contexts `condition` names. */
export function matches(condition: RunCondition, context: RunContext): boolean {
  return (Object.keys(condition) as Array<keyof RunContext>).every((dimension) =>
    (condition[dimension] as readonly unknown[]).includes(context[dimension]),
  );
}

/** Why `row` cannot be honoured in `context`, or undefined when it can. */
export function refusalOf(row: RunOptionSupport, context: RunContext): string | undefined {
  return row.refused.find((r) => matches(r.when, context))?.why;
}

/** The part of the context a condition names, in words: `--backend wasmer`, `a .forgepkg, --mode audit`. */
function describe(condition: RunCondition, context: RunContext): string {
  const words: Record<keyof RunContext, string> = {
    module: context.module === 'package' ? 'a .forgepkg' : 'a .wasm or .wat module',
    backend: `--backend ${context.backend}`,
    isolation: `--isolation ${context.isolation}`,
    mode: `--mode ${context.mode}`,
    kv: context.kv ? '--kv' : 'no --kv',
    secrets: context.secrets ? '--secret' : 'no --secret',
  };
  return (Object.keys(words) as Array<keyof RunContext>)
    .filter((dimension) => condition[dimension] !== undefined)
    .map((dimension) => words[dimension])
    .join(', ');
}

/**
 * Refuses, before anything is read or run, the first given option that the run's context cannot
 * honour (FORGE_CLI_UNSUPPORTED_OPTION, exit 2): an option is honoured or refused, never ignored.
 */
export function checkRunOptions(context: RunContext, given: (row: RunOptionSupport) => boolean): void {
  for (const row of RUN_OPTION_SUPPORT) {
    if (!given(row)) continue;
    const refusal = row.refused.find((r) => matches(r.when, context));
    if (refusal === undefined) continue;
    throw new ForgeError(
      'FORGE_CLI_UNSUPPORTED_OPTION',
      `${row.option} cannot be honoured with ${describe(refusal.when, context)}: ${refusal.why}`,
      { details: { option: row.option, ...context } },
    );
  }
}
