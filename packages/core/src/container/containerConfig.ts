import type { LaunchSecrets } from '../guestSecrets';
import {
  ForgeError,
  IdentityContextSchema,
  parseWith,
  type EnforcementMode,
  type IdentityContext,
  type IdentityContextInput,
  type PolicyDecisionPoint,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import type { ContainerLimitsInput } from '@forgeone/config';
import {
  worldSyscallNames,
  type EnforcerSpec,
  type GuestEvent,
  type Isolation,
  type ModuleFormat,
  type PortablePreopen,
  type TypedValue,
} from '@forgeone/execution';
import { checkAllowList } from '@forgeone/trust';
import type { TrustRoot, VersionStore } from '@forgeone/crypto';
import type { Allocation } from '../resources/resourceAdmission';
import type { ContainerKind } from './containerInfo';
import type { ContainerSnapshotConfig } from './containerSnapshot';
import type { DurableTraceOptions } from '../durableTrace';

/** Where a container's module comes from: read as `runModule` reads its module. */
export interface ContainerSource {
  /**
   * A module file instead of bytes: a `.forgepkg` is read as `package`, a `.wasm` or `.wat` as
   * `source` (format from the extension), refused before it is read when it is over the module
   * size limit (FORGE_WASM_LIMIT), missing (FORGE_WASM_NOT_FOUND) or empty.
   */
  readonly file?: string;
  /** Module bytes, binary or text: the development path (no signature). */
  readonly source?: Uint8Array;
  /** A ForgePkg, verified against `trustRoot` before anything runs. */
  readonly package?: Uint8Array;
  readonly trustRoot?: TrustRoot;
  readonly versionStore?: VersionStore;
  /** A name for messages and the registry. Default: the file's name, else `module`. */
  readonly name?: string;
  /** Binary or text; detected from the bytes when omitted. */
  readonly format?: ModuleFormat;
}

/** A long-lived container: its module, who decides its calls, what it sees, where it runs. */
export interface ContainerConfig extends ContainerSource, ContainerSnapshotConfig {
  /**
   * `command` runs `_start` once, to completion; `service` stays up for `invoke`. Default: from
   * the exports (`_initialize`, or no `_start`: a service; else a command).
   */
  readonly kind?: ContainerKind;
  /** Who decides (as in `runModule`): a spec in any isolation; a `pdp` or `enforcer` runs it inline. */
  readonly policy?: EnforcerSpec;
  readonly pdp?: PolicyDecisionPoint;
  readonly enforcer?: SyscallEnforcerPort;
  readonly mode?: EnforcementMode;
  readonly identity?: IdentityContextInput;
  readonly isolation?: Isolation;
  /** Typed arguments of a command's `_start` (none for WASI programs). */
  readonly args?: readonly TypedValue[];
  readonly wasi?: {
    readonly args?: readonly string[];
    readonly env?: Readonly<Record<string, string>>;
    readonly preopens?: readonly PortablePreopen[];
    readonly stdin?: Uint8Array | string;
  };
  /** Limits over the kernel's (`timeoutMs` is each call's deadline, `memoryPages`, `fuel`...). */
  readonly limits?: ContainerLimitsInput;
  /**
   * Secrets the guest may read with `forge.secret_read` (as in `runModule`). Refused with
   * `snapshots`: a captured memory would hold what the guest read.
   */
  readonly secrets?: LaunchSecrets;
  /**
   * An allocation this kernel's resource manager already granted (a scheduler's, handed over as
   * `runModule` takes one): the container holds it instead of asking for its own, and leaves it
   * with its owner when it ends. FORGE_RESOURCE_MISMATCH when it does not cover the container.
   */
  readonly allocation?: Allocation;
  /**
   * Inline isolation: how a call's deadline is kept. `watchdog` (default): V8 stops the guest
   * wherever it is (~0.1 ms more per call); `syscalls`: checked only when the guest calls the host
   * (cheapest; a guest looping without calling runs on — trusted code only).
   */
  readonly inlineDeadline?: 'watchdog' | 'syscalls';
  readonly onLog?: (message: string) => void;
  readonly onStdout?: (bytes: Uint8Array) => void;
  readonly onStderr?: (bytes: Uint8Array) => void;
  readonly onEvent?: (event: GuestEvent) => void;
  /**
   * The container's durable trace in the kernel's store (over the kernel's `durableTraces`):
   * `false` keeps none; an object sets its retention (refused on a kernel without a store).
   */
  readonly durableTrace?: false | DurableTraceOptions;
  /**
   * The API request that launches it: the audit entries of the calls its start makes name it
   * (printable ASCII, 1..200 characters).
   */
  readonly requestId?: string;
}

/** A launch's config, checked: who it runs as, where, and whether its decider is an object. */
export interface CheckedConfig {
  readonly identity: IdentityContext;
  readonly isolation: Isolation;
  /** The decider is a pdp or an enforcer object (the guest runs inline). */
  readonly objects: boolean;
}

/** Identities of launches that gave none, by subject: parsed once each (frozen: shared by every launch). */
const defaultIdentities = new Map<string, IdentityContext>();
const MAX_DEFAULT_IDENTITIES = 256;

/**
 * The launch's identity, parsed and deep-frozen (the host then takes it without parsing it again).
 * One given by the caller is parsed each time: the caller may change its object between launches.
 */
function identityOf(given: unknown, fallbackName: string): IdentityContext {
  if (given !== undefined) return deepFreeze(parseWith(IdentityContextSchema, given, 'identity'));
  const subject = `module:${fallbackName}`;
  let identity = defaultIdentities.get(subject);
  if (identity === undefined) {
    identity = deepFreeze(parseWith(IdentityContextSchema, { subject }, 'identity'));
    if (defaultIdentities.size >= MAX_DEFAULT_IDENTITIES) defaultIdentities.clear();
    defaultIdentities.set(subject, identity);
  }
  return identity;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Checks what a launch was given before anything is read or loaded; one coded error per problem. */
export function checkContainerConfig(
  config: ContainerConfig,
  defaultIsolation: Isolation,
  fallbackName: string,
): CheckedConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ForgeError('FORGE_INVALID_INPUT', 'launchContainer needs a config object');
  }
  const identity = identityOf(config.identity, fallbackName);
  const objects = config.pdp !== undefined || config.enforcer !== undefined;
  if (!objects && config.policy === undefined) {
    throw new ForgeError('FORGE_INVALID_INPUT', 'launchContainer needs a policy, a pdp or an enforcer', {
      details: { field: 'policy' },
    });
  }
  if (!objects && config.policy?.policy?.kind === 'allow-list')
    checkLaunchAllowList(config.policy.policy.allow);
  if (config.kind !== undefined && config.kind !== 'command' && config.kind !== 'service') {
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      `container kind must be command or service, not ${String(config.kind)}`,
      {
        details: { field: 'kind' },
      },
    );
  }
  if (config.isolation !== undefined && config.isolation !== 'inline' && config.isolation !== 'worker') {
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      `isolation must be inline or worker, not ${String(config.isolation)}`,
      {
        details: { field: 'isolation' },
      },
    );
  }
  if (
    config.inlineDeadline !== undefined &&
    config.inlineDeadline !== 'watchdog' &&
    config.inlineDeadline !== 'syscalls'
  ) {
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      `inlineDeadline must be watchdog or syscalls, not ${String(config.inlineDeadline)}`,
      {
        details: { field: 'inlineDeadline' },
      },
    );
  }
  // Objects cannot cross into a worker: asking for one with them is refused, not ignored.
  if (objects && config.isolation === 'worker') {
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      'a pdp or enforcer object runs its container inline: give a policy (spec) for worker isolation',
      { details: { field: 'isolation' } },
    );
  }
  const isolation: Isolation = objects ? 'inline' : (config.isolation ?? defaultIsolation);
  if (config.inlineDeadline !== undefined && isolation !== 'inline') {
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      'inlineDeadline applies to inline isolation only (a worker is stopped by terminating it)',
      {
        details: { field: 'inlineDeadline' },
      },
    );
  }
  return { identity, isolation, objects };
}

/** What decides between a command and a service, from the module's exports. */
export function containerKindOf(config: ContainerConfig, exportNames: readonly string[]): ContainerKind {
  const hasStart = exportNames.includes('_start');
  const reactor = exportNames.includes('_initialize') || !hasStart;
  if (config.kind === 'command' && !hasStart) {
    throw new ForgeError('FORGE_WASM_EXPORT_MISSING', 'a command container needs a _start export', {
      details: { export: '_start' },
    });
  }
  return config.kind ?? (reactor ? 'service' : 'command');
}

/** Checks `stop`'s deadline: a whole number of ms, 0 or more. */
export function checkDeadlineMs(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2_147_483_647) {
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      `stop deadlineMs must be a whole number of ms >= 0, not ${String(value)}`,
      {
        details: { field: 'deadlineMs' },
      },
    );
  }
  return value;
}

/** Allow-lists that passed the check, by their JSON: a kernel launches the same few again and again. */
const passedAllowLists = new Set<string>();
const MAX_PASSED_ALLOW_LISTS = 256;

/**
 * Checks a launch's allow-list against the syscalls a world offers (the built-in ones: a fixed
 * set), once per distinct list of strings; anything else is checked every time.
 */
function checkLaunchAllowList(allow: readonly string[] | undefined): void {
  const list = allow ?? [];
  const key =
    Array.isArray(list) && list.every((entry) => typeof entry === 'string')
      ? JSON.stringify(list)
      : undefined;
  if (key !== undefined && passedAllowLists.has(key)) return;
  checkAllowList(list, { knownSyscalls: worldSyscallNames() });
  if (key === undefined) return;
  if (passedAllowLists.size >= MAX_PASSED_ALLOW_LISTS) passedAllowLists.clear();
  passedAllowLists.add(key);
}
