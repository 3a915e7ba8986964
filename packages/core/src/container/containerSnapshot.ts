import { ForgeError } from '@forgeone/common';
import type { PublicKey } from '@forgeone/crypto';
import type { Isolation } from '@forgeone/execution';
import {
  decodeSnapshot,
  type DecodedSnapshot,
  type EncodeSnapshotOptions,
  type EncodedSnapshot,
} from '@forgeone/observer';
import type { ContainerKind } from './containerInfo';
import type { LiveContainer } from './liveContainer';

/** What a launch says about snapshots (ContainerConfig's fields). */
export interface ContainerSnapshotConfig {
  /**
   * Compile the module for snapshots (the kernel can then read and write its globals and memory:
   * 1–4% slower calls), so that `snapshot(id)` can capture the container between calls.
   * Inline isolation, services only.
   */
  readonly snapshots?: boolean;
  /**
   * Start the service from this `.fsnap` snapshot (`snapshot(id)`'s bytes, or a file of
   * `forgeone run --snapshot-out`) instead of initialising it: checked end to end first (same
   * module, intact, within the limits, signed by `snapshotKey` when given); `_initialize` does not
   * run again, the module's `forge_on_restore` export does. Implies `snapshots`.
   */
  readonly fromSnapshot?: Uint8Array;
  /** The kernel key `fromSnapshot` must be signed by. */
  readonly snapshotKey?: PublicKey;
}

const refuse = (field: string, message: string) =>
  new ForgeError('FORGE_INVALID_INPUT', message, { details: { field } });

/** Whether the launch compiles its module for snapshots; refuses what its isolation cannot honour. */
export function checkSnapshotConfig(config: ContainerSnapshotConfig, isolation: Isolation): boolean {
  const { snapshots, fromSnapshot, snapshotKey } = config;
  if (snapshots !== undefined && typeof snapshots !== 'boolean')
    throw refuse('snapshots', 'snapshots must be true or false');
  if (fromSnapshot !== undefined && !(fromSnapshot instanceof Uint8Array))
    throw refuse('fromSnapshot', "fromSnapshot must be a snapshot file's bytes (a Uint8Array)");
  if (snapshotKey !== undefined && fromSnapshot === undefined)
    throw refuse('snapshotKey', 'snapshotKey checks a fromSnapshot: give the snapshot too');
  const wanted = snapshots === true || fromSnapshot !== undefined;
  if (wanted && isolation !== 'inline')
    throw refuse(
      fromSnapshot === undefined ? 'snapshots' : 'fromSnapshot',
      "snapshots need inline isolation: a worker's instance cannot be captured or restored yet",
    );
  return wanted;
}

/** The launch's snapshot, decoded and checked against the limits before anything is instantiated. */
export function launchSnapshot(
  config: ContainerSnapshotConfig,
  kind: ContainerKind,
  module: { readonly sha256: string; readonly name: string },
  maxMemoryBytes: number,
): DecodedSnapshot | undefined {
  if (config.fromSnapshot === undefined) return undefined;
  if (kind !== 'service')
    throw refuse(
      'fromSnapshot',
      'only a service starts from a snapshot (a command runs its _start from the top)',
    );
  const snapshot = decodeSnapshot(config.fromSnapshot, {
    maxMemoryBytes,
    ...(config.snapshotKey && { key: config.snapshotKey }),
  });
  // Execution checks it again at the restore; here it is refused before a container is made.
  const of = snapshot.context.module;
  if (of.sha256 !== module.sha256)
    throw new ForgeError(
      'FORGE_SNAPSHOT_MISMATCH',
      `the snapshot is of module ${of.name} (SHA-256 ${of.sha256.slice(0, 16)}…), not of ${module.name} (${module.sha256.slice(0, 16)}…); nothing was restored`,
      { details: { expected: of.sha256, actual: module.sha256 } },
    );
  return snapshot;
}

/**
 * Captures a running service between two calls: taken in turn with its calls (after the one in
 * flight), so that it never sees the guest mid-call.
 */
export function captureContainer(c: LiveContainer, options: EncodeSnapshotOptions): Promise<EncodedSnapshot> {
  const state = c.info.state;
  if (c.info.kind !== 'service' || c.info.isolation !== 'inline' || state !== 'running') {
    return Promise.reject(
      new ForgeError(
        'FORGE_SNAPSHOT_STATE',
        c.info.kind !== 'service'
          ? `container ${c.info.id} is a command: only a service is captured between calls`
          : c.info.isolation !== 'inline'
            ? `container ${c.info.id} runs in a worker: snapshots need inline isolation`
            : `container ${c.info.id} is ${state}: only a running service is captured`,
        { details: { containerId: c.info.id, state } },
      ),
    );
  }
  return c.enqueue(async () => {
    const instance = c.instance;
    if (instance === undefined || c.info.state !== 'running')
      throw new ForgeError(
        'FORGE_SNAPSHOT_STATE',
        `container ${c.info.id} ended before it could be captured`,
        {
          details: { containerId: c.info.id, state: c.info.state },
        },
      );
    return instance.captureSnapshot(options);
  });
}
